package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/config"
)

// TestOpsMetricsAndStdoutLog opens an App the way a container runs it
// (LOG_DIR empty: JSON on stdout) without a model, and reads the
// operational metrics the alert rules use.
func TestOpsMetricsAndStdoutLog(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"DATABASE_PATH":    filepath.Join(dir, "data", "sm.db"),
		"REFERENCE_FOLDER": filepath.Join(dir, "refs"),
		"MODELS_DIR":       filepath.Join(dir, "models"),
		"LOG_DIR":          "",
	}
	cfg, err := config.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	ctx := context.Background()
	a, err := Open(ctx, cfg, Options{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	t.Run("JSONOnStdout", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec["level"] != "WARN" {
			t.Fatalf("stdout is not JSON log lines: %q (%v)", stdout.String(), err)
		}
		if stderr.Len() != 0 {
			t.Fatalf("stderr should stay empty, got %q", stderr.String())
		}
	})

	m := a.NewOpsMetrics(ctx)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	for _, act := range []string{audit.ActionLoginFailed, audit.ActionLoginFailed, audit.ActionLockout} {
		if err := a.Audit.Record(ctx, audit.Entry{Username: "mallory", Action: act, Outcome: audit.OutcomeFailure}); err != nil {
			t.Fatal(err)
		}
	}
	m.VerifyAudit(ctx)

	// The text exposition, as Prometheus scrapes it; labels other than
	// the version ones are kept as {name=value}.
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	got := map[string]float64{}
	line := regexp.MustCompile(`^(\w+)(?:\{(.*)\})? (\S+)$`)
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		mm := line.FindStringSubmatch(l)
		if mm == nil {
			continue
		}
		key := mm[1]
		for _, lp := range label.FindAllStringSubmatch(mm[2], -1) {
			if lp[1] != "goversion" && lp[1] != "version" {
				key += "{" + lp[1] + "=" + lp[2] + "}"
			}
		}
		got[key], _ = strconv.ParseFloat(mm[3], 64)
	}
	for key, want := range map[string]float64{
		"sketchmatch_ready{component=database}":                1,
		"sketchmatch_ready{component=model}":                   0,
		"sketchmatch_audit_chain_ok":                           1,
		"sketchmatch_audit_chain_rows":                         3,
		"sketchmatch_audit_events_total{action=login_failed}":  2,
		"sketchmatch_audit_events_total{action=lockout}":       1,
		"sketchmatch_audit_events_total{action=search}":        0,
		"sketchmatch_calibration_timestamp_seconds":            0,
		"sketchmatch_gallery_references{state=all}":            0,
		"sketchmatch_build_info":                               1,
		"sketchmatch_audit_chain_verify_errors_total":          0,
		"sketchmatch_calibration_bands":                        0,
		"sketchmatch_gallery_references{state=indexed}":        0,
		"sketchmatch_gallery_reindexing":                       0,
		"sketchmatch_audit_events_total{action=login}":         0,
		"sketchmatch_audit_events_total{action=user_create}":   0,
		"sketchmatch_audit_events_total{action=reference_add}": 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
	for _, vol := range []string{"database", "references"} {
		if got["sketchmatch_filesystem_avail_bytes{volume="+vol+"}"] <= 0 || got["sketchmatch_filesystem_size_bytes{volume="+vol+"}"] <= 0 {
			t.Errorf("no file-system space for the %s volume: %v", vol, got)
		}
	}
	if got["sketchmatch_database_size_bytes"] <= 0 {
		t.Error("sketchmatch_database_size_bytes is 0")
	}
	if _, ok := got["sketchmatch_model_info{model=}"]; ok {
		t.Error("model_info present without a model")
	}
}
