package deploytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/config"
)

const (
	nginxConfPath = "deploy/nginx/sketchmatch.conf"
	// upstreamInstancesPath replaces sketchmatch.conf's upstream block for
	// several instances (DEPLOYMENT.md, "Several instances").
	upstreamInstancesPath = "deploy/nginx/upstream-instances.conf"
	// The host name the shipped file is written for; ops replace it.
	nginxHost = "sketchmatch.example.org"
	// httpsAuthorityVar is the variable of the port-80 server that names
	// where its redirect goes (host, and port when not 443).
	httpsAuthorityVar = "$sketchmatch_https"
)

// defaultConfig is the application's configuration with every default, for
// checking the deployment files against the values the app really uses.
func defaultConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	return cfg
}

// nginxSize parses an nginx size ("16m", "512k", "1g", "1024").
func nginxSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}

// nginxDuration parses an nginx time ("130s", "2m", "60").
func nginxDuration(s string) (time.Duration, error) {
	if _, err := strconv.Atoi(s); err == nil {
		s += "s" // a bare number is seconds
	}
	return time.ParseDuration(s)
}

// nginxServers splits the shipped file into the plain-HTTP server and the
// TLS server, failing the test when the file does not have that shape.
func nginxServers(t *testing.T, ds []*directive) (plain, tlsSrv *directive) {
	t.Helper()
	for _, s := range find(ds, "server") {
		for _, l := range find(s.Block, "listen") {
			isTLS := false
			for _, a := range l.Args {
				if a == "ssl" {
					isTLS = true
				}
			}
			if isTLS {
				tlsSrv = s
			} else {
				plain = s
			}
		}
	}
	if plain == nil || tlsSrv == nil {
		t.Fatalf("%s: want one plain-HTTP server and one TLS server", nginxConfPath)
	}
	return plain, tlsSrv
}

// locationsOf returns the location blocks of a server keyed by their
// arguments joined with a space ("= /metrics", "/static/").
func locationsOf(srv *directive) map[string]*directive {
	m := map[string]*directive{}
	for _, l := range find(srv.Block, "location") {
		m[strings.Join(l.Args, " ")] = l
	}
	return m
}

// TestNginxConfigText checks, by reading the shipped file, the settings the
// application depends on; TestNginxConfig and TestNginxProxy then run it.
func TestNginxConfigText(t *testing.T) {
	src := readRepoFile(t, nginxConfPath)
	ds, err := parseNginx(src)
	if err != nil {
		t.Fatalf("%s: %v", nginxConfPath, err)
	}
	cfg := defaultConfig(t)
	plain, tlsSrv := nginxServers(t, ds)

	t.Run("ClientMaxBodySizeEqualsMaxUploadSize", func(t *testing.T) {
		v := args1(t, tlsSrv.Block, "client_max_body_size")
		if got, want := v, "16m"; got != want {
			t.Fatalf("client_max_body_size=%s, want %s", got, want)
		}
		n, err := nginxSize(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := n, cfg.MaxUploadSize; got != want {
			t.Fatalf("client_max_body_size=%d bytes, want MAX_UPLOAD_SIZE default %d", got, want)
		}
	})

	t.Run("ProxyHeaders", func(t *testing.T) {
		h := headerSet(tlsSrv.Block)
		for name, want := range map[string]string{
			"host":              "$http_host", // the cross-origin check compares Origin with Host, port included
			"x-forwarded-for":   "$proxy_add_x_forwarded_for",
			"x-forwarded-proto": "$scheme",
			"x-real-ip":         "$remote_addr",
		} {
			if got := h[name]; got != want {
				t.Errorf("proxy_set_header %s %q, want %q", name, got, want)
			}
		}
		if !regexp.MustCompile(`(?m)^\s*proxy_set_header\s+Host\s+\$http_host\s*;`).MatchString(src) {
			t.Errorf("the text lacks the line `proxy_set_header Host $http_host;`")
		}
		// A location with its own proxy_set_header silently drops every header
		// set at server level (nginx inheritance), Host included.
		for key, loc := range locationsOf(tlsSrv) {
			if len(find(loc.Block, "proxy_set_header")) > 0 {
				t.Errorf("location %s sets proxy_set_header: it would lose the server-level Host/X-Forwarded-* headers", key)
			}
		}
	})

	t.Run("UpstreamIsTheAppListenAddress", func(t *testing.T) {
		ups := find(ds, "upstream")
		if len(ups) != 1 {
			t.Fatalf("want exactly one upstream block, found %d", len(ups))
		}
		servers := find(ups[0].Block, "server")
		if len(servers) != 1 || len(servers[0].Args) < 1 {
			t.Fatalf("want one server in upstream %v", ups[0].Args)
		}
		if got, want := servers[0].Args[0], cfg.Addr(); got != want {
			t.Fatalf("upstream server %s, want the app's HOST:PORT default %s", got, want)
		}
		walk(tlsSrv.Block, func(d *directive) {
			if d.Name == "proxy_pass" && (len(d.Args) != 1 || d.Args[0] != "http://"+ups[0].Args[0]) {
				t.Errorf("line %d: proxy_pass %v, want http://%s (the upstream block)", d.Line, d.Args, ups[0].Args[0])
			}
		})
	})

	t.Run("TLS", func(t *testing.T) {
		for name, want := range map[string]string{
			"ssl_certificate":     "/etc/letsencrypt/live/" + nginxHost + "/fullchain.pem",
			"ssl_certificate_key": "/etc/letsencrypt/live/" + nginxHost + "/privkey.pem",
		} {
			if got := args1(t, tlsSrv.Block, name); got != want {
				t.Errorf("%s %s, want %s", name, got, want)
			}
		}
		protos := find(tlsSrv.Block, "ssl_protocols")
		if len(protos) != 1 {
			t.Fatalf("want one ssl_protocols, found %d", len(protos))
		}
		for _, p := range protos[0].Args {
			if p != "TLSv1.2" && p != "TLSv1.3" {
				t.Errorf("ssl_protocols enables %s; want only TLSv1.2 and TLSv1.3", p)
			}
		}
	})

	t.Run("HSTSOnlyFromTheApp", func(t *testing.T) {
		// The app sends Strict-Transport-Security in production; a second
		// copy from nginx would duplicate the header.
		walk(ds, func(d *directive) {
			if d.Name == "add_header" && len(d.Args) > 0 && strings.EqualFold(d.Args[0], "Strict-Transport-Security") {
				t.Errorf("line %d: nginx adds Strict-Transport-Security; the app already sends it", d.Line)
			}
		})
	})

	t.Run("TimeoutsFitInference", func(t *testing.T) {
		d, err := nginxDuration(args1(t, tlsSrv.Block, "proxy_read_timeout"))
		if err != nil {
			t.Fatal(err)
		}
		if d < cfg.WriteTimeout {
			t.Fatalf("proxy_read_timeout %s is below the app's WRITE_TIMEOUT %s: nginx would cut slow searches", d, cfg.WriteTimeout)
		}
	})

	t.Run("MetricsDenied", func(t *testing.T) {
		locs := locationsOf(tlsSrv)
		for _, key := range []string{"= /metrics", "^~ /metrics/"} {
			loc, ok := locs[key]
			if !ok {
				t.Errorf("no `location %s` in the TLS server", key)
				continue
			}
			if d := find(loc.Block, "deny"); len(d) != 1 || strings.Join(d[0].Args, " ") != "all" {
				t.Errorf("location %s: want `deny all;`", key)
			}
			if len(find(loc.Block, "proxy_pass")) > 0 {
				t.Errorf("location %s proxies to the app", key)
			}
		}
	})

	t.Run("StaticCached", func(t *testing.T) {
		loc, ok := locationsOf(tlsSrv)["/static/"]
		if !ok {
			t.Fatal("no `location /static/` in the TLS server")
		}
		if len(find(loc.Block, "proxy_cache")) != 1 {
			t.Fatal("location /static/ has no proxy_cache")
		}
	})

	t.Run("PlainHTTPRedirects", func(t *testing.T) {
		var ret *directive
		walk(plain.Block, func(d *directive) {
			if d.Name == "return" {
				ret = d
			}
		})
		if ret == nil || len(ret.Args) != 2 || ret.Args[0] != "301" || !strings.HasPrefix(ret.Args[1], "https://") {
			t.Fatalf("the port-80 server must `return 301 https://...`, got %+v", ret)
		}
		// The redirect goes to a fixed authority (never the client's Host),
		// set in one line that DEPLOYMENT.md 10.5 says to give the HTTPS
		// port when it is not 443: as shipped, the server name alone.
		if got, want := ret.Args[1], "https://"+httpsAuthorityVar+"$request_uri"; got != want {
			t.Fatalf("return 301 %s, want %s", got, want)
		}
		var set *directive
		for _, d := range find(plain.Block, "set") {
			if len(d.Args) == 2 && d.Args[0] == httpsAuthorityVar {
				set = d
			}
		}
		if set == nil || set.Args[1] != nginxHost {
			t.Fatalf("the port-80 server must `set %s %s;` (the HTTPS server's name), got %+v", httpsAuthorityVar, nginxHost, set)
		}
		if len(find(plain.Block, "proxy_pass")) > 0 {
			t.Fatal("the port-80 server proxies to the app: it must only redirect")
		}
	})
}

// nginxEnv is a temporary nginx prefix holding the rewritten site file, a
// self-signed certificate and a minimal main nginx.conf.
type nginxEnv struct {
	dir      string
	mainConf string
	certPool *x509.CertPool
}

// pathDirectives take a file system path as their first argument; after
// rewriting, every one must point into the temp dir.
var pathDirectives = map[string]bool{
	"ssl_certificate": true, "ssl_certificate_key": true, "ssl_trusted_certificate": true,
	"ssl_dhparam": true, "access_log": true, "error_log": true, "proxy_cache_path": true,
	"root": true, "alias": true, "include": true, "client_body_temp_path": true,
	"proxy_temp_path": true, "ssl_stapling_file": true, "ssl_password_file": true,
}

type nginxRewrite struct {
	httpPort, httpsPort int    // 0: leave the listen lines as shipped
	upstream            string // "": leave the upstream server as shipped
	// publicPort: the site is reached on httpsPort itself (not through
	// 443), so the redirect's authority gets the port, as DEPLOYMENT.md
	// 10.5 tells an operator to do.
	publicPort bool
	// instances, if set, replaces the upstream block with the shipped
	// upstream-instances.conf, its servers pointed at these addresses.
	instances []string
}

// setupNginx copies the shipped site file into a fresh nginx prefix,
// rewriting the certificate, log, cache and webroot paths (and, if asked,
// the listen ports and the upstream) and nothing else.
func setupNginx(t *testing.T, rw nginxRewrite) *nginxEnv {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"tls", "log", "cache", "www", "tmp", "sites"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, _, cert := selfSignedCert(t, filepath.Join(dir, "tls"), nginxHost, "localhost", "127.0.0.1")
	pool := x509.NewCertPool()
	pool.AddCert(cert)

	site := readRepoFile(t, nginxConfPath)
	site = regexp.MustCompile(`/etc/letsencrypt/live/[^/\s;]+/`).ReplaceAllString(site, filepath.Join(dir, "tls")+"/")
	for from, to := range map[string]string{
		"/var/log/nginx/":   filepath.Join(dir, "log") + "/",
		"/var/cache/nginx/": filepath.Join(dir, "cache") + "/",
		"/var/www/":         filepath.Join(dir, "www") + "/",
	} {
		site = strings.ReplaceAll(site, from, to)
	}
	if rw.httpPort != 0 {
		// Loopback only, and no IPv6 (a test machine may lack it).
		site = regexp.MustCompile(`(?m)^\s*listen\s+\[::\].*$`).ReplaceAllString(site, "")
		site = regexp.MustCompile(`(?m)^(\s*listen\s+)80\b`).ReplaceAllString(site, "${1}127.0.0.1:"+itoa(rw.httpPort))
		site = regexp.MustCompile(`(?m)^(\s*listen\s+)443\b`).ReplaceAllString(site, "${1}127.0.0.1:"+itoa(rw.httpsPort))
	}
	if rw.publicPort {
		re := regexp.MustCompile(`(?m)^(\s*set\s+` + regexp.QuoteMeta(httpsAuthorityVar) + `\s+)` + regexp.QuoteMeta(nginxHost) + `;`)
		if !re.MatchString(site) {
			t.Fatalf("no `set %s %s;` line to give the HTTPS port", httpsAuthorityVar, nginxHost)
		}
		site = re.ReplaceAllString(site, "${1}"+nginxHost+":"+itoa(rw.httpsPort)+";")
	}
	if rw.upstream != "" {
		site = regexp.MustCompile(`(?m)^(\s*server\s+)127\.0\.0\.1:8000\b`).ReplaceAllString(site, "${1}"+rw.upstream)
	}
	if rw.instances != nil {
		block := readRepoFile(t, upstreamInstancesPath)
		for i, addr := range rw.instances {
			block = strings.Replace(block, "127.0.0.1:800"+itoa(i)+" ", addr+" ", 1)
		}
		re := regexp.MustCompile(`(?s)\nupstream sketchmatch_app \{.*?\n\}\n`)
		if !re.MatchString(site) {
			t.Fatal("no upstream sketchmatch_app block in the shipped site file")
		}
		site = re.ReplaceAllLiteralString(site, "\n"+block)
	}

	ds, err := parseNginx(site)
	if err != nil {
		t.Fatalf("rewritten site file: %v", err)
	}
	walk(ds, func(d *directive) {
		if pathDirectives[d.Name] && len(d.Args) > 0 && strings.HasPrefix(d.Args[0], "/") && !strings.HasPrefix(d.Args[0], dir) {
			t.Fatalf("line %d: %s %s still points outside the test dir; teach setupNginx to rewrite it", d.Line, d.Name, d.Args[0])
		}
		if d.Name == "listen" && rw.httpPort != 0 && !strings.HasPrefix(d.Args[0], "127.0.0.1:") {
			t.Fatalf("line %d: listen %v was not rewritten to loopback", d.Line, d.Args)
		}
	})
	sitePath := filepath.Join(dir, "sites", "sketchmatch.conf")
	if err := os.WriteFile(sitePath, []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}

	var main strings.Builder
	if os.Geteuid() == 0 {
		// Workers would switch to "nobody", who cannot enter the temp dir.
		main.WriteString("user root;\n")
	}
	fmt.Fprintf(&main, `daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/log/error.log info;
events { worker_connections 64; }
http {
    types { text/html html; text/css css; application/javascript js; image/png png; }
    default_type application/octet-stream;
    access_log %[1]s/log/access.log;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[2]s;
}
`, dir, sitePath)
	mainConf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainConf, []byte(main.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return &nginxEnv{dir: dir, mainConf: mainConf, certPool: pool}
}

// TestNginxConfig runs the real `nginx -t` on the shipped file, with only the
// certificate (a self-signed one made here) and the log/cache paths changed.
func TestNginxConfig(t *testing.T) {
	nginx := lookTool(t, "nginx", "/usr/sbin/nginx")
	env := setupNginx(t, nginxRewrite{})
	// -e: the error log before the config is read (Debian's default,
	// /var/log/nginx/error.log, may not be writable).
	cmd := exec.Command(nginx, "-t", "-e", filepath.Join(env.dir, "log", "startup.log"), "-p", env.dir, "-c", env.mainConf)
	out, err := cmd.CombinedOutput()
	t.Logf("nginx -t:\n%s", out)
	if err != nil {
		t.Fatalf("nginx -t failed: %v", err)
	}
	if !bytes.Contains(out, []byte("test is successful")) {
		t.Fatal("nginx -t did not report success")
	}
	if bytes.Contains(out, []byte("[warn]")) && !bytes.Contains(out, []byte(`"http2" directive is deprecated`)) {
		t.Errorf("nginx -t printed warnings; the shipped file should be clean")
	}
}

// upstreamStub stands in for the app behind nginx and records what reached it.
type upstreamStub struct {
	mu    sync.Mutex
	hits  map[string]int
	addr  string
	bytes int64 // body bytes of the last /upload
}

func (u *upstreamStub) count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[path]
}

func startUpstream(t *testing.T) *upstreamStub {
	t.Helper()
	u := &upstreamStub{hits: map[string]int{}}
	mux := http.NewServeMux()
	record := func(r *http.Request) {
		u.mu.Lock()
		u.hits[r.URL.Path]++
		u.mu.Unlock()
	}
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"host":   r.Host,
			"xff":    r.Header.Get("X-Forwarded-For"),
			"proto":  r.Header.Get("X-Forwarded-Proto"),
			"realip": r.Header.Get("X-Real-Ip"),
		})
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		n, _ := io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.bytes = n
		u.mu.Unlock()
		fmt.Fprintf(w, "%d", n)
	})
	mux.HandleFunc("/static/app.css", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		io.WriteString(w, "body{}")
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		io.WriteString(w, "secret_metric 1\n")
	})
	mux.HandleFunc("/metrics/", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		io.WriteString(w, "secret_metric 1\n")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		time.Sleep(3 * time.Second) // a search of a few seconds must not be cut
		io.WriteString(w, "done")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	u.addr = l.Addr().String()
	return u
}

// TestNginxProxy runs the shipped file in a real nginx (loopback ports, test
// certificate) in front of a stub of the app, and checks what the app relies
// on: the redirect, the forwarded headers, the upload cap, /metrics kept
// inside, static files cached, and TLS below 1.2 refused.
func TestNginxProxy(t *testing.T) {
	nginx := lookTool(t, "nginx", "/usr/sbin/nginx")
	up := startUpstream(t)
	httpPort, httpsPort := freePort(t), freePort(t)
	env := setupNginx(t, nginxRewrite{httpPort: httpPort, httpsPort: httpsPort, upstream: up.addr})

	startNginx(t, nginx, env)

	tlsAddr := "127.0.0.1:" + itoa(httpsPort)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	newClient := func(tc *tls.Config) *http.Client {
		return &http.Client{
			Timeout: 60 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig: tc,
				// Every name resolves to the nginx under test.
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return dialer.DialContext(ctx, network, tlsAddr)
				},
				ForceAttemptHTTP2: true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	client := newClient(&tls.Config{RootCAs: env.certPool, ServerName: nginxHost})
	base := "https://" + nginxHost

	waitFor(t, 15*time.Second, "nginx to accept TLS connections", func() (bool, string) {
		c, err := net.DialTimeout("tcp", tlsAddr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})

	t.Run("HTTPRedirectsToHTTPS", func(t *testing.T) {
		plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+itoa(httpPort)+"/searches?page=2", nil)
		req.Host = nginxHost
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusMovedPermanently; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := resp.Header.Get("Location"), base+"/searches?page=2"; got != want {
			t.Fatalf("Location=%q, want %q", got, want)
		}
	})

	t.Run("ForwardedHeaders", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/echo", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.66") // a client's forgery
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2", resp.Proto)
		}
		var got map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got["host"] != nginxHost {
			t.Errorf("Host at the app=%q, want %q (the cross-origin check compares it with Origin)", got["host"], nginxHost)
		}
		if got["proto"] != "https" {
			t.Errorf("X-Forwarded-Proto=%q, want https", got["proto"])
		}
		if got["realip"] != "127.0.0.1" {
			t.Errorf("X-Real-IP=%q, want 127.0.0.1", got["realip"])
		}
		// nginx appends the peer it saw; the app takes the right-most
		// untrusted entry, so the forged one in front is harmless.
		if want := "203.0.113.66, 127.0.0.1"; got["xff"] != want {
			t.Errorf("X-Forwarded-For=%q, want %q", got["xff"], want)
		}
	})

	t.Run("UploadCap", func(t *testing.T) {
		limit := defaultConfig(t).MaxUploadSize
		post := func(n int64) *http.Response {
			t.Helper()
			req, _ := http.NewRequest("POST", base+"/upload", io.LimitReader(zeroReader{}, n))
			req.ContentLength = n
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		if resp := post(limit); resp.StatusCode != http.StatusOK {
			t.Fatalf("a body of exactly MAX_UPLOAD_SIZE (%d): status=%d, want 200", limit, resp.StatusCode)
		}
		if got := up.count("/upload"); got != 1 {
			t.Fatalf("app saw %d uploads, want 1", got)
		}
		up.mu.Lock()
		n := up.bytes
		up.mu.Unlock()
		if n != limit {
			t.Fatalf("app received %d bytes, want %d", n, limit)
		}
		if resp := post(limit + 1); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("a body of MAX_UPLOAD_SIZE+1: status=%d, want 413", resp.StatusCode)
		}
		if got := up.count("/upload"); got != 1 {
			t.Fatalf("the oversized body reached the app (%d uploads seen)", got)
		}
	})

	t.Run("MetricsNotReachable", func(t *testing.T) {
		for _, p := range []string{"/metrics", "/metrics/", "/metrics/x", "//metrics", "/%6detrics"} {
			resp, err := client.Get(base + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s: status=%d, want 403", p, resp.StatusCode)
			}
		}
		if n := up.count("/metrics") + up.count("/metrics/") + up.count("/metrics/x"); n != 0 {
			t.Fatalf("/metrics reached the app %d times", n)
		}
	})

	t.Run("StaticCached", func(t *testing.T) {
		var status []string
		for i := 0; i < 2; i++ {
			resp, err := client.Get(base + "/static/app.css")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status=%d", resp.StatusCode)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("Cache-Control=%q: the app's header must reach the browser", cc)
			}
			status = append(status, resp.Header.Get("X-Cache-Status"))
		}
		if got := up.count("/static/app.css"); got != 1 {
			t.Fatalf("app served the static file %d times, want 1 (X-Cache-Status %v)", got, status)
		}
		if status[1] != "HIT" {
			t.Fatalf("second X-Cache-Status=%q, want HIT", status[1])
		}
	})

	t.Run("SlowResponseNotCut", func(t *testing.T) {
		resp, err := client.Get(base + "/slow")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "done" {
			t.Fatalf("status=%d body=%q, want 200 done", resp.StatusCode, body)
		}
	})

	t.Run("OldTLSRefused", func(t *testing.T) {
		old := newClient(&tls.Config{RootCAs: env.certPool, ServerName: nginxHost, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		resp, err := old.Get(base + "/echo")
		if err == nil {
			resp.Body.Close()
			t.Fatal("a TLS 1.1 client was served")
		}
		t.Logf("TLS 1.1 client: %v", err)
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
