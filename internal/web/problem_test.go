package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Every error under /api/ is application/problem+json, whatever produced
// it: bad ids, missing records, the router, role checks, body limits.
func TestAPIErrorsAreProblems(t *testing.T) {
	e := newEnv(t, map[string]string{"MAX_UPLOAD_SIZE": "64K"})
	anon := e.client()
	admin := mustLogin(t, e, "alice")
	officer := mustLogin(t, e, "bob")
	big := "--x\r\nContent-Disposition: form-data; name=\"sketch\"; filename=\"a.jpg\"\r\n\r\n" + strings.Repeat("x", 200<<10) + "\r\n--x--\r\n"
	for _, c := range []struct {
		name   string
		c      *client
		method string
		path   string
		body   string
		status int
		code   string
	}{
		{"NotSignedIn", anon, "GET", "/api/v1/references", "", 401, "unauthorized"},
		{"BadID", admin, "GET", "/api/v1/searches/abc", "", 404, "not_found"},
		{"MissingSearch", admin, "GET", "/api/v1/searches/999", "", 404, "not_found"},
		{"MissingReport", admin, "GET", "/api/v1/searches/999/report.pdf", "", 404, "not_found"},
		{"BadDeleteID", admin, "DELETE", "/api/v1/references/xyz", "", 404, "not_found"},
		{"MissingDelete", admin, "DELETE", "/api/v1/references/12345", "", 404, "not_found"},
		{"UnknownRoute", admin, "GET", "/api/v1/nothing-here", "", 404, "not_found"},
		{"WrongMethod", admin, "PATCH", "/api/v1/search", "", 405, "method_not_allowed"},
		{"OfficerOnAdminRoute", officer, "GET", "/api/v1/references", "", 403, "forbidden"},
		{"NotMultipart", officer, "POST", "/api/v1/search", "k=3", 400, "invalid"},
		{"TooLarge", officer, "POST", "/api/v1/search", big, 413, "too_large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.ts.URL+c.path, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
				if c.name == "NotMultipart" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
			}
			resp, body := c.c.do(req)
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s: %d, want %d: %s", c.method, c.path, resp.StatusCode, c.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q: %s", ct, body)
			}
			var p struct {
				Type, Title, Detail, Code string
				Status                    int
				RequestID                 string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("not JSON: %v: %s", err, body)
			}
			if p.Status != c.status || p.Code != c.code || p.Type != ProblemType(c.code) || p.Title == "" || p.Detail == "" || p.RequestID == "" {
				t.Fatalf("problem %+v", p)
			}
		})
	}
}

// A too-large sketch through the browser form: the form again with the
// message beside it, and the page states the limit up front.
func TestSearchFormTooLarge(t *testing.T) {
	e := newEnv(t, map[string]string{"MAX_UPLOAD_SIZE": "64K"})
	officer := mustLogin(t, e, "bob")
	_, body := officer.get("/")
	if !strings.Contains(body, "at most 64.0 KiB") && !strings.Contains(body, `data-max-bytes="65536"`) {
		t.Fatal("the search form does not state the upload limit")
	}
	big := map[string][]byte{"s.jpg": []byte(strings.Repeat("x", 200<<10))}
	resp, body := officer.postMultipart("/search", map[string]string{"case_number": "C-1"}, "sketch", big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, `action="/search"`) || !strings.Contains(body, "larger than the") {
		t.Fatalf("413: %d, form and message on the page: %v", resp.StatusCode, strings.Contains(body, `action="/search"`))
	}
	// The 404 page keeps the navigation of a signed-in user.
	_, body = officer.get("/no-such-page")
	if !strings.Contains(body, `href="/searches"`) {
		t.Fatal("the 404 page lost the navigation")
	}
}
