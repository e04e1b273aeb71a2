package quality

import (
	"fmt"
	"time"

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
