package deploytest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	_ "github.com/jackc/pgx/v5/stdlib"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/faulttest"
	"github.com/sketchmatch/sketchmatch/internal/pgtest"
)

// TestBenchInstances measures what DEPLOYMENT.md's "Several instances"
// table reports, on demand only (it seeds a large gallery and runs load for
// minutes): SKETCHMATCH_BENCH=1 go test ./internal/deploytest -run
// TestBenchInstances -v -timeout 60m. SKETCHMATCH_BENCH_REFS sets the
// gallery size (default 100000), SKETCHMATCH_BENCH_PHASES the phases
// (default "startup,follow,load"). SKETCHMATCH_BENCH_BACKEND=sqlite times
// the start-up of one instance on SQLite instead (phase "startup" only).
//
//   - startup: `sketchmatch serve` from process start to /readyz 200 on
//     PostgreSQL with the seeded gallery (twice: the second with the
//     database's cache warm), with the "index loaded" share from its log;
//   - follow: insert-to-searchable delay across two instances (upload on
//     A, then searches on B until one finds it) over 50 uploads;
//   - load: cmd/loadtest's mixed load through the shipped nginx over three
//     instances, then over one.
func TestBenchInstances(t *testing.T) {
	if os.Getenv("SKETCHMATCH_BENCH") == "" {
		t.Skip("on-demand benchmark: set SKETCHMATCH_BENCH=1 (see the comment)")
	}
	sqlite := os.Getenv("SKETCHMATCH_BENCH_BACKEND") == "sqlite"
	if !sqlite && !pgtest.Available() {
		t.Skip("PostgreSQL not installed")
	}
	refs := 100000
	if v := os.Getenv("SKETCHMATCH_BENCH_REFS"); v != "" {
		refs, _ = strconv.Atoi(v)
	}
	phases := os.Getenv("SKETCHMATCH_BENCH_PHASES")
	if phases == "" {
		phases = "startup,follow,load"
	}
	ctx := context.Background()
	photoDir, photos, sketches := faulttest.DevSet(t, 10)
	e := faulttest.NewEnv(t)
	var dbURL string
	seedDB := []string{"-db", e.DBPath, "-refs", e.Refs}
	if sqlite {
		if phases != "startup" {
			t.Fatal("SKETCHMATCH_BENCH_BACKEND=sqlite runs only SKETCHMATCH_BENCH_PHASES=startup (one instance)")
		}
	} else {
		cluster, err := pgtest.Start()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cluster.Close)
		if dbURL, err = cluster.NewDatabase(ctx); err != nil {
			t.Fatal(err)
		}
		e.Vars["DATABASE_URL"] = dbURL
		seedDB = []string{"-db", dbURL}
	}
	e.Vars["SECRET_KEY"] = "bench-instances-secret-0123456789abcdef0123456789abcd"
	e.Vars["TRUSTED_PROXIES"] = "127.0.0.1/32"
	e.Vars["LOGIN_RATE_LIMIT"] = "100000"
	e.AddUser(t, "admin1", "admin")
	t.Logf("machine: %d CPUs (shared), load average %s", runtime.NumCPU(), loadavg())

	// The real model's embeddings first (seeding takes the model id from
	// them), then synthetic references up to refs, and load accounts.
	start := time.Now()
	if out, code := e.Run(t, "", "import", photoDir); code != 0 {
		t.Fatalf("import: %d\n%s", code, out)
	}
	lt := filepath.Join(t.TempDir(), "loadtest")
	build := exec.Command("go", "build", "-o", lt, "./cmd/loadtest")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building loadtest: %v\n%s", err, out)
	}
	const password = "bench-load-Passphrase-2026"
	runLT := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(lt, args...)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); err != nil && code != 1 {
			t.Fatalf("loadtest %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	runLT(append(seedDB, "-seed-gallery", itoa(refs))...)
	runLT(append(seedDB, "-seed-users", "20", "-user-prefix", "load", "-password", password)...)
	t.Logf("seeded %d references and 20 accounts in %v", refs, time.Since(start).Round(time.Second))
	// A production database has been vacuumed since its rows were written;
	// without this, the first start-ups race autovacuum's pass over the
	// fresh 1.5 GB table (and set every row's hint bits themselves).
	start = time.Now()
	if sqlite {
		// nothing: SQLite has no vacuum debt after inserts
	} else if db, err := sql.Open("pgx", dbURL); err != nil {
		t.Fatal(err)
	} else {
		if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	if !sqlite {
		t.Logf("VACUUM (ANALYZE) after seeding: %v", time.Since(start).Round(100*time.Millisecond))
	}

	n := 0
	startOne := func() (*faulttest.Server, time.Duration) {
		t.Helper()
		e.Vars["LOG_DIR"] = filepath.Join(e.Dir, "logs", itoa(n))
		n++
		t0 := time.Now()
		s := e.StartAt(t, faulttest.FreePort(t))
		c := &http.Client{Timeout: 2 * time.Second}
		for {
			if resp, err := c.Get(s.URL + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return s, time.Since(t0)
				}
			}
			if s.Exited() || time.Since(t0) > 5*time.Minute {
				t.Fatalf("instance not ready after %v:\n%s", time.Since(t0), s.Output())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	indexMS := func(i int) string {
		b, _ := os.ReadFile(filepath.Join(e.Dir, "logs", itoa(i), "app.log"))
		m := regexp.MustCompile(`"msg":"index loaded"[^\n]*"ms":(\d+)`).FindAllSubmatch(b, -1)
		if len(m) == 0 {
			return "?"
		}
		return string(m[len(m)-1][1])
	}
	stop := func(s *faulttest.Server) {
		s.Signal(syscall.SIGTERM)
		s.Wait(30 * time.Second)
	}

	if strings.Contains(phases, "startup") {
		for rep := 0; rep < 2; rep++ {
			s, d := startOne()
			t.Logf("BENCH startup %d refs run %d: process start to /readyz 200 in %v (index loaded in %s ms), load average %s", refs, rep+1, d.Round(10*time.Millisecond), indexMS(n-1), loadavg())
			t.Logf("start-up log:\n%s", startupTimeline(filepath.Join(e.Dir, "logs", itoa(n-1), "app.log")))
			stop(s)
		}
	}

	var a, b *faulttest.Server
	if strings.Contains(phases, "follow") || strings.Contains(phases, "load") {
		a, _ = startOne()
		b, _ = startOne()
	}
	if strings.Contains(phases, "follow") {
		cl := faulttest.NewClient()
		faulttest.Login(t, cl, a.URL, "admin1")
		cb := faulttest.NewClient()
		faulttest.Login(t, cb, b.URL, "admin1")
		photo := faulttest.ReadFile(t, photos[0])
		faulttest.MustSearch(t, cb, b.URL, photo, 5) // warm B's model
		var delays, searches []time.Duration
		for i := 0; i < 50; i++ {
			// Unique bytes (trailing data after the JPEG's end marker), same face.
			data := append(append([]byte{}, photo...), []byte(fmt.Sprintf("bench-%d-%d", i, time.Now().UnixNano()))...)
			body, ct := faulttest.Multipart(nil, map[string][]faulttest.NamedFile{"photos": {{Name: "p.jpg", Data: data}}})
			req, _ := http.NewRequest(http.MethodPost, a.URL+"/api/v1/references", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			status, text, err := faulttest.Do(cl, req)
			if err != nil || status != http.StatusCreated {
				t.Fatalf("upload %d on A: %d %v\n%s", i, status, err, tail(text, 800))
			}
			uploaded := time.Now()
			var up struct {
				Results []struct {
					Reference struct {
						ID int64 `json:"id"`
					} `json:"reference"`
				} `json:"results"`
			}
			if err := json.Unmarshal([]byte(text), &up); err != nil || len(up.Results) != 1 {
				t.Fatalf("upload %d: %v %s", i, err, tail(text, 800))
			}
			id := up.Results[0].Reference.ID
			for {
				s0 := time.Now()
				res := faulttest.MustSearch(t, cb, b.URL, photo, i+10)
				searches = append(searches, time.Since(s0))
				found := false
				for _, c := range res.Candidates {
					found = found || c.ReferenceID == id
				}
				if found {
					delays = append(delays, s0.Sub(uploaded))
					break
				}
				if time.Since(uploaded) > 30*time.Second {
					t.Fatalf("upload %d (reference %d) not searchable on B after 30 s", i, id)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("BENCH follow %d refs: insert on A to searchable on B over %d uploads: p50 %v, p99 %v, max %v (a search on B took p50 %v: the resolution), load average %s",
			refs, len(delays), pct(delays, 50), pct(delays, 99), pct(delays, 100), pct(searches, 50), loadavg())
	}

	if strings.Contains(phases, "load") {
		nginx := lookTool(t, "nginx", "/usr/sbin/nginx")
		c, _ := startOne()
		sketchDir := filepath.Dir(sketches[0])
		loadVia := func(label string, servers []*faulttest.Server) {
			var addrs []string
			for _, s := range servers {
				addrs = append(addrs, s.Addr)
			}
			httpsPort := freePort(t)
			env := setupNginx(t, nginxRewrite{httpPort: freePort(t), httpsPort: httpsPort, instances: addrs})
			startNginx(t, nginx, env)
			tlsAddr := "127.0.0.1:" + itoa(httpsPort)
			waitFor(t, 15*time.Second, "nginx", func() (bool, string) {
				conn, err := net.DialTimeout("tcp", tlsAddr, time.Second)
				if err != nil {
					return false, err.Error()
				}
				conn.Close()
				return true, ""
			})
			jsonOut := filepath.Join(t.TempDir(), "load.json")
			out := runLT("-url", "https://"+nginxHost, "-connect", tlsAddr, "-cacert", filepath.Join(env.dir, "tls", "fullchain.pem"),
				"-users", "20", "-duration", "40s", "-sketches", sketchDir, "-search-share", "0.2", "-history-share", "0.3",
				"-user-prefix", "load", "-password", password, "-calibrate", "3", "-pid", strconv.Itoa(servers[0].PID()), "-json", jsonOut)
			t.Logf("BENCH load %s over %d instance(s), %d refs, load average %s:\n%s", label, len(servers), refs, loadavg(), out)
			if os.Getenv("SKETCHMATCH_BENCH_OUT") != "" {
				if b, err := os.ReadFile(jsonOut); err == nil {
					os.WriteFile(filepath.Join(os.Getenv("SKETCHMATCH_BENCH_OUT"), "load-"+label+".json"), b, 0o644)
				}
			}
		}
		loadVia("three", []*faulttest.Server{a, b, c})
		stop(b)
		stop(c)
		loadVia("one", []*faulttest.Server{a})
	}
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	if i > len(s) {
		i = len(s)
	}
	return s[i-1].Round(time.Millisecond)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// startupTimeline is the server log's first lines as "+ms message", to see
// where start-up time goes.
func startupTimeline(path string) string {
	b, _ := os.ReadFile(path)
	var out strings.Builder
	var t0 time.Time
	for i, line := range strings.Split(string(b), "\n") {
		if i == 40 || line == "" {
			break
		}
		var rec struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
		}
		var all map[string]any
		json.Unmarshal([]byte(line), &all)
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if t0.IsZero() {
			t0 = rec.Time
		}
		fmt.Fprintf(&out, "  +%5d ms  %s %v\n", rec.Time.Sub(t0).Milliseconds(), rec.Msg, all)
	}
	return out.String()
}
