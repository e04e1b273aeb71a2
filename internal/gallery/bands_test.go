package gallery_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// impostorDist is a synthetic distribution of a single different person's
// score.
type impostorDist struct {
	name string
	draw func(r *rand.Rand) float64
}

var impostorDists = []impostorDist{
	{"normal", func(r *rand.Rand) float64 { return 0.30 + 0.06*r.NormFloat64() }},
	// Skewed to the right (a heavier upper tail): the log-normal shape of
	// cosines of unrelated faces after centring.
	{"skewed", func(r *rand.Rand) float64 { return 0.10 + 0.05*math.Exp(0.45*r.NormFloat64()) }},
	// A mixture: most people far, a few look-alikes closer.
	{"mixture", func(r *rand.Rand) float64 {
		if r.Float64() < 0.05 {
			return 0.42 + 0.05*r.NormFloat64()
		}
		return 0.28 + 0.05*r.NormFloat64()
	}},
}

// calibrationSample simulates held-out calibration searches: probes
// searches in a gallery of n, every impostor's score kept.
func calibrationSample(r *rand.Rand, d impostorDist, probes, n int) gallery.ImpostorSample {
	s := gallery.ImpostorSample{Total: probes * (n - 1), Complete: math.Inf(-1), Gallery: n}
	for i := 0; i < probes*(n-1); i++ {
		s.Scores = append(s.Scores, d.draw(r))
	}
	return s
}

// simulatedFalseRate is the share of galleries of m different people in
// which the best one scores at least each of thresholds.
func simulatedFalseRate(r *rand.Rand, d impostorDist, m, galleries int, thresholds []float64) []float64 {
	hits := make([]int, len(thresholds))
	for g := 0; g < galleries; g++ {
		best := math.Inf(-1)
		for i := 0; i < m; i++ {
			best = max(best, d.draw(r))
		}
		for k, t := range thresholds {
			if best >= t {
				hits[k]++
			}
		}
	}
	out := make([]float64, len(thresholds))
	for k := range hits {
		out[k] = float64(hits[k]) / float64(galleries)
	}
	return out
}

// The estimate of how often a different person reaches a score in a
// gallery of m, fitted on calibration searches in a gallery of 200, is
// checked against a direct simulation of galleries of m, for galleries
// much larger than the calibration's.
func TestFalseRateMatchesSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 40M scores; skipped with -short")
	}
	for _, d := range impostorDists {
		t.Run(d.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 11))
			model, err := gallery.FitImpostors(calibrationSample(r, d, 200, 200).Scores, 200*199, math.Inf(-1))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []int{100, 1000, 10000} {
				galleries := 4000
				if m == 10000 {
					galleries = 1000
				}
				// Thresholds where the model says 50 %, 10 % and 2 %.
				var th []float64
				targets := []float64{0.5, 0.1, 0.02}
				for _, want := range targets {
					b := &gallery.Bands{Impostor: model}
					th = append(th, b.ThresholdFor(want, m))
				}
				sim := simulatedFalseRate(r, d, m, galleries, th)
				for k, want := range targets {
					got := model.FalseRate(th[k], m)
					t.Logf("M=%6d s=%.4f: estimated %.4f, simulated %.4f", m, th[k], got, sim[k])
					if math.Abs(got-want) > 1e-3 {
						t.Errorf("M=%d: ThresholdFor(%.2f) gives a rate of %.4f", m, want, got)
					}
					// Never optimistic: a band must not claim fewer false
					// leads than happen (a factor 1.5 and 0.01 absolute
					// for the simulation's own noise). Pessimism is
					// bounded too: the generalised Pareto tail fitted at
					// the top 1 % of a light (normal) tail extrapolates
					// heavier than it is, measured up to 5x at M = 10 000.
					if sim[k] > got*1.5+0.01 {
						t.Errorf("M=%d s=%.4f: estimated false-lead rate %.4f, simulated %.4f: the band is overconfident", m, th[k], got, sim[k])
					}
					if got > sim[k]*6+0.02 {
						t.Errorf("M=%d s=%.4f: estimated false-lead rate %.4f, simulated %.4f: far too pessimistic", m, th[k], got, sim[k])
					}
				}
			}
		})
	}
}

func TestBandsDependOnGallerySize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	d := impostorDists[0]
	sample := calibrationSample(r, d, 100, 100)
	var gen, best []float64
	for i := 0; i < 100; i++ {
		gen = append(gen, 0.6+0.08*r.NormFloat64())
		best = append(best, 0.45+0.03*r.NormFloat64())
	}
	b, err := gallery.ComputeBands(gen, best, sample, gallery.BandPrecision, 1.5)
	if err != nil {
		t.Fatal(err)
	}
	if b.CalibrationGallery != 100 || b.Searches != 100 || b.HOGWeight != 1.5 || b.Impostor == nil {
		t.Fatalf("bands %+v", b)
	}
	// A score that is a strong lead among 100 people is not among a million.
	s := b.ThresholdFor(gallery.HighFalseRate, 100)
	if got := b.Classify(s+1e-6, 100); got != gallery.BandHigh {
		t.Errorf("in a gallery of 100: %s, want high", got)
	}
	if got := b.Classify(s+1e-6, 1_000_000); got == gallery.BandHigh {
		t.Errorf("in a gallery of 1 000 000 the same score is still high")
	}
	// The thresholds rise with the gallery.
	prev := -1.0
	for _, m := range []int{10, 100, 1000, 10000, 100000} {
		h, l := b.ThresholdFor(gallery.HighFalseRate, m), b.ThresholdFor(gallery.LowFalseRate, m)
		if h <= prev || l >= h {
			t.Errorf("M=%d: high from %.4f, low below %.4f (previous high %.4f)", m, h, l, prev)
		}
		prev = h
	}
	for _, tc := range []struct {
		score float64
		m     int
		band  string
		text  string
	}{
		{0.99, 1000, gallery.BandHigh, "fewer than 1 search in 10 000"},
		{0.30, 1000, gallery.BandLow, "nearly every search"},
	} {
		if got := b.Classify(tc.score, tc.m); got != tc.band {
			t.Errorf("Classify(%.2f, %d) = %s, want %s", tc.score, tc.m, got, tc.band)
		}
		if got := b.Describe(tc.score, tc.m); !strings.Contains(got, tc.text) {
			t.Errorf("Describe(%.2f, %d) = %q, want it to say %q", tc.score, tc.m, got, tc.text)
		}
	}
	var none *gallery.Bands
	if none.Classify(0.99, 10) != "" || none.Describe(0.99, 10) != "" {
		t.Fatal("nil bands classified a score")
	}
	old := &gallery.Bands{High: 0.5, Low: 0.3} // stored before the impostor model
	if old.Classify(0.99, 10) != "" {
		t.Fatal("bands without an impostor model classified a score")
	}
}

func TestFitImpostorsErrors(t *testing.T) {
	if _, err := gallery.FitImpostors([]float64{0.1, 0.2}, 2, math.Inf(-1)); err == nil {
		t.Fatal("a tail fitted on 2 scores")
	}
	// Only the scores above complete count: 1000 scores kept, but only
	// 10 above the completeness line.
	var s []float64
	for i := 0; i < 1000; i++ {
		s = append(s, float64(i)/1000)
	}
	if _, err := gallery.FitImpostors(s, 100000, 0.99); err == nil {
		t.Fatal("a tail fitted on 10 complete scores")
	}
	m, err := gallery.FitImpostors(s, 1000, math.Inf(-1))
	if err != nil {
		t.Fatal(err)
	}
	// Survival is monotone and matches the empirical share where complete.
	prev := 2.0
	for _, x := range []float64{0.2, 0.5, 0.8, 0.95, 0.99, 1.2} {
		q := m.Survival(x)
		if q > prev {
			t.Errorf("survival rises at %.2f: %.4f > %.4f", x, q, prev)
		}
		prev = q
	}
	if q := m.Survival(0.5); math.Abs(q-0.5) > 0.02 {
		t.Errorf("survival(0.5) = %.3f, want about 0.5", q)
	}
	if !sort.Float64sAreSorted([]float64{m.Points[0][0], m.Points[len(m.Points)-1][0]}) {
		t.Error("points not ascending")
	}
}
