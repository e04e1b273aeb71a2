package web

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// Finding 1 of issue 12: the raw method became a Prometheus label and was
// logged whole, so made-up methods grew memory without bound and rotated the
// log away. Every label and logged field from the request must be bounded.
func TestRequestFieldsBounded(t *testing.T) {
	long := strings.Repeat("X", 60<<10)
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
	}{
		{"LongMethod", "A" + long, "/login", nil},
		{"ManyMethods", "", "/login", nil}, // a distinct made-up method per request
		{"LongPath", http.MethodGet, "/" + long[:30<<10], nil},
		{"LongOriginRejected", http.MethodPost, "/login", map[string]string{"Origin": "http://" + long[:30<<10], "Sec-Fetch-Site": "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			for i := range 50 {
				m := tc.method
				if m == "" {
					m = "M" + strings.Repeat("Y", i+1)
				}
				req, err := http.NewRequest(m, e.ts.URL+tc.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tc.header {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			resp, body := e.client().get("/metrics")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/metrics: %d", resp.StatusCode)
			}
			var series []string
			for line := range strings.SplitSeq(body, "\n") {
				if strings.HasPrefix(line, "sketchmatch_http_requests_total{") {
					series = append(series, line)
				}
				if len(line) > 512 {
					t.Fatalf("metrics line of %d bytes: %.200s…", len(line), line)
				}
			}
			// /metrics itself adds one series; the flood at most two (OTHER
			// or the method, and one route).
			if len(series) > 3 {
				t.Fatalf("%d request series after the flood:\n%s", len(series), strings.Join(series, "\n"))
			}
			if tc.method != http.MethodGet && tc.method != http.MethodPost && !strings.Contains(body, `method="OTHER"`) {
				t.Fatalf("made-up methods not labelled OTHER:\n%s", strings.Join(series, "\n"))
			}
			sc := bufio.NewScanner(strings.NewReader(e.log.String()))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				if n := len(sc.Bytes()); n > 2048 {
					t.Fatalf("log line of %d bytes: %.300s…", n, sc.Text())
				}
			}
		})
	}
}

// Finding 4 of issue 12 (second half): the per-IP login limit keyed IPv6
// clients on the full /128, so one /64 had 2^64 allowances.
func TestLoginRateLimitKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addrs []string // X-Forwarded-For of successive attempts
		want  int      // status of the last attempt
	}{
		{"SameIPv4", []string{"203.0.113.5", "203.0.113.5", "203.0.113.5"}, http.StatusTooManyRequests},
		{"NeighbourIPv4Separate", []string{"203.0.113.5", "203.0.113.5", "203.0.113.6"}, http.StatusUnauthorized},
		{"SameIPv6Slash64", []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"}, http.StatusTooManyRequests},
		{"OtherIPv6Slash64Separate", []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:3::1"}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "2", "TRUSTED_PROXIES": "127.0.0.1/32,::1/128"})
			var last int
			for _, a := range tc.addrs {
				req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/login", strings.NewReader("username=carol&password=wrong+password"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", a)
				resp, _ := e.client().do(req)
				last = resp.StatusCode
			}
			if last != tc.want {
				t.Fatalf("last attempt: %d, want %d", last, tc.want)
			}
		})
	}
}
