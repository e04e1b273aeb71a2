package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/config"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/store"
	"github.com/sketchmatch/sketchmatch/internal/store/storetest"
)

func TestMain(m *testing.M) {
	auth.HashParams = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	os.Exit(m.Run())
}

const testPassword = "correct horse battery staple"

// testProductionKey is a random SECRET_KEY (openssl rand -hex 32) for
// production-mode test servers; weak keys are refused there.
const testProductionKey = "9c4e1a7f3b8d2e6a0f5c9b3d7e1a4f8c2b6d0e9a3f7c1b5d8e2a6f0c4b9d3e7a"

// env is a server over a fresh database, without a model.
type testEnv struct {
	t     testing.TB
	cfg   *config.Config
	db    *store.DB
	srv   *Server
	ts    *httptest.Server
	clock *time.Time
	log   *bytes.Buffer
	gal   *gallery.Service
}

func newEnv(t *testing.T, vars map[string]string) *testEnv {
	t.Helper()
	return newEnvWith(t, vars, nil)
}

// newEnvWith is newEnv with a real encoder (nil: no model).
func newEnvWith(t testing.TB, vars map[string]string, enc gallery.Encoder) *testEnv {
	t.Helper()
	env := map[string]string{"LOG_LEVEL": "debug"}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := config.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	cfg.ReferenceFolder = filepath.Join(t.TempDir(), "refs")
	db := storetest.MustOpenDB(t)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := &now
	db.Now = func() time.Time { return *clock }
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	al := &audit.Log{DB: db}
	as := &auth.Service{DB: db, Audit: al, Now: func() time.Time { return *clock }, IdleTimeout: cfg.SessionIdleTimeout,
		MaxLifetime: cfg.SessionMaxLifetime, MaxFailures: cfg.LoginMaxFailures, Lockout: cfg.LoginLockout, Logger: logger}
	gopts := gallery.Options{DB: db, Files: &gallery.Files{Root: cfg.ReferenceFolder}, Audit: al, Logger: logger,
		Encoder: enc, HOGWeight: cfg.HOGWeight, RerankN: cfg.RerankN, MaxK: cfg.SearchMaxK,
		Limits: imagefile.Limits{MaxBytes: cfg.MaxUploadSize, MaxPixels: 40_000_000, MaxSide: 10_000}}
	if enc == nil {
		gopts.EncoderErr = errors.New("test server without a model")
	}
	gal, err := gallery.New(context.Background(), gopts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Deps{Config: cfg, Logger: logger, DB: db, Auth: as, Audit: al, Gallery: gal})
	if err != nil {
		t.Fatal(err)
	}
	srv.now = func() time.Time { return *clock }
	// Every API request and answer of every test is checked against the
	// OpenAPI document (apispec_test.go).
	ts := httptest.NewServer(specValidator(t, srv.Handler()))
	t.Cleanup(ts.Close)
	e := &testEnv{t: t, cfg: cfg, db: db, srv: srv, ts: ts, clock: clock, log: &logBuf, gal: gal}
	for _, u := range []struct{ name, role string }{{"alice", auth.RoleAdmin}, {"bob", auth.RoleOfficer}, {"carol", auth.RoleOfficer}} {
		if _, err := as.CreateUser(context.Background(), auth.Actor{Username: "test"}, u.name, testPassword, u.role); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// client is a browser-like client: cookie jar, no redirect following,
// same-origin headers on POST.
type client struct {
	e   *testEnv
	hc  *http.Client
	jar *cookiejar.Jar
}

func (e *testEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, jar: jar, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.e.t.Helper()
	if req.Method == http.MethodPost && req.Header.Get("Sec-Fetch-Site") == "" && req.Header.Get("Origin") == "" {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (c *client) get(path string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, c.e.ts.URL+path, nil)
	return c.do(req)
}

func (c *client) postForm(path string, form url.Values) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodPost, c.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *client) login(user, pw string) *http.Response {
	resp, _ := c.postForm("/login", url.Values{"username": {user}, "password": {pw}})
	return resp
}

func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.e.ts.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "sketchmatch_session" {
			return ck.Value
		}
	}
	return ""
}

func mustLogin(t *testing.T, e *testEnv, user string) *client {
	t.Helper()
	c := e.client()
	if resp := c.login(user, testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: status %d", user, resp.StatusCode)
	}
	return c
}

func auditActions(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	db.EachAudit(context.Background(), func(r *domain.AuditRow) error {
		out = append(out, r.Action+":"+r.Outcome)
		return nil
	})
	return out
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	cssURL, _ := e.srv.static.url("app.css")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
	}
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"HTMLPage", "/login", 200},
		{"StaticFile", cssURL, 200},
		{"ErrorPage", "/no-such-page", 404},
		{"Redirect", "/", 303},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := c.get(tc.path)
			if got, want := resp.StatusCode, tc.status; got != want {
				t.Fatalf("status=%d, want %d", got, want)
			}
			for h, v := range want {
				if got := resp.Header.Get(h); got != v {
					t.Errorf("%s=%q, want %q", h, got, v)
				}
			}
			if resp.Header.Get("Permissions-Policy") == "" {
				t.Error("no Permissions-Policy")
			}
			if resp.Header.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS set in development")
			}
		})
	}
	t.Run("HSTSInProduction", func(t *testing.T) {
		p := newEnv(t, map[string]string{"APP_ENV": "production", "SECRET_KEY": testProductionKey})
		resp, _ := p.client().get("/login")
		if got, want := resp.Header.Get("Strict-Transport-Security"), "max-age=31536000; includeSubDomains"; got != want {
			t.Fatalf("HSTS=%q, want %q", got, want)
		}
	})
	t.Run("StaticCachedByHash", func(t *testing.T) {
		resp, _ := c.get(cssURL)
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Fatalf("Cache-Control=%q", cc)
		}
		if resp.Header.Get("ETag") == "" {
			t.Fatal("no ETag")
		}
	})
	t.Run("NoInlineScriptOrStyle", func(t *testing.T) {
		_, body := c.get("/login")
		if regexp.MustCompile(`<script>|<style|style="|onclick=`).MatchString(body) {
			t.Fatal("inline script or style in page")
		}
	})
}

func TestLogin(t *testing.T) {
	t.Run("SuccessRotatesSession", func(t *testing.T) {
		e := newEnv(t, nil)
		c := mustLogin(t, e, "alice")
		first := c.sessionCookie()
		if resp := c.login("alice", testPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatal("second login failed")
		}
		if second := c.sessionCookie(); second == "" || second == first {
			t.Fatal("session cookie not rotated on login")
		}
		resp, body := c.get("/")
		if resp.StatusCode != 200 || !strings.Contains(body, "alice") {
			t.Fatalf("home after login: %d", resp.StatusCode)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Fatalf("Cache-Control on an authenticated page=%q", got)
		}
	})
	t.Run("UnknownUserAndWrongPasswordLookAlike", func(t *testing.T) {
		e := newEnv(t, nil)
		r1, b1 := e.client().postForm("/login", url.Values{"username": {"nobody"}, "password": {"whatever password"}})
		r2, b2 := e.client().postForm("/login", url.Values{"username": {"alice"}, "password": {"whatever password"}})
		if r1.StatusCode != r2.StatusCode || r1.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d vs %d", r1.StatusCode, r2.StatusCode)
		}
		strip := regexp.MustCompile(`(?s)<footer.*</footer>|value="[^"]*"`)
		if strip.ReplaceAllString(b1, "") != strip.ReplaceAllString(b2, "") {
			t.Fatal("unknown user and wrong password pages differ")
		}
	})
	t.Run("FiveFailuresLock", func(t *testing.T) {
		e := newEnv(t, nil)
		for i := 0; i < 5; i++ {
			e.client().login("bob", "wrong password "+string(rune('a'+i)))
		}
		if resp := e.client().login("bob", testPassword); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("locked account accepted the right password: %d", resp.StatusCode)
		}
		*e.clock = e.clock.Add(16 * time.Minute)
		if resp := e.client().login("bob", testPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login after the lockout: %d", resp.StatusCode)
		}
		acts := strings.Join(auditActions(t, e.db), ",")
		if !strings.Contains(acts, "lockout:") {
			t.Fatalf("no lockout audit row: %s", acts)
		}
	})
	t.Run("RateLimitPerIP", func(t *testing.T) {
		e := newEnv(t, nil)
		c := e.client()
		var last int
		for i := 0; i < 11; i++ {
			resp := c.login("carol", "wrong password")
			last = resp.StatusCode
			if i < 10 && last == http.StatusTooManyRequests {
				t.Fatalf("attempt %d rate limited", i+1)
			}
		}
		if last != http.StatusTooManyRequests {
			t.Fatalf("11th attempt: %d, want 429", last)
		}
	})
	t.Run("LogoutKillsOldCookie", func(t *testing.T) {
		e := newEnv(t, nil)
		c := mustLogin(t, e, "bob")
		old := c.sessionCookie()
		if resp, _ := c.postForm("/logout", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		replay := e.client()
		u, _ := url.Parse(e.ts.URL)
		replay.jar.SetCookies(u, []*http.Cookie{{Name: "sketchmatch_session", Value: old, Path: "/"}})
		resp, _ := replay.get("/")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Fatalf("replayed cookie after logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("DisabledUserSessionEnds", func(t *testing.T) {
		e := newEnv(t, nil)
		officer := mustLogin(t, e, "bob")
		admin := mustLogin(t, e, "alice")
		bob, _ := e.srv.auth.GetUserByUsername(context.Background(), "bob")
		if resp, _ := admin.postForm("/admin/users/"+itoa(bob.ID)+"/disable", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable: %d", resp.StatusCode)
		}
		if resp, _ := officer.get("/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("disabled user's session still works: %d", resp.StatusCode)
		}
	})
	t.Run("IdleExpiry", func(t *testing.T) {
		e := newEnv(t, nil)
		c := mustLogin(t, e, "bob")
		*e.clock = e.clock.Add(29 * time.Minute)
		if resp, _ := c.get("/"); resp.StatusCode != 200 {
			t.Fatalf("session expired early: %d", resp.StatusCode)
		}
		*e.clock = e.clock.Add(31 * time.Minute)
		if resp, _ := c.get("/"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("idle session still valid: %d", resp.StatusCode)
		}
	})
	t.Run("ProductionCookie", func(t *testing.T) {
		e := newEnv(t, map[string]string{"APP_ENV": "production", "SECRET_KEY": testProductionKey})
		resp := e.client().login("alice", testPassword)
		sc := resp.Header.Get("Set-Cookie")
		for _, want := range []string{"__Host-sketchmatch=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(sc, want) {
				t.Errorf("Set-Cookie %q lacks %q", sc, want)
			}
		}
	})
	t.Run("AuditRows", func(t *testing.T) {
		e := newEnv(t, nil)
		c := mustLogin(t, e, "alice")
		e.client().login("alice", "bad password!!")
		c.postForm("/logout", nil)
		acts := strings.Join(auditActions(t, e.db), ",")
		for _, want := range []string{"user_create:success", "login:success", "login_failed:", "logout:success"} {
			if !strings.Contains(acts, want) {
				t.Errorf("audit lacks %s: %s", want, acts)
			}
		}
		if strings.Contains(e.log.String(), testPassword) || strings.Contains(e.log.String(), "bad password!!") {
			t.Fatal("a password reached the log")
		}
	})
}

func itoa(n int64) string { return strconvFormat(n) }

func TestRoles(t *testing.T) {
	e := newEnv(t, nil)
	officer := mustLogin(t, e, "bob")
	anon := e.client()
	admin := mustLogin(t, e, "alice")
	for _, path := range []string{"/admin/users", "/admin/audit", "/references", "/api/v1/references"} {
		t.Run("OfficerForbidden"+path, func(t *testing.T) {
			if resp, _ := officer.get(path); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("GET %s as officer: %d, want 403", path, resp.StatusCode)
			}
		})
		t.Run("AdminAllowed"+path, func(t *testing.T) {
			if resp, _ := admin.get(path); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s as admin: %d", path, resp.StatusCode)
			}
		})
	}
	for _, path := range []string{"/admin/users", "/admin/users/1/disable", "/admin/users/1/enable", "/admin/users/1/password", "/references", "/references/1/delete"} {
		t.Run("OfficerPostForbidden"+path, func(t *testing.T) {
			if resp, _ := officer.postForm(path, url.Values{"username": {"x"}}); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("POST %s as officer: %d, want 403", path, resp.StatusCode)
			}
		})
	}
	for _, path := range []string{"/", "/searches", "/admin/users", "/admin/audit", "/references", "/references/1/image", "/references/1/thumb", "/searches/1"} {
		t.Run("AnonymousRedirect"+path, func(t *testing.T) {
			resp, _ := anon.get(path)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
				t.Fatalf("GET %s anonymous: %d %q", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("APIAnonymous401", func(t *testing.T) {
		if resp, _ := anon.get("/api/v1/references"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}

func TestCrossOrigin(t *testing.T) {
	e := newEnv(t, nil)
	c := mustLogin(t, e, "alice")
	form := url.Values{"username": {"dave.officer"}, "role": {"officer"}, "password": {testPassword}, "password_confirm": {testPassword}}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"SecFetchCrossSite", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"ForeignOrigin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"SameOrigin", map[string]string{"Origin": e.ts.URL}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/admin/users", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, _ := c.do(req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

func TestAdminUsers(t *testing.T) {
	e := newEnv(t, nil)
	admin := mustLogin(t, e, "alice")
	t.Run("CreateOfficerThenLogin", func(t *testing.T) {
		resp, _ := admin.postForm("/admin/users", url.Values{"username": {"erin"}, "role": {"officer"}, "password": {"a quiet walk by the river"}, "password_confirm": {"a quiet walk by the river"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create: %d", resp.StatusCode)
		}
		if r := e.client().login("erin", "a quiet walk by the river"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("new officer cannot log in: %d", r.StatusCode)
		}
	})
	t.Run("ErrWeakPassword", func(t *testing.T) {
		resp, body := admin.postForm("/admin/users", url.Values{"username": {"frank"}, "role": {"officer"}, "password": {"short"}, "password_confirm": {"short"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "12") {
			t.Fatalf("weak password: %d", resp.StatusCode)
		}
	})
	t.Run("ErrDuplicate", func(t *testing.T) {
		resp, _ := admin.postForm("/admin/users", url.Values{"username": {"bob"}, "role": {"officer"}, "password": {testPassword}, "password_confirm": {testPassword}})
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("duplicate: %d", resp.StatusCode)
		}
	})
	t.Run("ResetPasswordEndsSessions", func(t *testing.T) {
		officer := mustLogin(t, e, "carol")
		carol, _ := e.srv.auth.GetUserByUsername(context.Background(), "carol")
		np := "another long pass phrase"
		resp, _ := admin.postForm("/admin/users/"+itoa(carol.ID)+"/password", url.Values{"password": {np}, "password_confirm": {np}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("reset: %d", resp.StatusCode)
		}
		if r, _ := officer.get("/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("old session survived a password reset: %d", r.StatusCode)
		}
	})
	t.Run("AuditPage", func(t *testing.T) {
		resp, body := admin.get("/admin/audit")
		if resp.StatusCode != 200 || !strings.Contains(body, "user_create") {
			t.Fatalf("audit page: %d", resp.StatusCode)
		}
	})
}

func TestPanicGivesGeneric500(t *testing.T) {
	e := newEnv(t, nil)
	h := e.srv.recoverer(e.srv.withRequestID(e.srv.securityHeaders(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret internal detail")
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if strings.Contains(body, "secret internal detail") || strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
		t.Fatal("panic detail in the response body")
	}
	if !strings.Contains(body, "Something went wrong") {
		t.Fatal("not the generic 500 page")
	}
	if !strings.Contains(e.log.String(), "secret internal detail") {
		t.Fatal("panic not logged")
	}
}

func TestProbes(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	if resp, _ := c.get("/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	resp, body := c.get("/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "test server without a model") {
		t.Fatalf("readyz without a model: %d %s", resp.StatusCode, body)
	}
	t.Run("MetricsLoopbackOnly", func(t *testing.T) {
		if resp, body := c.get("/metrics"); resp.StatusCode != 200 || !strings.Contains(body, "sketchmatch_http_requests_total") {
			t.Fatalf("metrics from loopback: %d", resp.StatusCode)
		}
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = "203.0.113.9:5555"
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Fatalf("metrics from outside: %d", rec.Code)
		}
	})
}

func TestClientIP(t *testing.T) {
	e := newEnv(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32,10.0.0.0/8"})
	for _, tc := range []struct {
		name, remote, xff, want string
	}{
		{"Direct", "198.51.100.7:1000", "", "198.51.100.7"},
		{"UntrustedPeerIgnoresXFF", "198.51.100.7:1000", "1.2.3.4", "198.51.100.7"},
		{"TrustedProxy", "127.0.0.1:1000", "203.0.113.5", "203.0.113.5"},
		{"SpoofedLeftmostIgnored", "127.0.0.1:1000", "6.6.6.6, 203.0.113.5", "203.0.113.5"},
		{"ChainOfTrusted", "127.0.0.1:1000", "203.0.113.5, 10.1.1.1", "203.0.113.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := e.srv.clientIP(r); got != tc.want {
				t.Fatalf("clientIP=%q, want %q", got, tc.want)
			}
		})
	}
}

// A slow in-flight request (its body still arriving) completes after the
// shutdown signal.
func TestGracefulShutdown(t *testing.T) {
	e := newEnv(t, map[string]string{"PORT": "1"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	host, port, _ := net.SplitHostPort(addr)
	e.srv.cfg.Host = host
	e.srv.cfg.Port = atoi(port)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- e.srv.ListenAndServe(ctx, ready) }()
	<-ready

	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/login", pr)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.ContentLength = int64(len("username=alice&password=wrong+password"))
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			respc <- nil
			return
		}
		respc <- resp
	}()
	pw.Write([]byte("username=alice&"))
	time.Sleep(200 * time.Millisecond) // the handler is now blocked reading the body
	cancel()                           // SIGTERM
	time.Sleep(300 * time.Millisecond)
	pw.Write([]byte("password=wrong+password"))
	pw.Close()
	resp := <-respc
	if resp == nil {
		t.Fatal("in-flight request failed")
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("in-flight request: %d", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
}

// multipartBody builds a multipart form with files under field.
func multipartBody(t testing.TB, fields map[string]string, field string, files map[string][]byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, data := range files {
		fw, _ := mw.CreateFormFile(field, name)
		fw.Write(data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}
