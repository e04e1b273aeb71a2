package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Finding 10 of issue 12: /readyz is public through nginx and its failure
// detail named file-system paths. The public answer is the status only.
func TestReadyzDetailLocalOnly(t *testing.T) {
	e := newEnv(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32"})
	for _, tc := range []struct {
		name       string
		header     map[string]string
		wantDetail bool
	}{
		{"LoopbackDirect", nil, true},
		{"ThroughProxy", map[string]string{"X-Forwarded-For": "203.0.113.9"}, false},
		{"ThroughProxyXRealIP", map[string]string{"X-Real-IP": "203.0.113.9"}, false},
		{"LoopbackClaimedThroughProxy", map[string]string{"X-Forwarded-For": "127.0.0.1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/readyz", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, body := e.client().do(req)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var out map[string]string
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatal(err)
			}
			if out["status"] != "unavailable" {
				t.Fatalf("body %s", body)
			}
			if got := len(out) > 1; got != tc.wantDetail {
				t.Fatalf("detail shown=%v, want %v: %s", got, tc.wantDetail, body)
			}
		})
	}
	if !strings.Contains(e.log.String(), "test server without a model") {
		t.Fatal("the failure detail is not in the log")
	}
}
