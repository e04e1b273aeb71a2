package quality

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// CalibrationMode says which per-modality calibration an evaluation runs with.
type CalibrationMode string

const (
	// CalibrationActive copies Options.Active (the real database's
	// calibration of the model) into the temporary database; uncentred
	// when there is none.
	CalibrationActive CalibrationMode = "active"
	// CalibrationNone runs uncentred.
	CalibrationNone CalibrationMode = "none"
	// CalibrationInSample calibrates with the evaluation pairs themselves
	// (optimistic: every probe's own sketch is in the sketch mean).
	CalibrationInSample CalibrationMode = "in-sample"
	// CalibrationTwoFold is cross-calibration: the probes are split in two
	// folds (stratified by ID prefix); each fold is searched with a
	// calibration computed from the other fold's pairs only, so no probe
	// is centred with a mean its own sketch or photo went into.
	CalibrationTwoFold CalibrationMode = "2-fold"
)

// ParseCalibrationMode checks a mode given on the command line.
func ParseCalibrationMode(s string) (CalibrationMode, error) {
	switch m := CalibrationMode(s); m {
	case CalibrationActive, CalibrationNone, CalibrationInSample, CalibrationTwoFold:
		return m, nil
	}
	return "", fmt.Errorf("calibration %q: must be active, none, in-sample or 2-fold", s)
}

// DefaultK is the number of candidates each probe asks for.
const DefaultK = 50

// Options configure Run. The pipeline settings are those of the server
// (internal/config); only the calibration differs by mode.
type Options struct {
	Encoder   gallery.Encoder
	Limits    imagefile.Limits
	HOGWeight float64
	RerankN   int
	K         int // candidates per search (default DefaultK)

	Calibration CalibrationMode     // default CalibrationActive
	Active      *domain.Calibration // the real database's calibration (mode active; may be nil)

	Name        string  // label of the run
	PerturbSeed *uint64 // recorded in the report when the set was perturbed
	TempDir     string  // parent of the temporary folder ("" = the system's)
	Logger      *slog.Logger
	// Progress, if set, is called as photos are imported and sketches searched.
	Progress func(stage string, done, total int)

	// inspect, in tests, sees the temporary folder and database before
	// they are removed.
	inspect func(dir string, db *store.DB)
}

// Run evaluates d with the production search path: a gallery.Service over
// a temporary database and reference folder (removed afterwards) imports
// every photo with Service.Add under an opaque name (0001.jpg, ...) and
// every probe sketch is searched with Service.Search. The mapping from
// reference ids back to the set's IDs stays here.
func Run(ctx context.Context, d *Dataset, o Options) (*Report, error) {
	start := time.Now()
	if o.Encoder == nil {
		return nil, errors.New("quality: no encoder")
	}
	if o.K <= 0 {
		o.K = DefaultK
	}
	if o.RerankN <= 0 {
		o.RerankN = 200
	}
	if o.Calibration == "" {
		o.Calibration = CalibrationActive
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Limits.MaxBytes == 0 {
		o.Limits = imagefile.DefaultLimits()
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	dir, err := os.MkdirTemp(o.TempDir, "sketchmatch-eval-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "eval.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// Searches are recorded against a user, as in production.
	u := &domain.User{Username: "eval", PasswordHash: "!", Role: "officer"}
	if err := db.CreateUser(ctx, u, nil); err != nil {
		return nil, err
	}
	who := gallery.Actor{UserID: u.ID, Username: u.Username, ClientIP: "127.0.0.1"}

	rep := &Report{Name: o.Name, CreatedAt: time.Now().UTC(), ModelID: o.Encoder.ModelID(), HOGWeight: o.HOGWeight,
		RerankN: o.RerankN, K: o.K, Calibration: string(o.Calibration), PerturbSeed: o.PerturbSeed,
		GallerySize: len(d.Photos), Unmatched: d.Unmatched()}
	if o.Calibration == CalibrationActive && o.Active != nil {
		if o.Active.ModelID != o.Encoder.ModelID() {
			return nil, fmt.Errorf("the calibration #%d is for model %s, not %s", o.Active.ID, o.Active.ModelID, o.Encoder.ModelID())
		}
		c := *o.Active
		if err := db.InsertCalibration(ctx, &c, nil); err != nil {
			return nil, err
		}
		rep.CalibrationID, rep.CalibrationSource = o.Active.ID, o.Active.Source
	}
	svc, err := gallery.New(ctx, gallery.Options{DB: db, Files: &gallery.Files{Root: filepath.Join(dir, "refs")},
		Audit: &audit.Log{DB: db}, Logger: o.Logger, Limits: o.Limits, Encoder: o.Encoder,
		HOGWeight: o.HOGWeight, RerankN: o.RerankN, MaxK: max(o.K, 200)})
	if err != nil {
		return nil, err
	}

	// Import the gallery under opaque names.
	refOf := map[int64]string{} // reference id → set ID
	idOf := map[string]int64{}
	const batch = 32
	for lo := 0; lo < len(d.Photos); lo += batch {
		hi := min(lo+batch, len(d.Photos))
		ups := make([]gallery.Upload, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ups = append(ups, gallery.Upload{Name: fmt.Sprintf("%04d%s", i+1, d.Photos[i].Ext), Data: d.Photos[i].Data})
		}
		for n, res := range svc.Add(ctx, who, ups) {
			p := d.Photos[lo+n]
			switch res.Outcome {
			case gallery.Added:
				refOf[res.Reference.ID], idOf[p.ID] = p.ID, res.Reference.ID
				if !res.FaceFound {
					rep.NoFacePhotos++
				}
			case gallery.Duplicate:
				return nil, fmt.Errorf("photo %s: the same image is in the set twice (%s); an identification set needs one image per person", p.ID, res.Reason)
			default:
				return nil, fmt.Errorf("photo %s was rejected: %s", p.ID, res.Reason)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		progress("import", hi, len(d.Photos))
	}
	// A batch the encoder could not embed is stored without a vector (as
	// in production); embed it now so every photo is searchable.
	if st, err := svc.Stats(ctx); err != nil {
		return nil, err
	} else if st.Embedded < st.References {
		if _, err := svc.Reindex(ctx, nil); err != nil {
			return nil, fmt.Errorf("embedding the gallery: %w", err)
		}
	}

	probes := d.Probes()
	folds := map[int]int{}
	type phase struct {
		fold   int // 0 = all probes
		probes []int
	}
	var phases []phase
	switch o.Calibration {
	case CalibrationInSample:
		cs, err := calibrate(ctx, svc, who, d, probes, "eval: in-sample")
		if err != nil {
			return nil, err
		}
		rep.Calibrations = append(rep.Calibrations, cs)
		phases = []phase{{0, probes}}
	case CalibrationTwoFold:
		folds = d.Folds(2)
		var in [2][]int
		for _, i := range probes {
			in[folds[i]] = append(in[folds[i]], i)
		}
		phases = []phase{{1, in[0]}, {2, in[1]}}
	default:
		phases = []phase{{0, probes}}
	}

	done := 0
	for _, ph := range phases {
		if ph.fold > 0 {
			// Calibrate with the other fold's pairs only.
			cs, err := calibrate(ctx, svc, who, d, phasesOther(probes, folds, ph.fold-1), fmt.Sprintf("eval: 2-fold, held out fold %d", ph.fold))
			if err != nil {
				return nil, err
			}
			cs.Fold = ph.fold
			rep.Calibrations = append(rep.Calibrations, cs)
		}
		for _, i := range ph.probes {
			sk := d.Sketches[i]
			// As an officer may: a sketch without a detectable face is
			// searched anyway (without bands), not dropped.
			out, err := svc.Search(ctx, who, gallery.Query{Sketch: sk.Data, K: o.K, AllowNoFace: true})
			if err != nil {
				return nil, fmt.Errorf("searching with sketch %s: %w", sk.ID, err)
			}
			rep.Probes = append(rep.Probes, scoreProbe(sk.ID, idOf[sk.ID], out, ph.fold))
			if !out.FaceFound {
				rep.NoFaceSketches++
			}
			if p := rep.Probes[len(rep.Probes)-1]; p.Score != nil {
				rep.Genuine = append(rep.Genuine, *p.Score)
			}
			if b := rep.Probes[len(rep.Probes)-1].BestImpostor; b != nil {
				rep.BestImpostor = append(rep.BestImpostor, *b)
			}
			done++
			progress("search", done, len(probes))
		}
	}
	rep.Pipeline = fmt.Sprintf("gallery.Service.Add + gallery.Service.Search (production path) over a temporary database; model %s; HOG weight %g over the top %d; %s",
		rep.ModelID, o.HOGWeight, o.RerankN, svc.Calibration().Text)
	if o.Calibration == CalibrationTwoFold || o.Calibration == CalibrationInSample {
		var forms []string
		for _, c := range rep.Calibrations {
			forms = append(forms, c.Form)
		}
		rep.Pipeline = fmt.Sprintf("gallery.Service.Add + gallery.Service.Search (production path) over a temporary database; model %s; HOG weight %g over the top %d; calibrated by gallery.Service.Calibrate (%s; form chosen: %s)",
			rep.ModelID, o.HOGWeight, o.RerankN, o.Calibration, strings.Join(forms, ", "))
	}
	rep.finish()
	rep.Seconds = time.Since(start).Seconds()
	if o.inspect != nil {
		o.inspect(dir, db)
	}
	return rep, nil
}

// phasesOther returns the probes not in fold f.
func phasesOther(probes []int, folds map[int]int, f int) []int {
	var out []int
	for _, i := range probes {
		if folds[i] != f {
			out = append(out, i)
		}
	}
	return out
}

// calibrate runs Service.Calibrate with the pairs of the given probes,
// under opaque names.
func calibrate(ctx context.Context, svc *gallery.Service, who gallery.Actor, d *Dataset, probes []int, source string) (CalibrationSummary, error) {
	photoOf := map[string]Image{}
	for _, p := range d.Photos {
		photoOf[p.ID] = p
	}
	pairs := make([]gallery.CalibrationPair, 0, len(probes))
	for n, i := range probes {
		sk := d.Sketches[i]
		ph := photoOf[sk.ID]
		pairs = append(pairs, gallery.CalibrationPair{
			Photo:  gallery.Upload{Name: fmt.Sprintf("p%04d%s", n+1, ph.Ext), Data: ph.Data},
			Sketch: gallery.Upload{Name: fmt.Sprintf("s%04d%s", n+1, sk.Ext), Data: sk.Data},
		})
	}
	cr, err := svc.Calibrate(ctx, who, pairs, source)
	if err != nil {
		return CalibrationSummary{}, fmt.Errorf("calibrating: %w", err)
	}
	cs := CalibrationSummary{Pairs: cr.Pairs, RankOneBefore: cr.RankOneBefore, RankOneAfter: cr.RankOneAfter, RankOneHeld: cr.RankOneHeldOut,
		Form: cr.Form, FormReason: cr.FormReason}
	if cr.Bands != nil {
		cs.BandHigh, cs.BandLow = cr.Bands.High, cr.Bands.Low
	}
	return cs, nil
}

// scoreProbe reads one search's candidates: the rank of the true photo
// (1 + candidates scoring strictly higher, so ties do not flatter), its
// score and band, and the best score of anyone else.
func scoreProbe(id string, truth int64, out *gallery.Outcome, fold int) Probe {
	p := Probe{ID: id, FaceFound: out.FaceFound, Fold: fold}
	if len(out.Candidates) > 0 && out.Candidates[0].Band != "" && out.Bands != nil {
		p.TopBand = out.Candidates[0].Band
		r := out.Bands.FalseRate(out.Candidates[0].Score, out.Search.GallerySize)
		p.TopFalseRate = &r
	}
	for _, c := range out.Candidates {
		s := c.Score
		if c.ReferenceID == truth {
			p.Score, p.Band = &s, c.Band
		} else if p.BestImpostor == nil {
			p.BestImpostor = &s
		}
	}
	if p.Score != nil {
		p.Rank = 1
		for _, c := range out.Candidates {
			if c.ReferenceID != truth && c.Score > *p.Score {
				p.Rank++
			}
		}
	}
	return p
}
