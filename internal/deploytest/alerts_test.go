package deploytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/faulttest"
)

// alertNames are the alerts defined in deploy/prometheus/alerts.yml.
func alertNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s*- alert:\s*(\S+)\s*$`).FindAllStringSubmatch(readRepoFile(t, "deploy/prometheus/alerts.yml"), -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatal("no alerts found in deploy/prometheus/alerts.yml")
	}
	return names
}

// TestAlertRules checks the shipped rules and example configuration with
// promtool and runs the rule unit tests; every alert must have a unit test
// and a runbook entry in DEPLOYMENT.md.
func TestAlertRules(t *testing.T) {
	names := alertNames(t)
	t.Run("EveryAlertTestedAndDocumented", func(t *testing.T) {
		tests := readRepoFile(t, "deploy/prometheus/alerts_test.yml")
		doc := readRepoFile(t, "DEPLOYMENT.md")
		for _, n := range names {
			if !regexp.MustCompile(`(?m)alertname:\s*` + n + `\s*$`).MatchString(tests) {
				t.Errorf("alert %s has no promtool unit test in deploy/prometheus/alerts_test.yml", n)
			}
			if !strings.Contains(doc, "**"+n+"**") {
				t.Errorf("alert %s has no runbook paragraph (**%s**) in DEPLOYMENT.md", n, n)
			}
		}
	})

	promtool := lookTool(t, "promtool")
	t.Run("DashboardQueriesParse", func(t *testing.T) {
		// Every panel query of the Grafana dashboard, with its variables
		// filled in, as a recording rule: promtool parses the PromQL.
		var dash struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal([]byte(readRepoFile(t, "deploy/grafana/sketchmatch.json")), &dash); err != nil {
			t.Fatalf("deploy/grafana/sketchmatch.json: %v", err)
		}
		fill := strings.NewReplacer("$instance", ".*", "$__rate_interval", "5m")
		var b strings.Builder
		b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
		n := 0
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				q, _ := json.Marshal(fill.Replace(tg.Expr)) // a JSON string is a YAML string
				fmt.Fprintf(&b, "      - record: dashboard:panel_%d\n        expr: %s\n", n, q)
				n++
			}
		}
		if n < 10 {
			t.Fatalf("only %d queries in the dashboard", n)
		}
		f := filepath.Join(t.TempDir(), "dashboard-rules.yml")
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput(); err != nil {
			t.Fatalf("dashboard queries do not parse: %v\n%s", err, out)
		}
	})
	dir := filepath.Join(repoRoot(t), "deploy", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"check", "config", "prometheus.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		t.Run(strings.Join(args[:2], "-"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, promtool, args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

// TestAlertReadinessFiresEndToEnd: a real Prometheus (Debian's package, on
// loopback, in a temp dir) scrapes a real `sketchmatch serve` with the
// shipped rules. While the model is loaded SketchMatchNotReady stays quiet;
// the server is then restarted on the same port with the model gone, and
// the alert must go pending, then firing within its for: window (1m) plus
// a few scrape and evaluation rounds.
func TestAlertReadinessFiresEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the Prometheus end-to-end test in -short mode (it waits for the alert's 1m for: window)")
	}
	prom := lookTool(t, "prometheus")
	e := faulttest.NewEnv(t)
	appPort := freePort(t)

	dir := t.TempDir()
	rules := readRepoFile(t, "deploy/prometheus/alerts.yml")
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	// The shipped alerts verbatim; only the intervals are shortened so that
	// the test waits for the for: window and little else.
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: sketchmatch
    static_configs:
      - targets: ["127.0.0.1:%d"]
`, appPort)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promPort := freePort(t)
	promURL := fmt.Sprintf("http://127.0.0.1:%d", promPort)
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))
	promLog := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = promLog, promLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
		}
	})

	healthy := e.StartAt(t, appPort)
	healthy.WaitHealthy(t, time.Minute)
	waitFor(t, 90*time.Second, "Prometheus to scrape sketchmatch_ready{component=\"model\"} == 1", func() (bool, string) {
		v, err := promQuery(promURL, `sketchmatch_ready{component="model"}`)
		return err == nil && v == "1", fmt.Sprintf("value %q, err %v", v, err)
	})
	if st := alertState(t, promURL, "SketchMatchNotReady"); st != "" {
		t.Fatalf("SketchMatchNotReady is %s while the model is loaded", st)
	}
	t.Run("RulesAndDashboardUseExportedMetrics", func(t *testing.T) {
		resp, err := http.Get(healthy.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		exported := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)`).FindAllStringSubmatch(string(body), -1) {
			exported[m[1]] = true
			if m[2] == "histogram" {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					exported[m[1]+suffix] = true
				}
			}
		}
		metricName := regexp.MustCompile(`sketchmatch_[a-z_]+`)
		for _, f := range []string{"deploy/prometheus/alerts.yml", "deploy/grafana/sketchmatch.json"} {
			for _, name := range metricName.FindAllString(readRepoFile(t, f), -1) {
				if !exported[name] {
					t.Errorf("%s uses %s, which the server does not export", f, name)
				}
			}
		}
	})

	// Model made unavailable: the same server restarted without its model.
	healthy.Signal(os.Interrupt)
	if _, ok := healthy.Wait(15 * time.Second); !ok {
		t.Fatal("server did not stop on SIGINT")
	}
	e.Vars["MODELS_DIR"] = t.TempDir() // empty: no model preset
	broken := e.StartAt(t, appPort)
	broken.WaitHealthy(t, time.Minute)
	broke := time.Now()
	var pendingAfter time.Duration
	waitFor(t, 60*time.Second+45*time.Second, "SketchMatchNotReady to fire", func() (bool, string) {
		st := alertState(t, promURL, "SketchMatchNotReady")
		if st == "pending" && pendingAfter == 0 {
			pendingAfter = time.Since(broke)
		}
		return st == "firing", "state " + st
	})
	firedAfter := time.Since(broke)
	if pendingAfter == 0 || firedAfter < 60*time.Second {
		t.Errorf("fired %s after the model went away (pending seen after %s): the 1m for: window was not honoured", firedAfter, pendingAfter)
	}
	t.Logf("SketchMatchNotReady pending after %s, firing after %s", pendingAfter.Round(time.Second), firedAfter.Round(time.Second))
}

// promQuery returns the value of a one-series instant query ("" if none).
func promQuery(base, q string) (string, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	if len(out.Data.Result) != 1 || len(out.Data.Result[0].Value) != 2 {
		return "", nil
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	return s, nil
}

// alertState is the state of the named alert with component="model"
// ("", "pending" or "firing").
func alertState(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/alerts")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("/api/v1/alerts: %v\n%s", err, body)
	}
	for _, a := range out.Data.Alerts {
		if a.Labels["alertname"] == name && a.Labels["component"] == "model" {
			return a.State
		}
	}
	return ""
}

// lockedBuffer collects a child's output from two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
