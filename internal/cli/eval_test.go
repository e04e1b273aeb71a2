package cli

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/quality"
	"github.com/sketchmatch/sketchmatch/internal/store"
	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// evalSet copies the first n dev pairs of every subset into a temporary
// folder (never into the repository).
func evalSet(t *testing.T, perSubset int) (photos, sketches string) {
	t.Helper()
	dir := t.TempDir()
	photos, sketches = filepath.Join(dir, "photos"), filepath.Join(dir, "sketches")
	os.MkdirAll(photos, 0o755)
	os.MkdirAll(sketches, 0o755)
	taken := map[string]int{}
	for _, p := range testenv.DevPairs(t) {
		pre := quality.Prefix(p.ID)
		if taken[pre] >= perSubset {
			continue
		}
		taken[pre]++
		for _, c := range [][2]string{{p.Photo, photos}, {p.Sketch, sketches}} {
			b, err := os.ReadFile(c[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(c[1], filepath.Base(c[0])), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return photos, sketches
}

func TestEvalAndCalibrateCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds about 150 images; skipped with -short")
	}
	lib, model := testenv.ORTLibrary(t), testenv.ModelDir(t)
	dir := setup(t)
	t.Setenv("MODELS_DIR", filepath.Dir(model))
	t.Setenv("MODEL", filepath.Base(model))
	t.Setenv("ORT_LIBRARY_PATH", lib)
	photos, sketches := evalSet(t, 8) // 24 pairs

	code, out, errs := run(t, "", "calibrate", "--photos", photos, "--sketches", sketches)
	if code != 0 {
		t.Fatalf("calibrate: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("calibrate:\n%s", out)
	for _, want := range []string{"calibration #1 for model ", "means: photo and sketch mean of 24 pairs", "set sha256 ", "rank-1 on the calibration set", "before ", "held-out ",
		"they depend on the size of the gallery searched", "gallery of  100000: high from "} {
		if !strings.Contains(out, want) {
			t.Fatalf("calibrate output lacks %q:\n%s", want, out)
		}
	}

	// --if-missing: a calibration with bands for this HOG weight exists.
	code, out, errs = run(t, "", "calibrate", "--if-missing", "--photos", photos, "--sketches", sketches)
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("calibrate --if-missing: exit %d\n%s%s", code, out, errs)
	}

	js, plot := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.png")
	code, out, errs = run(t, "", "eval", "--photos", photos, "--sketches", sketches, "--json", js, "--plot", plot)
	if code != 0 {
		t.Fatalf("eval: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("eval:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^rank-1 [01]\.\d{3} rank-5 [01]\.\d{3} rank-10 [01]\.\d{3} n 24$`).MatchString(lines[0]) {
		t.Fatalf("first line %q", lines[0])
	}
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "  ar ") || !strings.HasPrefix(lines[2], "  cuhk ") || !strings.HasPrefix(lines[3], "  xm2vts ") {
		t.Fatalf("per-prefix lines missing:\n%s", out)
	}
	if !strings.Contains(errs, "using calibration #1") {
		t.Fatalf("eval did not use the database's calibration:\n%s", errs)
	}
	rep, err := quality.ReadJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if rep.N != 24 || len(rep.CMC) != 50 || rep.CalibrationID != 1 || rep.ModelID == "" || len(rep.Probes) != 24 || len(rep.BestImpostor) != 24 {
		t.Fatalf("report: n %d cmc %d calibration %d model %q probes %d", rep.N, len(rep.CMC), rep.CalibrationID, rep.ModelID, len(rep.Probes))
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.DecodeConfig(f); err != nil {
		t.Fatalf("plot: %v", err)
	}
	f.Close()

	// Stored for the admin page.
	db, err := store.Open(context.Background(), os.Getenv("DATABASE_PATH"))
	if err != nil {
		t.Fatal(err)
	}
	er, err := db.LatestEvalReport(context.Background(), rep.ModelID)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var stored quality.Report
	if err := json.Unmarshal([]byte(er.Report), &stored); err != nil || er.Summary != lines[0] || len(er.PlotPNG) == 0 {
		t.Fatalf("stored report: summary %q, plot %d bytes, %v", er.Summary, len(er.PlotPNG), err)
	}

	// Compare two runs in one plot.
	js2 := filepath.Join(dir, "none.json")
	if code, out, errs := run(t, "", "eval", "--photos", photos, "--sketches", sketches, "--calibration", "none", "--hog-weight", "0", "--json", js2, "--store=false"); code != 0 {
		t.Fatalf("eval --calibration none: exit %d\n%s%s", code, out, errs)
	}
	cmp := filepath.Join(dir, "cmp.png")
	code, out, errs = run(t, "", "eval", "--compare", js, js2, "--plot", cmp)
	if code != 0 || strings.Count(out, "rank-1 ") != 2 {
		t.Fatalf("compare: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(cmp); err != nil {
		t.Fatal(err)
	}

	t.Run("Usage", func(t *testing.T) {
		for _, args := range [][]string{{"eval"}, {"eval", "--photos", photos}, {"eval", "--photos", photos, "--sketches", sketches, "--calibration", "bogus"},
			{"eval", "--compare", js}, {"calibrate", "--photos", photos}} {
			if code, _, _ := run(t, "", args...); code != 2 {
				t.Errorf("%v: exit %d, want 2", args, code)
			}
		}
	})
}
