package gallery

import (
	"fmt"
	"math"
	"sort"
)

// Bands turn a score into an honest statement about what such scores meant
// in calibration searches (genuine = the true person's score; best impostor =
// the highest score of anyone else in the same search). They never say a
// candidate *is* the person.
type Bands struct {
	HOGWeight float64 `json:"hog_weight"` // the re-ranking weight the scores were measured with
	Searches  int     `json:"searches"`   // calibration searches the bands come from
	// High: at or above this, the score beat the best different person in
	// (nearly) every calibration search.
	High float64 `json:"high"`
	// HighPrecision is the share of calibration searches scoring >= High
	// whose candidate was the true person.
	HighPrecision float64 `json:"high_precision"`
	// Low: below this, scores are typical of a different person (the median
	// best-impostor score).
	Low float64 `json:"low"`
}

// Band labels.
const (
	BandHigh = "high"
	BandMid  = "mid"
	BandLow  = "low"
)

// ComputeBands derives bands from the genuine and best-impostor score
// distributions of calibration searches. High is the smallest threshold at
// which at least precision of the calibration scores at or above it were
// genuine and at most a share 1-precision of the best-impostor scores
// reach it (with precision 1: above every best impostor).
func ComputeBands(genuine, bestImpostor []float64, precision, hogWeight float64) (*Bands, error) {
	if len(genuine) < 10 || len(bestImpostor) < 10 {
		return nil, fmt.Errorf("need at least 10 calibration searches, have %d", min(len(genuine), len(bestImpostor)))
	}
	type sc struct {
		v       float64
		genuine bool
	}
	all := make([]sc, 0, len(genuine)+len(bestImpostor))
	for _, g := range genuine {
		all = append(all, sc{g, true})
	}
	for _, b := range bestImpostor {
		all = append(all, sc{b, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	// Walk down from the top score; keep the lowest threshold whose
	// precision (genuine share among scores >= threshold) stays >= precision.
	high, highPrec := all[0].v+1e-9, 1.0
	g, n := 0, 0
	for i, s := range all {
		n++
		if s.genuine {
			g++
		}
		if i+1 < len(all) && all[i+1].v == s.v {
			continue // thresholds sit between distinct scores
		}
		if p := float64(g) / float64(n); p >= precision {
			high, highPrec = s.v, p
		}
	}
	imp := append([]float64(nil), bestImpostor...)
	sort.Float64s(imp)
	// The pooled precision alone lets High sink into the impostor range
	// when genuine scores are plentiful above it (400 genuine scores cushion
	// 4 impostors at 99 %), so a score typical of the strongest different
	// people would read "high". High is also kept above all but a share
	// 1-precision of the best-impostor scores.
	if m := int(math.Floor((1 - precision) * float64(len(imp)))); m < len(imp) {
		if floor := math.Nextafter(imp[len(imp)-1-m], math.Inf(1)); high < floor {
			high = floor
			g, n := 0, 0
			for _, s := range all {
				if s.v >= high {
					n++
					if s.genuine {
						g++
					}
				}
			}
			highPrec = 1
			if n > 0 {
				highPrec = float64(g) / float64(n)
			}
		}
	}
	low := imp[len(imp)/2]
	if low > high {
		low = high
	}
	return &Bands{HOGWeight: hogWeight, Searches: len(genuine), High: high, HighPrecision: highPrec, Low: low}, nil
}

// Classify returns the band of score ("" without bands).
func (b *Bands) Classify(score float64) string {
	switch {
	case b == nil:
		return ""
	case score >= b.High:
		return BandHigh
	case score < b.Low:
		return BandLow
	}
	return BandMid
}

// Describe is the sentence shown beside a candidate in band.
func (b *Bands) Describe(band string) string {
	switch band {
	case BandHigh:
		return fmt.Sprintf("Scores this high were the true person in %.0f %% of %d calibration searches.", 100*b.HighPrecision, b.Searches)
	case BandMid:
		return "Scores in this range occurred both for the true person and for different people."
	case BandLow:
		return "A score typical of a different person."
	}
	return ""
}
