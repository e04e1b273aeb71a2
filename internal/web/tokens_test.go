package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// api is a client holding only a bearer token: no cookies.
func (e *testEnv) api(token, method, path string, body string) (*http.Response, string) {
	req, _ := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

func createToken(t *testing.T, admin *client, name string, days string, scopes ...string) string {
	t.Helper()
	form := url.Values{"name": {name}, "expires_days": {days}, "scope": scopes}
	resp, body := admin.postForm("/admin/tokens", form)
	m := regexp.MustCompile(`<code class="secret">(smt_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("create token %s: %d", name, resp.StatusCode)
	}
	return m[1]
}

func TestServiceTokens(t *testing.T) {
	e := newEnv(t, map[string]string{"TOKEN_RATE_LIMIT": "8"})
	admin := mustLogin(t, e, "alice")
	rms := createToken(t, admin, "rms-prod", "90", "search", "references:read")
	auditor := createToken(t, admin, "auditor", "1", "audit:read")

	// The secret is shown once: the list page does not carry it.
	if _, body := admin.get("/admin/tokens"); strings.Contains(body, rms) || !strings.Contains(body, "rms-prod") {
		t.Fatal("the token list shows the secret, or not the token")
	}
	// Scopes.
	if resp, _ := e.api(rms, "GET", "/api/v1/references", ""); resp.StatusCode != 200 {
		t.Fatalf("references:read: %d", resp.StatusCode)
	}
	for _, c := range []struct{ tok, method, path string }{
		{rms, "DELETE", "/api/v1/references/1"},
		{rms, "GET", "/api/v1/audit"},
		{auditor, "GET", "/api/v1/references"},
		{rms, "POST", "/api/v1/searches/1/hold"},
	} {
		resp, body := e.api(c.tok, c.method, c.path, "")
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" || !(strings.Contains(body, "lacks the scope") || strings.Contains(body, "not open to API tokens")) {
			t.Errorf("%s %s without the scope: %d %s", c.method, c.path, resp.StatusCode, body)
		}
	}
	if resp, body := e.api(auditor, "GET", "/api/v1/audit?limit=2", ""); resp.StatusCode != 200 || !strings.Contains(body, `"next_cursor"`) {
		t.Fatalf("audit:read: %d %s", resp.StatusCode, body)
	}
	// Pages never accept a bearer; cookie and bearer together are refused.
	if resp, _ := e.api(rms, "GET", "/", ""); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bearer on a page: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/searches/1", nil)
	req.Header.Set("Authorization", "Bearer "+rms)
	if resp, body := admin.do(req); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not both") {
		t.Fatalf("cookie and bearer: %d %s", resp.StatusCode, body)
	}
	// Bad tokens: 401 problem with a WWW-Authenticate challenge.
	for _, tok := range []string{"smt_nope", "nonsense", rms + "x"} {
		resp, _ := e.api(tok, "GET", "/api/v1/references", "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("token %q: %d", tok, resp.StatusCode)
		}
	}
	// Rate limit per token (8 a minute here; some were used above).
	limited := false
	for i := 0; i < 10; i++ {
		if resp, _ := e.api(rms, "GET", "/api/v1/references", ""); resp.StatusCode == http.StatusTooManyRequests {
			limited = resp.Header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Fatal("no 429 past the token rate limit")
	}
	// Expiry: the auditor token had one day.
	*e.clock = e.clock.Add(25 * time.Hour)
	if resp, _ := e.api(auditor, "GET", "/api/v1/audit", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
	// Revoke: refused on the very next request.
	admin = mustLogin(t, e, "alice") // a day later: a new session
	fresh := createToken(t, admin, "case-system", "0", "search")
	if resp, _ := e.api(fresh, "GET", "/api/v1/searches/999", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("live token on a missing search: %d", resp.StatusCode)
	}
	if resp, _ := admin.postForm("/admin/tokens/case-system/revoke", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := e.api(fresh, "GET", "/api/v1/searches/999", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", resp.StatusCode)
	}
	// Names stay taken; officers cannot manage tokens.
	if resp, _ := admin.postForm("/admin/tokens", url.Values{"name": {"case-system"}, "scope": {"search"}, "expires_days": {"1"}}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("reused name: %d", resp.StatusCode)
	}
	officer := mustLogin(t, e, "bob")
	if resp, _ := officer.get("/admin/tokens"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("officer on the tokens page: %d", resp.StatusCode)
	}
	// A token cannot sign in through the login form.
	if resp := e.client().login("token:rms-prod", "!"); resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/" {
		t.Fatal("a token's user signed in")
	}
	acts := strings.Join(auditActions(t, e.db), ",")
	for _, want := range []string{"token_create:success", "token_use:success", "token_use:denied", "token_revoke:success"} {
		if !strings.Contains(acts, want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

// Lists page with limit and an opaque cursor: every reference once, in
// order, and a foreign cursor is refused.
func TestReferencesCursorPages(t *testing.T) {
	e := newEnv(t, nil)
	admin := mustLogin(t, e, "alice")
	for i := 0; i < 5; i++ {
		files := map[string][]byte{"p.png": testenvPNG(t, i)}
		if resp, body := admin.postMultipart("/api/v1/references", nil, "photos", files); resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
	}
	var seen []int64
	cursor := ""
	for page := 0; page < 10; page++ {
		path := "/api/v1/references?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		resp, body := admin.get(path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var p struct {
			References []struct{ ID int64 }
			Total      int
			NextCursor string `json:"next_cursor"`
		}
		json.Unmarshal([]byte(body), &p)
		if p.Total != 5 {
			t.Fatalf("total %d", p.Total)
		}
		for _, r := range p.References {
			seen = append(seen, r.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if fmt.Sprint(seen) != "[5 4 3 2 1]" {
		t.Fatalf("pages gave %v", seen)
	}
	for _, bad := range []string{"cursor=abc", "cursor=MTIz", "limit=0", "limit=x"} {
		if resp, _ := admin.get("/api/v1/references?" + bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
}

func testenvPNG(t *testing.T, i int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40+i, 50))
	for y := 0; y < 50; y++ {
		for x := 0; x < 40+i; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 5), uint8(i * 40), 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// An outside program holding only a token: uploads references, searches,
// fetches the case report; every answer fits the contract (specValidator).
func TestTokenOnlyIntegration(t *testing.T) {
	enc := testenv.Encoder(t)
	pairs := testenv.DevPairs(t)[:4]
	e := newEnvWith(t, nil, enc)
	admin := mustLogin(t, e, "alice")
	tok := createToken(t, admin, "rms-prod", "90", "search", "references:write")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i, p := range pairs {
		data, _ := os.ReadFile(p.Photo)
		fw, _ := mw.CreateFormFile("photos", fmt.Sprintf("%d.jpg", i))
		fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/references", &body)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload with a token: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	body.Reset()
	mw = multipart.NewWriter(&body)
	sk, _ := os.ReadFile(pairs[1].Sketch)
	fw, _ := mw.CreateFormFile("sketch", "s.jpg")
	fw.Write(sk)
	mw.WriteField("case_number", "2026-CR-00123")
	mw.Close()
	req, _ = http.NewRequest("POST", e.ts.URL+"/api/v1/search", &body)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("search with a token: %v %v", err, resp.Status)
	}
	var out apiSearchJSON
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if len(out.Candidates) != 4 {
		t.Fatalf("%d candidates", len(out.Candidates))
	}
	resp2, pdf := e.api(tok, "GET", fmt.Sprintf("/api/v1/searches/%d/report.pdf", out.SearchID), "")
	if resp2.StatusCode != 200 || !strings.HasPrefix(pdf, "%PDF-") {
		t.Fatalf("report with a token: %d", resp2.StatusCode)
	}
	// The search is the token's: in history under its name, not visible to an officer.
	_, hist := admin.get("/searches")
	if !strings.Contains(hist, "token:rms-prod") {
		t.Fatal("the token's search is not in history under its name")
	}
	if resp, _ := mustLogin(t, e, "bob").get(fmt.Sprintf("/searches/%d", out.SearchID)); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an officer opened the token's search: %d", resp.StatusCode)
	}
}

// A web upload can label each photo with its file name.
func TestUploadLabelFromFileName(t *testing.T) {
	e := newEnv(t, nil)
	admin := mustLogin(t, e, "alice")
	files := map[string][]byte{"record-0412.png": testenvPNG(t, 1), "record-0413.png": testenvPNG(t, 2)}
	resp, _ := admin.postMultipart("/references", map[string]string{"label_from_filename": "1", "label": "ignored"}, "photos", files)
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	_, body := admin.get("/api/v1/references")
	for _, want := range []string{`"label": "record-0412"`, `"label": "record-0413"`} {
		if !strings.Contains(body, want) {
			t.Errorf("references lack %s", want)
		}
	}
}
