package quality_test

import (
	"context"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/quality"
)

// devFloors are the acceptance numbers of the shipped defaults (HOG_WEIGHT,
// RERANK_N of internal/config) through the production search path on
// ../shared/eval/dev and its perturbed copy (seed 1): the measured values
// minus 0.01 (see TestMeasure for the whole table).
var devFloors = []struct {
	name      string
	perturbed bool
	mode      quality.CalibrationMode
	rank1     float64
	rank10    float64
	prefix    float64 // every subset's rank-1
}{
	// As shipped: no calibration in the repository.
	{"dev/uncalibrated", false, quality.CalibrationNone, 0.990 - 0.01, 1.000 - 0.01, 0.984 - 0.01},
	// Calibrated as `make run` does, measured honestly: each half of the
	// people searched with a calibration made from the other half.
	{"dev/2-fold", false, quality.CalibrationTwoFold, 1.000 - 0.01, 1.000 - 0.01, 1.000 - 0.01},
	{"perturbed/uncalibrated", true, quality.CalibrationNone, 0.985 - 0.01, 1.000 - 0.01, 0.968 - 0.01},
	{"perturbed/2-fold", true, quality.CalibrationTwoFold, 0.990 - 0.01, 1.000 - 0.01, 0.984 - 0.01},
}

func TestDevEval(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds the dev set twice (808 images); skipped with -short")
	}
	cfg := defaults(t)
	for _, tc := range devFloors {
		t.Run(tc.name, func(t *testing.T) {
			d := devSet(t)
			if tc.perturbed {
				d = perturbedDevSet(t)
			}
			rep, err := quality.Run(context.Background(), d, quality.Options{Encoder: encoder(t), HOGWeight: cfg.HOGWeight, RerankN: cfg.RerankN, Calibration: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range rep.Lines() {
				t.Log(l)
			}
			t.Logf("%s; misses: %s", rep.Describe(), missed(rep))
			for _, c := range rep.Calibrations {
				t.Logf("fold %d calibration: %d pairs, form %s (%s)", c.Fold, c.Pairs, c.Form, c.FormReason)
			}
			if rep.N != 202 || rep.GallerySize != 202 || len(rep.CMC) != quality.DefaultK {
				t.Fatalf("n %d, gallery %d, cmc %d", rep.N, rep.GallerySize, len(rep.CMC))
			}
			if len(rep.Genuine) != rep.N || len(rep.BestImpostor) != rep.N {
				t.Fatalf("%d genuine and %d best-impostor scores for %d probes", len(rep.Genuine), len(rep.BestImpostor), rep.N)
			}
			checkHighBand(t, rep)
			if rep.RankOne < tc.rank1 {
				t.Errorf("rank-1 %.3f, want >= %.3f", rep.RankOne, tc.rank1)
			}
			if rep.RankTen < tc.rank10 {
				t.Errorf("rank-10 %.3f, want >= %.3f", rep.RankTen, tc.rank10)
			}
			if len(rep.Subsets) != 3 {
				t.Fatalf("subsets %+v", rep.Subsets)
			}
			for _, s := range rep.Subsets {
				if s.RankOne < tc.prefix {
					t.Errorf("%s rank-1 %.3f, want >= %.3f", s.Prefix, s.RankOne, tc.prefix)
				}
			}
		})
	}
}
