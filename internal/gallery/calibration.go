package gallery

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/fusion"
	"github.com/sketchmatch/sketchmatch/internal/hog"
)

// calibration is the active per-modality centring of the active model. A nil
// *calibration means "uncentred" and all its methods are no-ops.
type calibration struct {
	id         int64
	createdAt  int64
	nPairs     int
	source     string
	photoMean  []float32
	sketchMean []float32
	bands      *Bands
	// fusion, when set, is the fused-search model: the index holds
	// fused vectors and a search is one scan over them (no re-ranking).
	fusion *fusion.Model
	note   string // what calibrate chose and why
}

// loadCalibration returns the newest calibration made for the active model
// (never one of another model), or nil.
func (s *Service) loadCalibration(ctx context.Context) (*calibration, error) {
	c, err := s.db.LatestCalibration(ctx, s.enc.ModelID())
	if domain.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(c.PhotoMean) != s.enc.Dim() || len(c.SketchMean) != s.enc.Dim() {
		s.log.Error("ignoring calibration with wrong dimension", "calibration", c.ID)
		return nil, nil
	}
	cal := &calibration{id: c.ID, createdAt: c.CreatedAt, nPairs: c.NPairs, source: c.Source, photoMean: c.PhotoMean, sketchMean: c.SketchMean, note: c.FusionNote}
	if c.Fusion != nil {
		m, err := fusion.Unmarshal(c.Fusion)
		if err == nil {
			err = m.Validate(s.enc.Dim(), hog.Len())
		}
		if err != nil {
			// Its bands were measured with the fused scores: without the
			// model they would not mean anything.
			s.log.Error("ignoring a calibration whose fused-search model cannot be read; recalibrate", "calibration", c.ID, "err", err)
			return nil, nil
		}
		cal.fusion = m
		if m.Weight != s.hogW {
			s.log.Warn("the fused search keeps the HOG weight it was calibrated with; recalibrate to use HOG_WEIGHT",
				"calibration", c.ID, "calibrated_weight", m.Weight, "hog_weight", s.hogW)
		}
	}
	if c.Bands != "" {
		var b Bands
		if err := json.Unmarshal([]byte(c.Bands), &b); err != nil {
			s.log.Error("ignoring unreadable score bands", "calibration", c.ID, "err", err)
		} else if b.HOGWeight == s.hogW {
			cal.bands = &b
		} else {
			s.log.Warn("score bands were measured with another HOG weight; bands hidden until recalibrated",
				"calibration", c.ID, "bands_hog_weight", b.HOGWeight, "hog_weight", s.hogW)
		}
	}
	return cal, nil
}

func centre(v, mean []float32) {
	if mean == nil {
		return
	}
	var n float64
	for i := range v {
		v[i] -= mean[i]
		n += float64(v[i]) * float64(v[i])
	}
	if n == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
}

func (c *calibration) centrePhoto(v []float32) {
	if c != nil {
		centre(v, c.photoMean)
	}
}

func (c *calibration) centreSketch(v []float32) {
	if c != nil {
		centre(v, c.sketchMean)
	}
}

// fused returns the fused-search model, or nil.
func (c *calibration) fused() *fusion.Model {
	if c == nil {
		return nil
	}
	return c.fusion
}

func (c *calibration) ID() int64 {
	if c == nil {
		return 0
	}
	return c.id
}

func (c *calibration) describe() string {
	if c == nil {
		return "none (uncentred)"
	}
	form := "centring"
	if c.fusion != nil {
		form = "fused search, un-learned"
		if c.fusion.Whitened() {
			form = "fused search, whitened"
		}
	}
	return fmt.Sprintf("#%d from %d pairs (%s), %s, %s", c.id, c.nPairs, c.source, time.Unix(c.createdAt, 0).UTC().Format("2006-01-02"), form)
}

// CalibrationInfo describes the active calibration for pages.
type CalibrationInfo struct {
	Active    bool
	ID        int64
	NPairs    int
	Source    string
	CreatedAt int64
	Bands     *Bands
	Text      string
	// Note says which form calibrate chose and why ("" for calibrations
	// made before the fused search existed).
	Note string
}

// Calibration reports the calibration in use.
func (s *Service) Calibration() CalibrationInfo {
	_, c := s.snapshot()
	if c == nil {
		return CalibrationInfo{Text: "none: the pipeline runs uncentred"}
	}
	return CalibrationInfo{Active: true, ID: c.id, NPairs: c.nPairs, Source: c.source, CreatedAt: c.createdAt, Bands: c.bands, Text: c.describe(), Note: c.note}
}
