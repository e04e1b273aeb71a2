package quality

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Report is the outcome of one evaluation run (`eval --json` writes it).
type Report struct {
	Name      string    `json:"name"` // label of the run in plots
	CreatedAt time.Time `json:"created_at"`
	// Pipeline says what was measured: the production search path with
	// this model, second stage and calibration.
	Pipeline    string  `json:"pipeline"`
	ModelID     string  `json:"model_id"`
	HOGWeight   float64 `json:"hog_weight"`
	RerankN     int     `json:"rerank_n"`
	K           int     `json:"k"`
	Calibration string  `json:"calibration"` // a CalibrationMode
	// CalibrationID is the id, in the real database, of the calibration
	// copied with mode "active" (0 otherwise).
	CalibrationID     int64   `json:"calibration_id,omitempty"`
	CalibrationSource string  `json:"calibration_source,omitempty"`
	PerturbSeed       *uint64 `json:"perturb_seed,omitempty"`

	GallerySize int      `json:"gallery_size"`
	N           int      `json:"n"` // probes scored
	Unmatched   []string `json:"unmatched_sketches,omitempty"`

	RankOne  float64 `json:"rank1"`
	RankFive float64 `json:"rank5"`
	RankTen  float64 `json:"rank10"`
	// CMC[r-1] is the share of probes whose true photo is at rank <= r,
	// for r = 1..K.
	CMC     []float64 `json:"cmc"`
	Subsets []Subset  `json:"subsets,omitempty"`
	Probes  []Probe   `json:"probes"`
	// Genuine holds the true photo's score of every probe whose true
	// photo was among the K candidates; BestImpostor the highest score of
	// a different person in every search. Both use Search's score (the
	// one bands classify).
	Genuine      []float64 `json:"genuine"`
	BestImpostor []float64 `json:"best_impostor"`
	// Calibrations made during the run (modes in-sample and 2-fold): what
	// the calibration set itself reported.
	Calibrations []CalibrationSummary `json:"calibrations,omitempty"`

	// HighBand is how the "high" band held up: of the searches whose #1
	// was in the high band, how many #1s were the true person, against
	// what the band claimed.
	HighBand HighBand `json:"high_band"`

	NoFacePhotos   int     `json:"no_face_photos"`
	NoFaceSketches int     `json:"no_face_sketches"`
	Seconds        float64 `json:"seconds"`
}

// HighBand measures the "high" band's precision: Searches had their #1 in
// the band, Correct of those #1s were the true person. Claimed is what the
// band said on average (1 - the mean chance, stated beside each of those
// #1s, that a different person scores as high in a gallery of that size).
type HighBand struct {
	Searches  int     `json:"searches"`
	Correct   int     `json:"correct"`
	Precision float64 `json:"precision"`
	Claimed   float64 `json:"claimed"`
}

// Subset is the accuracy over the probes of one ID prefix.
type Subset struct {
	Prefix   string  `json:"prefix"`
	N        int     `json:"n"`
	RankOne  float64 `json:"rank1"`
	RankFive float64 `json:"rank5"`
	RankTen  float64 `json:"rank10"`
}

// Probe is one sketch's outcome.
type Probe struct {
	ID string `json:"id"`
	// Rank of the true photo: 1 + the number of candidates scoring
	// strictly higher; 0 when it was not among the K candidates.
	Rank         int      `json:"rank"`
	Score        *float64 `json:"score"`          // the true photo's score; null when not among the K
	BestImpostor *float64 `json:"best_impostor"`  // null when no one else was a candidate
	Band         string   `json:"band,omitempty"` // the band of the true photo's score
	FaceFound    bool     `json:"face_found"`
	Fold         int      `json:"fold,omitempty"` // 2-fold: the fold (1 or 2) whose calibration did not see it
	// TopBand is the band of the #1 candidate, TopFalseRate the chance the
	// band gave that a different person scores as high (null without one).
	TopBand      string   `json:"top_band,omitempty"`
	TopFalseRate *float64 `json:"top_false_rate,omitempty"`
}

// CalibrationSummary is one calibration made during a run.
type CalibrationSummary struct {
	Fold          int     `json:"fold,omitempty"` // 2-fold: the fold it was evaluated on
	Pairs         int     `json:"pairs"`
	RankOneBefore float64 `json:"rank1_before"`
	RankOneAfter  float64 `json:"rank1_after"`
	RankOneHeld   float64 `json:"rank1_heldout"`
	Form          string  `json:"form,omitempty"`        // what the calibration ships (gallery.Form*)
	FormReason    string  `json:"form_reason,omitempty"` // why
	BandHigh      float64 `json:"band_high,omitempty"`
	BandLow       float64 `json:"band_low,omitempty"`
}

// finish computes the summary numbers from Probes.
func (r *Report) finish() {
	r.N = len(r.Probes)
	r.CMC = cmc(r.Probes, r.K)
	r.RankOne, r.RankFive, r.RankTen = at(r.CMC, 1), at(r.CMC, 5), at(r.CMC, 10)
	by := map[string][]Probe{}
	for _, p := range r.Probes {
		if pre := Prefix(p.ID); pre != "" {
			by[pre] = append(by[pre], p)
		}
	}
	r.Subsets = nil
	for pre, ps := range by {
		c := cmc(ps, r.K)
		r.Subsets = append(r.Subsets, Subset{Prefix: pre, N: len(ps), RankOne: at(c, 1), RankFive: at(c, 5), RankTen: at(c, 10)})
	}
	sort.Slice(r.Subsets, func(i, j int) bool { return r.Subsets[i].Prefix < r.Subsets[j].Prefix })
	r.HighBand = HighBand{}
	var claimed float64
	for _, p := range r.Probes {
		if p.TopBand != "high" || p.TopFalseRate == nil {
			continue
		}
		r.HighBand.Searches++
		claimed += 1 - *p.TopFalseRate
		if p.Rank == 1 {
			r.HighBand.Correct++
		}
	}
	if n := r.HighBand.Searches; n > 0 {
		r.HighBand.Precision = float64(r.HighBand.Correct) / float64(n)
		r.HighBand.Claimed = claimed / float64(n)
	}
}

func cmc(ps []Probe, k int) []float64 {
	out := make([]float64, k)
	if len(ps) == 0 {
		return out
	}
	for _, p := range ps {
		if p.Rank >= 1 && p.Rank <= k {
			for r := p.Rank; r <= k; r++ {
				out[r-1]++
			}
		}
	}
	for i := range out {
		out[i] /= float64(len(ps))
	}
	return out
}

func at(c []float64, r int) float64 {
	if len(c) == 0 {
		return 0
	}
	return c[min(r, len(c))-1]
}

// Summary is the one-line result: "rank-1 R1 rank-5 R5 rank-10 R10 n N".
func (r *Report) Summary() string {
	return fmt.Sprintf("rank-1 %.3f rank-5 %.3f rank-10 %.3f n %d", r.RankOne, r.RankFive, r.RankTen, r.N)
}

// Lines is the printed result: the summary, then one line per ID prefix
// when the IDs have the "prefix-" form.
func (r *Report) Lines() []string {
	out := []string{r.Summary()}
	if len(r.Subsets) > 0 {
		w := 0
		for _, s := range r.Subsets {
			w = max(w, len(s.Prefix))
		}
		for _, s := range r.Subsets {
			out = append(out, fmt.Sprintf("  %-*s rank-1 %.3f rank-5 %.3f rank-10 %.3f n %d", w, s.Prefix, s.RankOne, s.RankFive, s.RankTen, s.N))
		}
	}
	return out
}

// Describe is a short description of the configuration, e.g. for plot
// legends and the admin page.
func (r *Report) Describe() string {
	var parts []string
	parts = append(parts, r.ModelID)
	if r.HOGWeight > 0 {
		parts = append(parts, fmt.Sprintf("HOG weight %g", r.HOGWeight))
	} else {
		parts = append(parts, "no HOG re-ranking")
	}
	switch CalibrationMode(r.Calibration) {
	case CalibrationActive:
		if r.CalibrationID != 0 {
			parts = append(parts, fmt.Sprintf("calibration #%d", r.CalibrationID))
		} else {
			parts = append(parts, "uncentred (no calibration)")
		}
	case CalibrationNone:
		parts = append(parts, "uncentred")
	default:
		parts = append(parts, r.Calibration+" calibration")
	}
	if r.PerturbSeed != nil {
		parts = append(parts, fmt.Sprintf("perturbed (seed %d)", *r.PerturbSeed))
	}
	return strings.Join(parts, ", ")
}

// WriteJSON writes r to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(r.CMC) == 0 {
		return nil, fmt.Errorf("%s: not an eval report (no CMC)", path)
	}
	return &r, nil
}
