package deploytest

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/faulttest"
)

// TestAppBehindNginxNonStandardPort runs the shipped site on ports other
// than 80/443, set up as DEPLOYMENT.md 10.5 says (the redirect's authority
// given the HTTPS port; nothing else changed), in front of the real server
// in production mode, and checks what a browser at
// https://sketchmatch.example.org:PORT meets: the HTTP redirect keeps the
// port, and sign-in and an admin form pass the cross-origin check on
// Origin alone (no Sec-Fetch-Site, as older browsers send), which needs
// the port in the Host the app sees; a form from the same host on another
// port (another origin) is still refused.
func TestAppBehindNginxNonStandardPort(t *testing.T) {
	nginx := lookTool(t, "nginx", "/usr/sbin/nginx")
	e := faulttest.NewEnv(t)
	e.Vars["APP_ENV"] = "production"
	e.Vars["SECRET_KEY"] = "deploytest-secret-key-0123456789abcdef0123456789"
	e.Vars["TRUSTED_PROXIES"] = "127.0.0.1/32"
	e.AddUser(t, "admin1", "admin")
	srv := e.Start(t)

	httpPort, httpsPort := freePort(t), freePort(t)
	env := setupNginx(t, nginxRewrite{httpPort: httpPort, httpsPort: httpsPort, upstream: srv.Addr, publicPort: true})
	startNginx(t, nginx, env)
	tlsAddr := "127.0.0.1:" + itoa(httpsPort)
	waitFor(t, 15*time.Second, "nginx to accept TLS connections", func() (bool, string) {
		c, err := net.DialTimeout("tcp", tlsAddr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})

	// The browser's view: the site's name with the port in every URL.
	base := "https://" + nginxHost + ":" + itoa(httpsPort)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar:     jar,
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: env.certPool, ServerName: nginxHost},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, tlsAddr)
			},
			ForceAttemptHTTP2: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	postForm := func(path string, form url.Values, origin string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin) // and no Sec-Fetch-Site: the check falls to Origin vs Host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("HTTPRedirectKeepsThePort", func(t *testing.T) {
		plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+itoa(httpPort)+"/searches?page=2", nil)
		req.Host = nginxHost + ":" + itoa(httpPort)
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusMovedPermanently; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := resp.Header.Get("Location"), base+"/searches?page=2"; got != want {
			t.Fatalf("Location=%q, want %q (the HTTPS port, not 443)", got, want)
		}
		// A client's own Host never becomes the redirect's target.
		req.Host = "evil.example.net"
		if resp, err = plain.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, base+"/") {
			t.Fatalf("with Host evil.example.net the redirect went to %q", loc)
		}
	})

	t.Run("SignInOnOriginAlone", func(t *testing.T) {
		resp, body := postForm("/login", url.Values{"username": {"admin1"}, "password": {faulttest.Password}}, base)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST /login with Origin %s: status %d, want 303 (a 403 means Host lost the port)\n%s", base, resp.StatusCode, tail(body, 1500))
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2 (the browser's :authority is the Host nginx forwards)", resp.Proto)
		}
		r2, err := client.Get(base + "/admin/users")
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusOK {
			t.Fatalf("GET /admin/users after sign-in: %d", r2.StatusCode)
		}
	})

	t.Run("AdminFormOnOriginAlone", func(t *testing.T) {
		form := url.Values{"username": {"officer1"}, "role": {"officer"}, "password": {faulttest.Password}, "password_confirm": {faulttest.Password}}
		resp, body := postForm("/admin/users", form, base)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST /admin/users: status %d, want 303\n%s", resp.StatusCode, tail(body, 1500))
		}
	})

	t.Run("OtherPortIsAnotherOrigin", func(t *testing.T) {
		for _, origin := range []string{"https://" + nginxHost, "https://" + nginxHost + ":1", "https://evil.example.net:" + itoa(httpsPort)} {
			form := url.Values{"username": {"mallory"}, "role": {"officer"}, "password": {faulttest.Password}, "password_confirm": {faulttest.Password}}
			if resp, body := postForm("/admin/users", form, origin); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST with Origin %s: status %d, want 403\n%s", origin, resp.StatusCode, tail(body, 800))
			}
		}
	})
	e.CheckNoPanic(t, srv)
}
