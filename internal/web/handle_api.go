package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

type apiCandidate struct {
	Rank        int     `json:"rank"`
	ReferenceID int64   `json:"reference_id"`
	Label       string  `json:"label"`
	Score       float64 `json:"score"`
	Band        string  `json:"band,omitempty"`
}

type apiSearch struct {
	SearchID    int64          `json:"search_id"`
	Model       string         `json:"model"`
	Calibration *int64         `json:"calibration_id"`
	CaseNumber  string         `json:"case_number"`
	FaceFound   bool           `json:"face_found"`
	Note        string         `json:"note,omitempty"`
	Candidates  []apiCandidate `json:"candidates"`
	Disclaimer  string         `json:"disclaimer"`
}

const disclaimer = "Candidates are investigative leads for human review, not identifications."

func toAPISearch(sr *store.Search, note string) apiSearch {
	out := apiSearch{SearchID: sr.ID, Model: sr.ModelID, CaseNumber: sr.CaseNumber, FaceFound: sr.FaceFound, Note: note,
		Candidates: []apiCandidate{}, Disclaimer: disclaimer}
	if sr.CalibrationID.Valid {
		id := sr.CalibrationID.Int64
		out.Calibration = &id
	}
	for _, r := range sr.Results {
		out.Candidates = append(out.Candidates, apiCandidate{Rank: r.Rank, ReferenceID: r.ReferenceID, Label: r.Label, Score: r.Score, Band: r.Band})
	}
	return out
}

// POST /api/v1/search (multipart: sketch, case_number, k)
func (s *Server) handleAPISearch(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseSearch(w, r)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	out, err := s.gallery.Search(r.Context(), galleryActor(r), q)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPISearch(out.Search, out.Note))
}

// GET /api/v1/searches/{id}
func (s *Server) handleAPISearchShow(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	if !s.auditView(w, r, searchTarget(sr), "API export; references: "+idList(resultRefIDs(sr))) {
		return
	}
	writeJSON(w, http.StatusOK, toAPISearch(sr, ""))
}

type apiReference struct {
	ID           int64  `json:"id"`
	SHA256       string `json:"sha256"`
	Label        string `json:"label"`
	Notes        string `json:"notes"`
	OriginalName string `json:"original_name"`
	ContentType  string `json:"content_type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Embedded     bool   `json:"embedded"`
	CreatedBy    string `json:"created_by"`
	CreatedAt    int64  `json:"created_at"`
}

func toAPIRef(r *store.Reference) *apiReference {
	if r == nil {
		return nil
	}
	return &apiReference{ID: r.ID, SHA256: r.SHA256, Label: r.Label, Notes: r.Notes, OriginalName: r.OriginalName,
		ContentType: r.ContentType, Width: r.Width, Height: r.Height, Embedded: r.HasEmbedding, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
}

// GET /api/v1/references?q=&limit=&offset=
func (s *Server) handleAPIReferences(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	if limit < 1 || limit > 500 {
		limit = 100
	}
	offset = max(offset, 0)
	refs, total, err := s.db.ListReferences(r.Context(), s.gallery.ModelID(), clip(strings.TrimSpace(r.URL.Query().Get("q")), 200), limit, offset)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	out := make([]*apiReference, len(refs))
	ids := make([]int64, len(refs))
	for i, ref := range refs {
		out[i] = toAPIRef(ref)
		ids[i] = ref.ID
	}
	if !s.auditView(w, r, "gallery", "API export; references: "+idList(ids)) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "references": out})
}

type apiUploadResult struct {
	File      string        `json:"file"`
	Outcome   string        `json:"outcome"`
	Reason    string        `json:"reason,omitempty"`
	Reference *apiReference `json:"reference,omitempty"`
	FaceFound *bool         `json:"face_found,omitempty"`
}

// POST /api/v1/references (multipart: photos, label, notes)
func (s *Server) handleAPIReferencesAdd(w http.ResponseWriter, r *http.Request) {
	up, err := s.spoolUploads(w, r)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	defer up.Close()
	results := s.addSpooled(r, up)
	out := make([]apiUploadResult, len(results))
	for i, res := range results {
		out[i] = apiUploadResult{File: res.Name, Outcome: res.Outcome, Reason: res.Reason, Reference: toAPIRef(res.Reference)}
		if res.Outcome == gallery.Added {
			ff := res.FaceFound
			out[i].FaceFound = &ff
		}
	}
	status := uploadStatus(results, http.StatusCreated)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	writeJSON(w, status, map[string]any{"results": out})
}

// DELETE /api/v1/references/{id}
func (s *Server) handleAPIReferenceDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	if err := s.gallery.Delete(r.Context(), galleryActor(r), id); err != nil {
		s.failJSON(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
