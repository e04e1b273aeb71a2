package cli

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	setup(t)
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	t.Setenv("PORT", port)
	t.Setenv("HOST", "0.0.0.0") // what the image sets: the probe goes to loopback

	if code, out, errs := run(t, "", "healthcheck"); code != 0 || out != "" || errs != "" {
		t.Fatalf("ready: exit %d, output %q %q (want 0 and silence)", code, out, errs)
	}
	status.Store(http.StatusServiceUnavailable)
	if code, _, _ := run(t, "", "healthcheck"); code != 1 {
		t.Fatalf("not ready: exit %d, want 1", code)
	}
	srv.Close()
	if code, _, errs := run(t, "", "healthcheck", "-v"); code != 1 || errs == "" {
		t.Fatalf("nothing listening: exit %d %q, want 1 and a reason with -v", code, errs)
	}
	t.Setenv("PORT", strconv.Itoa(70000))
	if code, _, _ := run(t, "", "healthcheck"); code != 1 {
		t.Fatalf("bad PORT: exit %d, want 1 (configuration error)", code)
	}
}
