package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/report"
)

// GET /searches/{id}/report.pdf and /api/v1/searches/{id}/report.pdf: the
// case report of a search the user may see. Every download is audited.
func (s *Server) handleSearchReport(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	rs, cands, err := s.reportContent(r, sr)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	paper := report.A4
	if s.cfg.ReportPaper == "letter" {
		paper = report.Letter
	}
	if err := report.Write(&buf, rs, cands, paper); err != nil {
		s.fail(w, r, fmt.Errorf("rendering the report of search %d: %w", sr.ID, err))
		return
	}
	a := actor(r)
	if err := s.audit.Record(r.Context(), audit.Entry{Username: a.Username, ClientIP: a.ClientIP, Action: audit.ActionReportDownload,
		Target: "search:" + strconv.FormatInt(sr.ID, 10), Outcome: audit.OutcomeSuccess,
		Details: fmt.Sprintf("case=%q candidates=%d bytes=%d", sr.CaseNumber, len(cands), buf.Len())}); err != nil {
		// A report that cannot be put on the record is not handed out.
		s.fail(w, r, err)
		return
	}
	s.log.Info("report downloaded", "user", a.Username, "search", sr.ID)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sketchmatch-search-%d.pdf"`, sr.ID))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// reportContent gathers what the report shows: the record, the sketch and
// the candidates' thumbnails (decoded under the upload limits, re-encoded
// as JPEG), band texts worded as on the result page.
func (s *Server) reportContent(r *http.Request, sr *domain.Search) (report.Search, []report.Candidate, error) {
	u := userFrom(r.Context())
	rs := report.Search{Zone: s.cfg.DisplayTimezone, ID: sr.ID, CaseNumber: sr.CaseNumber, Username: sr.Username, At: time.Unix(sr.CreatedAt, 0),
		SketchSHA256: sr.SketchSHA256, Model: sr.ModelID, HOGWeight: sr.HOGWeight, FaceSource: sr.FaceSource,
		GallerySize: sr.GallerySize, K: sr.K, Generated: time.Now(), Calibration: "none (uncentred)"}
	if u != nil {
		rs.GeneratedBy = u.Username
	}
	if sr.CalibrationID != 0 {
		rs.Calibration = "#" + strconv.FormatInt(sr.CalibrationID, 10)
	}
	if sr.ClosedAt != 0 {
		rs.Closed, rs.ClosedAt, rs.ClosedBy, rs.Conclusion = true, time.Unix(sr.ClosedAt, 0), sr.ClosedBy, sr.Conclusion
	}
	reviews, err := s.db.ReviewsOf(r.Context(), sr.ID)
	if err != nil {
		return rs, nil, err
	}
	f, err := s.gallery.SearchFilter(r.Context(), sr.ID)
	if err != nil {
		return rs, nil, err
	}
	if f != nil {
		rs.Filter = fmt.Sprintf("%s: the filter kept %s of %s references", f.Description, groupThousands(f.Kept), groupThousands(f.Total))
	}
	if data, err := s.readStored(sr.SketchPath); err == nil {
		if img, _, err := imagefile.Decode(data, imagefile.DefaultLimits()); err == nil {
			rs.SketchJPEG, _ = imagefile.Thumbnail(img, 800)
		}
	} else {
		s.log.Error("report: sketch file unavailable", "search", sr.ID, "err", err)
	}
	ids := make([]int64, len(sr.Results))
	for i, res := range sr.Results {
		ids[i] = res.ReferenceID
	}
	refs, err := s.db.ReferencesByIDs(r.Context(), ids)
	if err != nil {
		return rs, nil, err
	}
	bands := s.bandsOf(sr)
	var cands []report.Candidate
	for _, res := range sr.Results {
		c := report.Candidate{Rank: res.Rank, ReferenceID: res.ReferenceID, Label: res.Label, Score: res.Score,
			BandText: bandText(sr, bands, res.Score), SubjectID: res.SubjectID, SubjectName: res.SubjectName, Photos: len(res.ReferenceIDs)}
		if rv, ok := reviews[res.SubjectID]; ok && res.SubjectID != 0 {
			c.Review, c.ReviewNote, c.ReviewedBy, c.ReviewedAt = rv.Mark, rv.Note, rv.ReviewedBy, time.Unix(rv.ReviewedAt, 0)
		}
		if sr.FaceSource != domain.FaceNone {
			c.Band = res.Band
		}
		if ref, ok := refs[res.ReferenceID]; ok {
			if data, err := s.readStored(ref.ThumbPath); err == nil {
				c.ThumbJPEG = data // thumbnails are stored as JPEG
			}
		} else {
			c.Deleted = true
		}
		cands = append(cands, c)
	}
	return rs, cands, nil
}

// readStored reads a stored file (bounded).
func (s *Server) readStored(rel string) ([]byte, error) {
	f, err := s.gallery.Files().Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, s.cfg.MaxUploadSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > s.cfg.MaxUploadSize {
		return nil, errors.New("stored file larger than the upload limit")
	}
	return data, nil
}
