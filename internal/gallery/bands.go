package gallery

import (
	"fmt"
	"math"
	"sort"
)

// Bands turn a score into an honest statement about how often a different
// person reaches such a score in a gallery of the size being searched. The
// statement comes from the calibration's impostor scores (every score a
// different person got in the held-out calibration searches): their upper
// tail gives q(s), the chance that one different person scores at least s,
// and in a gallery of M references the best different person reaches s
// with probability 1 - (1 - q(s))^M. Bands never say a candidate *is* the
// person.
type Bands struct {
	HOGWeight float64 `json:"hog_weight"` // the re-ranking weight the scores were measured with
	Searches  int     `json:"searches"`   // calibration searches the bands come from
	// CalibrationGallery is the gallery size of those searches.
	CalibrationGallery int `json:"calibration_gallery"`
	// Impostor is the fitted impostor-score distribution (nil in bands
	// stored before it existed: they are not shown).
	Impostor *ImpostorModel `json:"impostor,omitempty"`

	// Kept from the earlier form (measured on the calibration gallery
	// only): the score at and above which calibration #1s were the true
	// person in HighPrecision of searches, and the median best-impostor
	// score. Recorded in the calibration's audit row and eval reports;
	// they decide no band.
	High          float64 `json:"high"`
	HighPrecision float64 `json:"high_precision"`
	Low           float64 `json:"low"`
}

// ImpostorModel is the survival function of a single different person's
// score: empirical (Points) where the calibration saw enough scores, and
// above Threshold a generalised Pareto tail fitted to the exceedances
// (the standard model of a distribution's upper tail, by probability-
// weighted moments), which is where a large gallery's best impostor lives.
type ImpostorModel struct {
	Scores    int     `json:"scores"`    // impostor scores the model was fitted on
	Threshold float64 `json:"threshold"` // u: the tail starts here
	TailShare float64 `json:"tail_share"`
	Scale     float64 `json:"scale"` // sigma of the generalised Pareto tail
	// Shape is xi of the tail (0: exponential; > 0 heavier; < 0 bounded).
	// It is kept >= MinShape so a short calibration never claims the
	// impostor scores stop at some value.
	Shape float64 `json:"shape"`
	// Points are (score, share of impostor scores >= score), ascending
	// in score, at and below Threshold.
	Points [][2]float64 `json:"points"`
}

// Band labels. The thresholds are on the chance that the best different
// person in the gallery searched scores at least as high.
const (
	BandHigh = "high"
	BandMid  = "mid"
	BandLow  = "low"
	// HighFalseRate: "high" means a different person scores this high in
	// at most 1 search in 100 of a gallery this size.
	HighFalseRate = 0.01
	// LowFalseRate: "low" means a different person scores this high in at
	// least half of the searches of a gallery this size.
	LowFalseRate = 0.5
	// minTail is the fewest exceedances the tail is fitted on.
	minTail = 50
	// MinShape bounds the fitted tail shape from below (see ImpostorModel).
	MinShape = -0.1
)

// FitImpostors fits the impostor model to scores, the impostor scores of
// calibration searches, total the number of impostor comparisons made
// (scores may hold only the top of each search: every impostor score at or
// above complete was kept, those below it may not have been).
func FitImpostors(scores []float64, total int, complete float64) (*ImpostorModel, error) {
	s := append([]float64(nil), scores...)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	// Only the scores at or above complete are a full count.
	n := sort.Search(len(s), func(i int) bool { return s[i] < complete })
	if n < minTail || total < minTail {
		return nil, fmt.Errorf("need at least %d impostor scores to fit the tail, have %d", minTail, n)
	}
	// The tail: the top 1% of all impostor scores (at least minTail, at
	// most what is complete).
	k := min(n, max(minTail, total/100))
	u := s[k-1]
	shape, scale := fitGPD(s[:k], u)
	m := &ImpostorModel{Scores: total, Threshold: u, TailShare: float64(k) / float64(total), Scale: scale, Shape: shape}
	// Empirical points from u down to the lowest complete score.
	const npts = 32
	for i := 0; i < npts; i++ {
		j := k - 1 + (n-k)*i/(npts-1)
		if j >= n {
			j = n - 1
		}
		p := [2]float64{s[j], float64(j+1) / float64(total)}
		if len(m.Points) > 0 && m.Points[len(m.Points)-1][0] == p[0] {
			continue
		}
		m.Points = append(m.Points, p)
	}
	sort.Slice(m.Points, func(i, j int) bool { return m.Points[i][0] < m.Points[j][0] })
	return m, nil
}

// fitGPD fits a generalised Pareto distribution to the exceedances over u
// of top (descending) by probability-weighted moments (Hosking & Wallis
// 1987): with a0 the mean excess and a1 = mean of y_(i)·(1 - p_i), the
// shape k = a0/a1 - 2 (xi = -k) and scale sigma = a0·(1 + k).
func fitGPD(top []float64, u float64) (xi, sigma float64) {
	n := len(top)
	var a0, a1 float64
	for i := 0; i < n; i++ {
		y := top[n-1-i] - u // ascending
		p := (float64(i+1) - 0.35) / float64(n)
		a0 += y
		a1 += y * (1 - p)
	}
	a0 /= float64(n)
	a1 /= float64(n)
	if a0 <= 0 || a1 <= 0 || a0-2*a1 <= 0 {
		return 0, max(a0, 1e-9)
	}
	k := a0/(a0-2*a1) - 2
	xi = max(-k, MinShape)
	xi = min(xi, 1)
	// Refit the scale for the clamped shape so the mean excess stays right
	// (mean of a GPD: sigma / (1 - xi)).
	sigma = a0 * (1 - xi)
	return xi, max(sigma, 1e-9)
}

// Survival is q(s): the chance that one different person scores >= s.
// Below the lowest complete point it answers that point's share, a lower
// bound.
func (m *ImpostorModel) Survival(s float64) float64 {
	if s >= m.Threshold {
		y := (s - m.Threshold) / m.Scale
		if math.Abs(m.Shape) < 1e-9 {
			return m.TailShare * math.Exp(-y)
		}
		base := 1 + m.Shape*y
		if base <= 0 {
			return 0
		}
		return m.TailShare * math.Pow(base, -1/m.Shape)
	}
	pts := m.Points
	i := sort.Search(len(pts), func(i int) bool { return pts[i][0] >= s })
	switch {
	case i == 0:
		return pts[0][1]
	case i >= len(pts):
		return m.TailShare
	}
	// Interpolate log q between the neighbouring points.
	a, b := pts[i-1], pts[i]
	t := (s - a[0]) / (b[0] - a[0])
	return math.Exp(math.Log(a[1]) + t*(math.Log(b[1])-math.Log(a[1])))
}

// FalseRate is the chance that, in a gallery of m references none of which
// is the person, the best one scores at least s.
func (m *ImpostorModel) FalseRate(s float64, galleryM int) float64 {
	q := m.Survival(s)
	if galleryM < 1 {
		galleryM = 1
	}
	// 1 - (1-q)^M, accurate for tiny q.
	return -math.Expm1(float64(galleryM) * math.Log1p(-math.Min(q, 1-1e-16)))
}

// ComputeBands derives bands from held-out calibration searches: genuine
// (the true person's score) and bestImpostor (the best different person's
// score) per search, and the impostor scores themselves (see
// FitImpostors). precision sets the earlier form's High.
func ComputeBands(genuine, bestImpostor []float64, imp ImpostorSample, precision, hogWeight float64) (*Bands, error) {
	if len(genuine) < 10 || len(bestImpostor) < 10 {
		return nil, fmt.Errorf("need at least 10 calibration searches, have %d", min(len(genuine), len(bestImpostor)))
	}
	model, err := FitImpostors(imp.Scores, imp.Total, imp.Complete)
	if err != nil {
		return nil, err
	}
	b := &Bands{HOGWeight: hogWeight, Searches: len(genuine), CalibrationGallery: imp.Gallery, Impostor: model}
	b.High, b.HighPrecision, b.Low = pooledThresholds(genuine, bestImpostor, precision)
	return b, nil
}

// ImpostorSample is what FitImpostors needs from calibration searches.
type ImpostorSample struct {
	Scores   []float64 // impostor scores kept
	Total    int       // impostor comparisons made
	Complete float64   // every impostor score >= this was kept
	Gallery  int       // the calibration gallery's size
}

// pooledThresholds is the earlier, gallery-size-blind form of the bands:
// High is the smallest threshold at which at least precision of the
// calibration scores at or above it were genuine and at most a share
// 1-precision of the best-impostor scores reach it; Low the median best
// impostor.
func pooledThresholds(genuine, bestImpostor []float64, precision float64) (high, highPrec, low float64) {
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
	high, highPrec = all[0].v+1e-9, 1.0
	g, n := 0, 0
	for i, s := range all {
		n++
		if s.genuine {
			g++
		}
		if i+1 < len(all) && all[i+1].v == s.v {
			continue
		}
		if p := float64(g) / float64(n); p >= precision {
			high, highPrec = s.v, p
		}
	}
	imp := append([]float64(nil), bestImpostor...)
	sort.Float64s(imp)
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
	low = imp[len(imp)/2]
	if low > high {
		low = high
	}
	return high, highPrec, low
}

// FalseRate is the chance that the best different person in a gallery of
// galleryM references scores at least score (NaN without a model).
func (b *Bands) FalseRate(score float64, galleryM int) float64 {
	if b == nil || b.Impostor == nil {
		return math.NaN()
	}
	return b.Impostor.FalseRate(score, galleryM)
}

// Classify returns the band of score in a gallery of galleryM references
// ("" without bands).
func (b *Bands) Classify(score float64, galleryM int) string {
	r := b.FalseRate(score, galleryM)
	switch {
	case math.IsNaN(r):
		return ""
	case r <= HighFalseRate:
		return BandHigh
	case r >= LowFalseRate:
		return BandLow
	}
	return BandMid
}

// Describe is the sentence shown beside a candidate: how often a different
// person scores this high in a gallery of this size.
func (b *Bands) Describe(score float64, galleryM int) string {
	r := b.FalseRate(score, galleryM)
	if math.IsNaN(r) {
		return ""
	}
	return fmt.Sprintf("In a gallery of %d references, a different person scores this high in %s.", galleryM, oneIn(r))
}

// oneIn words a probability as "about 1 search in N".
func oneIn(r float64) string {
	switch {
	case r >= 0.95:
		return "nearly every search"
	case r >= 0.5:
		return fmt.Sprintf("about %.0f searches in 10", math.Round(r*10))
	case r < 1e-4:
		return "fewer than 1 search in 10 000"
	}
	n := 1 / r
	switch {
	case n < 10:
		n = math.Round(n)
	case n < 100:
		n = math.Round(n/5) * 5
	case n < 1000:
		n = math.Round(n/50) * 50
	default:
		n = math.Round(n/500) * 500
	}
	return fmt.Sprintf("about 1 search in %s", groupThousands(int(n)))
}

func groupThousands(n int) string {
	s := fmt.Sprint(n)
	if n < 10000 {
		return s
	}
	return s[:len(s)-3] + " " + s[len(s)-3:]
}

// ThresholdFor is the lowest score whose band is "high" (want =
// HighFalseRate) or not "low" (want = LowFalseRate) in a gallery of
// galleryM references, for the Quality page's legend.
func (b *Bands) ThresholdFor(want float64, galleryM int) float64 {
	if b == nil || b.Impostor == nil {
		return math.NaN()
	}
	lo, hi := -1.0, 2.0
	for i := 0; i < 60; i++ {
		mid := (lo + hi) / 2
		if b.FalseRate(mid, galleryM) <= want {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
