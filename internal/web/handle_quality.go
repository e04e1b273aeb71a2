package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/quality"
)

// bandRow is where the bands fall in a gallery of a given size.
type bandRow struct {
	Gallery   int
	High, Low float64 // high at or above High; low below Low
	Current   bool    // the size of the gallery in use
}

type qualityData struct {
	Model       string
	ModelErr    string
	HOGWeight   float64
	RerankN     int
	Calibration gallery.CalibrationInfo
	BandRows    []bandRow
	// The latest `sketchmatch eval` report of the active model.
	Eval       *domain.EvalReport
	EvalReport *quality.Report
	EvalErr    string
	// The outcome of a calibration just run from this page.
	CalibrationLines []string
	MinPairs         int
	MaxUpload        string
	Source           string
}

// GET /admin/quality
func (s *Server) handleQuality(w http.ResponseWriter, r *http.Request) {
	if !s.auditView(w, r, "quality", "evaluation and calibration report") {
		return
	}
	s.renderQuality(w, r, http.StatusOK, "", "", nil, "")
}

func (s *Server) renderQuality(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string, lines []string, source string) {
	d := qualityData{HOGWeight: s.gallery.HOGWeight(), RerankN: s.cfg.RerankN, Calibration: s.gallery.Calibration(),
		CalibrationLines: lines, MinPairs: gallery.MinCalibrationPairs, MaxUpload: humanBytes(s.cfg.MaxUploadSize), Source: source}
	model, err := s.gallery.ModelStatus()
	if err != nil {
		d.ModelErr = err.Error()
	}
	d.Model = model
	if b := d.Calibration.Bands; b != nil && b.Impostor != nil {
		st, err := s.gallery.Stats(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		sizes := []int{1000, 10000, 100000, 1000000}
		if st.Indexed > 0 {
			sizes = append([]int{st.Indexed}, sizes...)
		}
		for i, m := range sizes {
			d.BandRows = append(d.BandRows, bandRow{Gallery: m, Current: i == 0 && st.Indexed > 0,
				High: b.ThresholdFor(gallery.HighFalseRate, m), Low: b.ThresholdFor(gallery.LowFalseRate, m)})
		}
	}
	if model != "" {
		er, err := s.db.LatestEvalReport(r.Context(), model)
		switch {
		case err == nil:
			d.Eval = er
			var rep quality.Report
			if err := json.Unmarshal([]byte(er.Report), &rep); err != nil {
				d.EvalErr = "The stored report could not be read."
				s.log.Error("reading eval report", "report", er.ID, "err", err)
			} else {
				d.EvalReport = &rep
			}
		case domain.IsNotFound(err):
		default:
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, status, "quality", page{Title: "Match quality", Nav: "quality", Flash: flash, Error: errMsg, Data: d})
}

// GET /admin/quality/reports/{id}/plot.png — the CMC plot stored with an
// evaluation report (only the latest report of the active model is shown).
func (s *Server) handleQualityPlot(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	er, err := s.db.LatestEvalReport(r.Context(), s.gallery.ModelID())
	if err != nil || er.ID != id || len(er.PlotPNG) == 0 {
		if err != nil && !domain.IsNotFound(err) {
			s.fail(w, r, err)
			return
		}
		s.renderError(w, r, http.StatusNotFound, "")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(er.PlotPNG)))
	w.Write(er.PlotPNG)
}

// POST /admin/quality/calibrate (multipart: photos, sketches, source) —
// calibrate the active model from uploaded pairs, paired by file name.
// Only uploads are accepted: the web never reads server paths.
func (s *Server) handleCalibrate(w http.ResponseWriter, r *http.Request) {
	if err := s.parseMultipart(w, r); err != nil {
		s.qualityError(w, r, err, "")
		return
	}
	defer r.MultipartForm.RemoveAll()
	source := clip(strings.TrimSpace(r.FormValue("source")), 200)
	read := func(field string) ([]quality.Image, error) {
		fhs := r.MultipartForm.File[field]
		if len(fhs) > 2*gallery.MaxCalibrationPairs {
			return nil, apperr.Errorf(apperr.EINVALID, "Too many files in %s.", field)
		}
		out := make([]quality.Image, 0, len(fhs))
		for _, fh := range fhs {
			data, err := readFile(fh, s.cfg.MaxUploadSize)
			if err != nil {
				return nil, err
			}
			out = append(out, quality.ImageFromName(fh.Filename, data))
		}
		return out, nil
	}
	photos, err := read("photos")
	if err != nil {
		s.qualityError(w, r, err, source)
		return
	}
	sketches, err := read("sketches")
	if err != nil {
		s.qualityError(w, r, err, source)
		return
	}
	d, err := quality.NewDataset(photos, sketches)
	if err != nil {
		s.qualityError(w, r, apperr.Errorf(apperr.EINVALID, "%s", capitalise(err.Error())+"."), source)
		return
	}
	out, err := quality.Calibrate(r.Context(), s.gallery, galleryActor(r), quality.CalibrateRequest{
		Sets: []*quality.Dataset{d}, Source: source,
		DefaultSource: func(digests []string) string { return fmt.Sprintf("web upload, set sha256 %s", digests[0][:16]) },
	})
	if out == nil {
		s.qualityError(w, r, err, source)
		return
	}
	rep, lines := out.Report, out.Lines
	if err != nil {
		s.log.Error("calibration stored but index not reloaded", "err", err)
		s.renderQuality(w, r, http.StatusOK, "", "The calibration was stored, but re-centring the index failed; it applies at the next start.", lines, "")
		return
	}
	s.renderQuality(w, r, http.StatusOK, fmt.Sprintf("Calibration #%d stored; every search now uses it.", rep.Calibration.ID), "", lines, "")
}

// qualityError re-renders the page with a user-facing message (4xx/503)
// or fails the request (other 5xx).
func (s *Server) qualityError(w http.ResponseWriter, r *http.Request, err error, source string) {
	if st := statusOf(err); st < 500 || st == http.StatusServiceUnavailable {
		s.renderQuality(w, r, st, "", apperr.Message(err), nil, source)
		return
	}
	s.fail(w, r, err)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
