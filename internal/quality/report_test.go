package quality_test

import (
	"bytes"
	"image/png"
	"math"
	"path/filepath"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/quality"
)

func fakeReport(name string, ranks []int) *quality.Report {
	r := &quality.Report{Name: name, ModelID: "m", K: 50, HOGWeight: 1, Calibration: "none"}
	for i, rank := range ranks {
		s := 0.5
		id := []string{"a-", "b-"}[i%2] + string(rune('0'+i))
		r.Probes = append(r.Probes, quality.Probe{ID: id, Rank: rank, Score: &s})
	}
	quality.Finish(r)
	return r
}

func TestReportNumbers(t *testing.T) {
	r := fakeReport("x", []int{1, 1, 2, 7, 0, 1})
	if got, want := r.Summary(), "rank-1 0.500 rank-5 0.667 rank-10 0.833 n 6"; got != want {
		t.Fatalf("Summary()=%q, want %q", got, want)
	}
	if len(r.CMC) != 50 || r.CMC[49] != 5.0/6 {
		t.Fatalf("CMC %v", r.CMC)
	}
	for i := 1; i < len(r.CMC); i++ {
		if r.CMC[i] < r.CMC[i-1] {
			t.Fatal("CMC decreases")
		}
	}
	lines := r.Lines()
	if len(lines) != 3 || lines[1] != "  a rank-1 0.333 rank-5 0.667 rank-10 0.667 n 3" || lines[2] != "  b rank-1 0.667 rank-5 0.667 rank-10 1.000 n 3" {
		t.Fatalf("Lines()=%q", lines)
	}
}

func TestReportJSONAndPlot(t *testing.T) {
	a := fakeReport("a", []int{1, 1, 2, 7, 0, 1})
	b := fakeReport("", []int{1, 1, 1, 1, 3, 1})
	p := filepath.Join(t.TempDir(), "a.json")
	if err := a.WriteJSON(p); err != nil {
		t.Fatal(err)
	}
	back, err := quality.ReadJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Summary() != a.Summary() || len(back.Probes) != 6 || back.Probes[4].Score == nil || math.Abs(back.CMC[9]-a.CMC[9]) > 0 {
		t.Fatalf("round trip: %+v", back)
	}
	if _, err := quality.ReadJSON(filepath.Join("testdata", "missing.json")); err == nil {
		t.Fatal("reading a missing file succeeded")
	}
	img, err := quality.PlotCMC([]*quality.Report{back, b})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width < 400 || cfg.Height < 250 {
		t.Fatalf("plot %dx%d", cfg.Width, cfg.Height)
	}
	if _, err := quality.PlotCMC(nil); err == nil {
		t.Fatal("an empty plot was drawn")
	}
}
