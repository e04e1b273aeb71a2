package quality_test

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/hog"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/quality"
)

// TestMeasure prints the configuration table of the quality issue: every
// calibration mode × HOG weight on dev and perturbed dev, through the
// production path. Opt-in (about ten minutes on 2 cores):
// SKETCHMATCH_MEASURE=1, with SKETCHMATCH_MEASURE_WEIGHTS=0,0.5,1 and
// SKETCHMATCH_MEASURE_MODES=none,2-fold to choose, and
// SKETCHMATCH_MEASURE_OUT=DIR to keep every run's JSON report (for
// `sketchmatch eval --compare`).
func TestMeasure(t *testing.T) {
	if os.Getenv("SKETCHMATCH_MEASURE") == "" {
		t.Skip("set SKETCHMATCH_MEASURE=1 to print the configuration table")
	}
	weights := []float64{0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3}
	if v := os.Getenv("SKETCHMATCH_MEASURE_WEIGHTS"); v != "" {
		weights = nil
		for _, f := range strings.Split(v, ",") {
			w, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			weights = append(weights, w)
		}
	}
	modes := []quality.CalibrationMode{quality.CalibrationNone, quality.CalibrationTwoFold, quality.CalibrationInSample}
	if v := os.Getenv("SKETCHMATCH_MEASURE_MODES"); v != "" {
		modes = nil
		for _, m := range strings.Split(v, ",") {
			modes = append(modes, quality.CalibrationMode(m))
		}
	}
	enc := encoder(t)
	cfg := defaults(t)
	seed := uint64(perturbSeed)
	sets := []struct {
		name string
		d    *quality.Dataset
		seed *uint64
	}{{"dev", devSet(t), nil}, {"perturbed", perturbedDevSet(t), &seed}}
	var rows []string
	for _, set := range sets {
		for _, m := range modes {
			for _, w := range weights {
				start := time.Now()
				name := fmt.Sprintf("%s, %s calibration, HOG weight %g", set.name, m, w)
				r, err := quality.Run(context.Background(), set.d, quality.Options{Encoder: enc, HOGWeight: w, RerankN: cfg.RerankN, Calibration: m, Name: name, PerturbSeed: set.seed})
				if err != nil {
					t.Fatal(err)
				}
				if dir := os.Getenv("SKETCHMATCH_MEASURE_OUT"); dir != "" {
					if err := r.WriteJSON(filepath.Join(dir, fmt.Sprintf("%s-%s-w%g.json", set.name, m, w))); err != nil {
						t.Fatal(err)
					}
				}
				sub := map[string]float64{}
				for _, s := range r.Subsets {
					sub[s.Prefix] = s.RankOne
				}
				row := fmt.Sprintf("| %s | %s | %g | %.3f (%d) | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |", set.name, m, w, r.RankOne, r.N-int(r.RankOne*float64(r.N)+0.5),
					r.RankFive, r.RankTen, sub["cuhk"], sub["ar"], sub["xm2vts"], median(r.Genuine), median(r.BestImpostor), dprime(r.Genuine, r.BestImpostor))
				rows = append(rows, row)
				hits, misses := enc.Stats()
				t.Logf("%s  [%.1fs, cache %d/%d] %s", row, time.Since(start).Seconds(), hits, misses, missed(r))
			}
		}
	}
	t.Logf("\n| set | calibration | HOG weight | rank-1 (misses) | rank-5 | rank-10 | r1 cuhk | r1 ar | r1 xm2vts | median genuine | median best impostor | d' |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n%s", strings.Join(rows, "\n"))
}

// dprime is the separation of two score distributions in pooled standard
// deviations: comparable across HOG weights, which change the score scale.
func dprime(a, b []float64) float64 {
	mv := func(x []float64) (m, v float64) {
		for _, f := range x {
			m += f / float64(len(x))
		}
		for _, f := range x {
			v += (f - m) * (f - m) / float64(len(x)-1)
		}
		return m, v
	}
	ma, va := mv(a)
	mb, vb := mv(b)
	return (ma - mb) / math.Sqrt((va+vb)/2)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func missed(r *quality.Report) string {
	var out []string
	for _, p := range r.Probes {
		if p.Rank != 1 {
			out = append(out, fmt.Sprintf("%s@%d", p.ID, p.Rank))
		}
	}
	return strings.Join(out, " ")
}

// TestHOGDiagnostic (opt-in with SKETCHMATCH_MEASURE=1) compares HOG-only
// identification on the production descriptor (the 112x112 aligned crop)
// with fixed boxes on the pre-aligned CUFS images: the box the aligned crop
// corresponds to, BASELINES.md's HOG box (more hair and outline), and a
// wider box. It tells whether a wider aligned crop would help HOG.
func TestHOGDiagnostic(t *testing.T) {
	if os.Getenv("SKETCHMATCH_MEASURE") == "" {
		t.Skip("set SKETCHMATCH_MEASURE=1")
	}
	enc := encoder(t)
	for _, set := range []struct {
		name string
		d    *quality.Dataset
	}{{"dev", devSet(t)}, {"perturbed", perturbedDevSet(t)}} {
		photos := decodeAll(t, set.d.Photos)
		sketches := decodeAll(t, set.d.Sketches)
		pe, err := enc.EmbedBatch(context.Background(), photos)
		if err != nil {
			t.Fatal(err)
		}
		se, err := enc.EmbedBatch(context.Background(), sketches)
		if err != nil {
			t.Fatal(err)
		}
		desc := func(embs []*embed.Embedding) [][]float32 {
			out := make([][]float32, len(embs))
			for i, e := range embs {
				out[i] = hog.Compute(e.Aligned)
			}
			return out
		}
		t.Logf("%s HOG-only, aligned 112x112 crop (production): %s", set.name, hogRank(set.d, desc(pe), desc(se)))
		if set.name != "dev" {
			continue
		}
		for _, box := range []struct {
			name string
			r    image.Rectangle
		}{
			{"arc159 box (21,52)-(180,211), the aligned crop's region", image.Rect(21, 52, 180, 211)},
			{"BASELINES box (30,40)-(170,220) squashed to 112x112", image.Rect(30, 40, 170, 220)},
			{"wider square (5,35)-(195,225)", image.Rect(5, 35, 195, 225)},
			{"upper face + hair square (21,20)-(180,179)", image.Rect(21, 20, 180, 179)},
		} {
			crop := func(imgs []image.Image) [][]float32 {
				out := make([][]float32, len(imgs))
				for i, im := range imgs {
					g := image.NewGray(image.Rect(0, 0, box.r.Dx(), box.r.Dy()))
					draw.Draw(g, g.Rect, im, box.r.Min, draw.Src)
					out[i] = hog.Compute(g)
				}
				return out
			}
			t.Logf("%s HOG-only, fixed %s: %s", set.name, box.name, hogRank(set.d, crop(photos), crop(sketches)))
		}
	}
}

func decodeAll(t *testing.T, ims []quality.Image) []image.Image {
	t.Helper()
	out := make([]image.Image, len(ims))
	for i, im := range ims {
		img, _, err := imagefile.Decode(im.Data, imagefile.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = img
	}
	return out
}

func hogRank(d *quality.Dataset, photos, sketches [][]float32) string {
	idx := map[string]int{}
	for i, p := range d.Photos {
		idx[p.ID] = i
	}
	hits := map[string]int{}
	n := map[string]int{}
	for si, s := range d.Sketches {
		ti, ok := idx[s.ID]
		if !ok {
			continue
		}
		ts := hog.Cosine(sketches[si], photos[ti])
		rank := 1
		for pi := range photos {
			if pi != ti && hog.Cosine(sketches[si], photos[pi]) > ts {
				rank++
			}
		}
		for _, k := range []string{"all", quality.Prefix(s.ID)} {
			n[k]++
			if rank == 1 {
				hits[k]++
			}
		}
	}
	r := func(k string) float64 { return float64(hits[k]) / float64(max(1, n[k])) }
	return fmt.Sprintf("rank-1 %.3f (cuhk %.3f, ar %.3f, xm2vts %.3f)", r("all"), r("cuhk"), r("ar"), r("xm2vts"))
}
