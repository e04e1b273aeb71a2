package quality

import (
	"context"
	"fmt"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// CalibrationLines describes a stored calibration: provenance, bands and
// rank-1 on the calibration set before and after.
func CalibrationLines(r *gallery.CalibrationReport) []string {
	c := r.Calibration
	out := []string{
		fmt.Sprintf("calibration #%d for model %s, stored %s by %s", c.ID, c.ModelID, time.Unix(c.CreatedAt, 0).UTC().Format(time.RFC3339), c.CreatedBy),
		fmt.Sprintf("  means: photo and sketch mean of %d pairs; source: %s", r.Pairs, c.Source),
	}
	if r.Dropped > 0 {
		out = append(out, fmt.Sprintf("  %d pairs left out: an image could not be embedded", r.Dropped))
	}
	if r.NoFacePhotos+r.NoFaceSketches > 0 {
		out = append(out, fmt.Sprintf("  no face detected in %d photos and %d sketches (centred crops used, as in searches)", r.NoFacePhotos, r.NoFaceSketches))
	}
	out = append(out, fmt.Sprintf("  rank-1 on the calibration set (HOG weight %g): before %.3f, after %.3f (in-sample), held-out %.3f (2-fold: means from the other half)",
		r.HOGWeight, r.RankOneBefore, r.RankOneAfter, r.RankOneHeldOut))
	if r.Form != "" {
		out = append(out, fmt.Sprintf("  form: %s (%s)", r.Form, r.FormReason))
	}
	if b := r.Bands; b != nil {
		out = append(out, fmt.Sprintf("  bands (fitted on the scores different people got in %d held-out calibration searches; they depend on the size of the gallery searched):", b.Searches))
		for _, m := range []int{1000, 10000, 100000} {
			out = append(out, fmt.Sprintf("    gallery of %7d: high from %.4f (a different person that high in at most 1 search in 100), low below %.4f (in half the searches or more)",
				m, b.ThresholdFor(gallery.HighFalseRate, m), b.ThresholdFor(gallery.LowFalseRate, m)))
		}
	} else {
		out = append(out, "  no score bands: "+r.BandsErr)
	}
	return out
}

// CalibrateRequest is one "calibrate the active model from these
// photo/sketch sets" request, the same use case for the web form (one set
// of uploads) and the CLI (one set per folder pair).
type CalibrateRequest struct {
	Sets []*Dataset
	// SetNames say where each set came from, for the notes on sketches
	// left out ("" for a single upload).
	SetNames []string
	// Source is recorded with the calibration; when empty, DefaultSource
	// makes it from the sets' digests.
	Source        string
	DefaultSource func(digests []string) string
	// Embedding, when set, is told how many pairs are about to be embedded
	// (the CLI prints it: embedding takes minutes).
	Embedding func(pairs int)
}

// CalibrateOutcome is what a calibration run reports: the stored
// calibration (nil when none was stored) and the lines that describe it,
// notes on sketches left out first.
type CalibrateOutcome struct {
	Report *gallery.CalibrationReport
	Source string
	Lines  []string
}

// Calibrate pairs the sets' sketches with photos of the same file stem,
// checks there are enough pairs, and stores a calibration for the active
// model. A non-nil outcome with an error means the calibration was stored
// but could not be applied to the running index (it applies at the next
// start).
func Calibrate(ctx context.Context, svc *gallery.Service, who gallery.Actor, req CalibrateRequest) (*CalibrateOutcome, error) {
	var pairs []gallery.CalibrationPair
	var digests, notes []string
	for i, d := range req.Sets {
		ps, digest := d.CalibrationPairs()
		if un := d.Unmatched(); len(un) > 0 {
			where := ""
			if i < len(req.SetNames) && req.SetNames[i] != "" {
				where = " in " + req.SetNames[i]
			}
			notes = append(notes, fmt.Sprintf("  %d sketches%s had no photo of the same name and were left out (e.g. %s).", len(un), where, un[0]))
		}
		pairs = append(pairs, ps...)
		digests = append(digests, digest)
	}
	if len(pairs) < gallery.MinCalibrationPairs {
		return nil, apperr.Errorf(apperr.EINVALID,
			"Only %d photo/sketch pairs have matching file names (a photo and a sketch of the same person must share the file name, e.g. 0001.jpg in both); at least %d are needed.",
			len(pairs), gallery.MinCalibrationPairs)
	}
	source := req.Source
	if source == "" && req.DefaultSource != nil {
		source = req.DefaultSource(digests)
	}
	if req.Embedding != nil {
		req.Embedding(len(pairs))
	}
	rep, err := svc.Calibrate(ctx, who, pairs, source)
	if rep == nil {
		return nil, err
	}
	return &CalibrateOutcome{Report: rep, Source: source, Lines: append(CalibrationLines(rep), notes...)}, err
}
