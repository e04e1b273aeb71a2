package deploytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/faulttest"
	"github.com/sketchmatch/sketchmatch/internal/pgtest"
)

// TestSeveralInstances runs three real `sketchmatch serve` processes on one
// PostgreSQL database behind the shipped nginx site file with the shipped
// several-instances upstream (deploy/nginx/upstream-instances.conf), and
// checks the promises: a session made through nginx is good on
// every instance; an admin upload on A is found by a search on C within
// 2 s; a logout on B ends the session everywhere; five failures spread
// over the instances lock the account; `kill -9` of one instance under load
// fails no request through nginx beyond those in flight on it; PostgreSQL
// restarted under load gives clean 503s, then recovery without restarting
// the instances; and `audit verify` holds after all of it.
func TestSeveralInstances(t *testing.T) {
	nginx := lookTool(t, "nginx", "/usr/sbin/nginx")
	if !pgtest.Available() {
		t.Skip("PostgreSQL not installed (initdb/pg_ctl not found); CI installs the postgresql package")
	}
	// A cluster of its own: the test restarts it.
	cluster, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	ctx := context.Background()
	dbURL, err := cluster.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, photos, _ := faulttest.DevSet(t, 2)
	e := faulttest.NewEnv(t)
	e.Vars["DATABASE_URL"] = dbURL
	e.Vars["SECRET_KEY"] = "several-instances-secret-0123456789abcdef0123456789"
	e.Vars["TRUSTED_PROXIES"] = "127.0.0.1/32"
	e.Vars["LOGIN_MAX_FAILURES"] = "5"
	e.AddUser(t, "admin1", "admin")
	e.AddUser(t, "officer1", "officer")
	e.AddUser(t, "officer2", "officer")

	var srv [3]*faulttest.Server
	var addrs []string
	for i := range srv {
		e.Vars["LOG_DIR"] = filepath.Join(e.Dir, "logs", itoa(i))
		srv[i] = e.StartAt(t, faulttest.FreePort(t))
		addrs = append(addrs, srv[i].Addr)
	}
	for _, s := range srv {
		s.WaitHealthy(t, 2*time.Minute)
	}
	a, b, c := srv[0], srv[1], srv[2]

	httpPort, httpsPort := freePort(t), freePort(t)
	env := setupNginx(t, nginxRewrite{httpPort: httpPort, httpsPort: httpsPort, instances: addrs})
	startNginx(t, nginx, env)
	tlsAddr := "127.0.0.1:" + itoa(httpsPort)
	waitFor(t, 15*time.Second, "nginx to accept TLS connections", func() (bool, string) {
		conn, err := net.DialTimeout("tcp", tlsAddr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	})
	base := "https://" + nginxHost
	viaNginx := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{
			Jar: jar, Timeout: 60 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: env.certPool, ServerName: nginxHost},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, tlsAddr)
				},
				MaxIdleConnsPerHost: 16,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	// cookieOf is the Cookie header a client's jar sends to base.
	cookieOf := func(cl *http.Client, base string) string {
		u, _ := url.Parse(base)
		var parts []string
		for _, ck := range cl.Jar.Cookies(u) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
		return strings.Join(parts, "; ")
	}
	// getWith fetches path from an instance directly with a Cookie header.
	getWith := func(s *faulttest.Server, path, cookie string) int {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := (&http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatalf("GET %s%s: %v", s.URL, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	admin := viaNginx()
	t.Run("SignInThroughNginxContinueOnAnyInstance", func(t *testing.T) {
		faulttest.Login(t, admin, base, "admin1")
		for i := 0; i < 6; i++ { // round robin: every instance answers some
			if status, _, err := faulttest.Get(admin, base, "/"); err != nil || status != http.StatusOK {
				t.Fatalf("GET / through nginx: %d %v", status, err)
			}
		}
		cookie := cookieOf(admin, base)
		for i, s := range srv {
			if got := getWith(s, "/", cookie); got != http.StatusOK {
				t.Errorf("instance %d: GET / with the session made through nginx: %d, want 200", i, got)
			}
		}
	})

	t.Run("UploadOnAFoundBySearchOnCWithin2s", func(t *testing.T) {
		cl := faulttest.NewClient()
		faulttest.Login(t, cl, a.URL, "admin1")
		upload := func(photo []byte) string {
			body, ct := faulttest.Multipart(nil, map[string][]faulttest.NamedFile{"photos": {{Name: "p.jpg", Data: photo}}})
			req, _ := http.NewRequest(http.MethodPost, a.URL+"/api/v1/references", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			status, text, err := faulttest.Do(cl, req)
			if err != nil || status != http.StatusCreated {
				t.Fatalf("upload on A: %d %v\n%s", status, err, tail(text, 1500))
			}
			return text
		}
		upload(faulttest.ReadFile(t, photos[1]))
		photo := faulttest.ReadFile(t, photos[0])
		// Warm C's model up first (a search needs a non-empty gallery).
		waitFor(t, 30*time.Second, "the first upload to reach C", func() (bool, string) {
			status, _, body, err := faulttest.SearchAPI(cl, c.URL, photo, 5)
			return err == nil && status == http.StatusOK, tail(string(body), 300)
		})
		text := upload(photo)
		var up struct {
			Results []struct {
				Reference struct {
					ID int64 `json:"id"`
				} `json:"reference"`
				Searchable *bool `json:"searchable"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(text), &up); err != nil || len(up.Results) != 1 || up.Results[0].Searchable == nil || !*up.Results[0].Searchable {
			t.Fatalf("upload on A: %v\n%s", err, tail(text, 1500))
		}
		id, uploaded := up.Results[0].Reference.ID, time.Now()
		for {
			started := time.Now()
			res := faulttest.MustSearch(t, cl, c.URL, photo, 5)
			if len(res.Candidates) > 0 && res.Candidates[0].ReferenceID == id {
				delay := started.Sub(uploaded)
				t.Logf("insert on A searchable on C: a search started %v after the upload answered found it (it answered after %v)", delay, time.Since(uploaded))
				if delay > 2*time.Second {
					t.Fatalf("reference %d first found on C %v after the upload on A, want ≤ 2s", id, delay)
				}
				break
			}
			if time.Since(uploaded) > 2*time.Second {
				t.Fatalf("reference %d not found on C 2s after the upload on A (candidates %+v)", id, res.Candidates)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("LogoutOnBEndsTheSessionEverywhere", func(t *testing.T) {
		cl := faulttest.NewClient()
		faulttest.Login(t, cl, b.URL, "officer1")
		cookie := cookieOf(cl, b.URL)
		if got := getWith(a, "/", cookie); got != http.StatusOK {
			t.Fatalf("GET / on A with B's session: %d, want 200", got)
		}
		req, _ := http.NewRequest(http.MethodPost, b.URL+"/logout", nil)
		if status, _, err := faulttest.Do(cl, req); err != nil || status != http.StatusSeeOther {
			t.Fatalf("POST /logout on B: %d %v", status, err)
		}
		for i, s := range srv {
			if got := getWith(s, "/", cookie); got == http.StatusOK {
				t.Errorf("instance %d still accepts the session after logout on B", i)
			}
		}
	})

	t.Run("FiveFailuresOverThreeInstancesLockTheAccount", func(t *testing.T) {
		cl := faulttest.NewClient()
		for i := 0; i < 5; i++ {
			s := srv[i%3]
			if status, _, err := faulttest.PostLogin(cl, s.URL, "officer2", "wrong-password-"+itoa(i)); err != nil || status == http.StatusSeeOther {
				t.Fatalf("wrong password %d on instance %d: %d %v", i, i%3, status, err)
			}
		}
		for i, s := range srv {
			if status, _, err := faulttest.PostLogin(cl, s.URL, "officer2", faulttest.Password); err != nil || status == http.StatusSeeOther {
				t.Errorf("instance %d signs officer2 in after 5 failures spread over the instances: %d %v", i, status, err)
			}
		}
	})

	// load sends GET / through nginx from workers until stop, counting
	// answers by status (0: transport error).
	load := func(stop <-chan struct{}, workers int) (*sync.Map, *sync.WaitGroup) {
		var counts sync.Map
		var wg sync.WaitGroup
		cookie := cookieOf(admin, base)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := viaNginx()
				for {
					select {
					case <-stop:
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
					req.Header.Set("Cookie", cookie)
					status := 0
					if resp, err := cl.Do(req); err == nil {
						status = resp.StatusCode
						resp.Body.Close()
					}
					v, _ := counts.LoadOrStore(status, new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
				}
			}()
		}
		return &counts, &wg
	}
	summary := func(counts *sync.Map) map[int]int64 {
		out := map[int]int64{}
		counts.Range(func(k, v any) bool { out[k.(int)] = v.(*atomic.Int64).Load(); return true })
		return out
	}

	t.Run("KillOneInstanceUnderLoad", func(t *testing.T) {
		const workers = 4
		stop := make(chan struct{})
		counts, wg := load(stop, workers)
		time.Sleep(time.Second)
		b.Kill(t) // kill -9
		time.Sleep(2 * time.Second)
		close(stop)
		wg.Wait()
		got := summary(counts)
		t.Logf("answers by status through nginx with B killed: %v", got)
		failed := int64(0)
		for status, n := range got {
			if status != http.StatusOK {
				failed += n
			}
		}
		// Only requests in flight on B when it died may fail (nginx retries
		// a GET on the next instance, so usually none do).
		if failed > workers {
			t.Fatalf("%d requests failed through nginx, want at most the %d in flight on the killed instance", failed, workers)
		}
		if got[http.StatusOK] == 0 {
			t.Fatal("no request succeeded")
		}
	})

	t.Run("PostgreSQLRestartUnderLoad", func(t *testing.T) {
		stop := make(chan struct{})
		counts, wg := load(stop, 2)
		time.Sleep(500 * time.Millisecond)
		if err := cluster.StopServer(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		down := summary(counts)
		if err := cluster.Start(); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		t.Logf("answers by status while PostgreSQL was down: %v", down)
		if down[http.StatusServiceUnavailable] == 0 {
			t.Errorf("no 503 while the database was down: %v", down)
		}
		for status, n := range down {
			if status != http.StatusOK && status != http.StatusServiceUnavailable {
				t.Errorf("%d answers with status %d while the database was down; want only 200 (before) and 503", n, status)
			}
		}
		waitFor(t, 30*time.Second, "the instances to recover after PostgreSQL came back", func() (bool, string) {
			for i, s := range []*faulttest.Server{a, c} {
				if got := getWith(s, "/", cookieOf(admin, base)); got != http.StatusOK {
					return false, "instance " + itoa(i) + ": " + itoa(got)
				}
			}
			return true, ""
		})
	})

	t.Run("AuditVerifyHolds", func(t *testing.T) {
		out, code := e.Run(t, "", "audit", "verify")
		if code != 0 || !strings.Contains(out, "chain intact") {
			t.Fatalf("audit verify: exit %d\n%s", code, out)
		}
		t.Log(strings.TrimSpace(out))
	})
}
