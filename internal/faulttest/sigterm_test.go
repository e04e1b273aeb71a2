package faulttest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMDuringLoad sends SIGTERM to a server busy with a burst of
// searches and page views. Every request the server had started must end
// with a complete response (200/303, or a clean 503 with Retry-After for
// back-pressure), the process must exit 0 within 10 s, and after a restart
// every search recorded before is still there, old sessions still work and
// the audit trail verifies.
func TestSIGTERMDuringLoad(t *testing.T) {
	photoDir, _, sketchPaths := DevSet(t, 8)
	e := NewEnv(t)
	// One inference worker and a short queue: searches queue up and some are
	// refused with 503, so SIGTERM lands on queued and running work.
	e.Vars["INFERENCE_QUEUE"] = "3"
	e.Vars["SHUTDOWN_TIMEOUT"] = "8s"
	e.MustRun(t, "", "import", photoDir)
	e.AddUser(t, "officer1", "officer")
	var sketches [][]byte
	for _, p := range sketchPaths {
		sketches = append(sketches, ReadFile(t, p))
	}

	srv := e.Start(t)
	c := NewClient()
	rec := &idRecorder{base: c.Transport, ids: map[string]bool{}}
	c.Transport = rec
	Login(t, c, srv.URL, "officer1")
	var before []int64
	for _, sk := range sketches[:2] {
		before = append(before, MustSearch(t, c, srv.URL, sk, 5).SearchID)
	}

	b := startBurst(c, srv.URL, sketches, 6, 3, 300)
	// Let the load build until searches are queued (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, o := range b.Outcomes() {
			if o.Kind == "search" && o.Status == http.StatusOK {
				n++
			}
		}
		if n >= 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)

	// Workers stop issuing new requests, then the signal: everything sent
	// so far is either in the server's hands or refused at the door.
	close(b.stop)
	sigAt := time.Now()
	if err := srv.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, ok := srv.Wait(10 * time.Second)
	exitAfter := time.Since(sigAt)
	if !ok {
		t.Fatalf("the server was still running 10s after SIGTERM")
	}
	t.Logf("exited with code %d %s after SIGTERM", code, exitAfter.Round(time.Millisecond))
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	outs := b.Stop(t)
	t.Logf("burst: %s", summary(outs))

	// What the client received.
	var okSearches []int64
	afterSignal, refused := 0, 0
	for _, o := range outs {
		if o.Err != nil {
			if o.RequestID != "" {
				t.Errorf("%s %s: the response was cut after its headers (status %d): %v", o.Kind, o.Path, o.Status, o.Err)
				continue
			}
			// No response at all. Acceptable only for a request the server
			// never started (checked against its log below).
			refused++
			continue
		}
		if o.End.After(sigAt) {
			afterSignal++
		}
		switch {
		case o.Status == http.StatusOK || o.Status == http.StatusSeeOther:
		case o.Status == http.StatusServiceUnavailable:
			if o.RetryAfter == "" {
				t.Errorf("%s %s: 503 without Retry-After", o.Kind, o.Path)
			}
			if o.Kind == "search" && !strings.Contains(o.Body, `"code": "unavailable"`) {
				t.Errorf("search 503 without a problem+json body: %q", o.Body)
			}
		default:
			t.Errorf("%s %s: status %d (want 200/303 or a clean 503)\n%s", o.Kind, o.Path, o.Status, tail(o.Body, 1000))
		}
		if o.Kind == "search" && o.Status == http.StatusOK {
			var r APISearchResult
			if err := json.Unmarshal([]byte(o.Body), &r); err != nil || r.SearchID == 0 {
				t.Errorf("search 200 with a body that is not a result: %v %q", err, tail(o.Body, 300))
				continue
			}
			okSearches = append(okSearches, r.SearchID)
		}
	}
	t.Logf("%d responses completed after the signal; %d requests got no response", afterSignal, refused)
	if afterSignal == 0 {
		t.Errorf("no request was in flight at SIGTERM: the test did not exercise the graceful shutdown")
	}

	// Every request the server logged must have reached the client whole:
	// a logged request whose response the client never saw was cut off.
	served := 0
	for _, l := range e.LogLines("request") {
		if p, _ := l["path"].(string); p == "/healthz" {
			continue
		}
		id, _ := l["request_id"].(string)
		served++
		if !rec.seen(id) {
			t.Errorf("the server handled request %s %v %v (status %v) but the client got no response", id, l["method"], l["path"], l["status"])
		}
	}
	t.Logf("server logged %d requests", served)

	// Nothing lost: every search answered 200 is recorded, and nothing else.
	db := e.OpenDB(t)
	want := len(before) + len(okSearches)
	if n := Count(t, db, `SELECT COUNT(*) FROM searches`); n != want {
		t.Errorf("%d searches recorded, want %d (2 before the load + %d answered 200)", n, want, len(okSearches))
	}

	// Restart: the old session still works, history is intact, search works.
	srv2 := e.Start(t)
	if st, body, err := Get(c, srv2.URL, "/readyz"); err != nil || st != http.StatusOK {
		t.Fatalf("/readyz after restart: %d %v %s", st, err, body)
	}
	for _, id := range append(before, okSearches...) {
		path := "/searches/" + strconv.FormatInt(id, 10)
		if st, _, err := Get(c, srv2.URL, path); err != nil || st != http.StatusOK {
			t.Errorf("GET %s after restart: %d %v, want 200 (the session and the search must survive)", path, st, err)
		}
	}
	MustSearch(t, c, srv2.URL, sketches[0], 5)
	if out, code := e.Run(t, "", "audit", "verify"); code != 0 {
		t.Errorf("audit verify after restart: exit %d\n%s", code, out)
	}
	e.CheckNoPanic(t, srv, srv2)
}

// idRecorder remembers the X-Request-Id of every response the client
// received, to compare with the requests the server logged.
type idRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	ids  map[string]bool
}

func (r *idRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.ids[resp.Header.Get("X-Request-Id")] = true
		r.mu.Unlock()
	}
	return resp, err
}

func (r *idRecorder) seen(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}
