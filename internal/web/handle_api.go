package web

import (
	"net/http"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

type apiCandidate struct {
	Rank        int     `json:"rank"`
	ReferenceID int64   `json:"reference_id"`
	Label       string  `json:"label"`
	Score       float64 `json:"score"`
	// Band is "high", "mid" or "low", null when no band can be given (no
	// calibration, or no face found in the sketch).
	Band     *string `json:"band"`
	BandText string  `json:"band_text,omitempty"`
	// The person (issue 16): reference_id is their best photo,
	// reference_ids all their photos best first. subject_id is null for a
	// candidate recorded before subjects whose photo was deleted since.
	SubjectID    *int64  `json:"subject_id"`
	SubjectName  string  `json:"subject_name"`
	ReferenceIDs []int64 `json:"reference_ids"`
	// Review is the officer's mark, null while not reviewed.
	Review *apiReview `json:"review"`
}

type apiSearch struct {
	SearchID    int64  `json:"search_id"`
	Model       string `json:"model"`
	Calibration *int64 `json:"calibration_id"`
	CaseNumber  string `json:"case_number"`
	FaceFound   bool   `json:"face_found"`
	// FaceSource: "detected", "manual" (face_box drawn by the caller) or
	// "none" (searched without a face: no bands).
	FaceSource  string         `json:"face_source,omitempty"`
	FaceBox     []int          `json:"face_box,omitempty"`
	GallerySize int            `json:"gallery_size"`
	Note        string         `json:"note,omitempty"`
	Candidates  []apiCandidate `json:"candidates"`
	Disclaimer  string         `json:"disclaimer"`
	Filter      *apiFilter     `json:"filter"` // null when the search was not filtered
	// ReviewState says whether the review is closed, and its conclusion.
	ReviewState apiReviewState `json:"review_state"`
}

// apiFilter is the witness filter a search ran with and what it kept.
type apiFilter struct {
	Sex            string   `json:"sex,omitempty"`
	MinAge         *int     `json:"min_age,omitempty"`
	MaxAge         *int     `json:"max_age,omitempty"`
	At             string   `json:"age_at,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	IncludeUnknown bool     `json:"include_unknown"`
	Description    string   `json:"description"`
	Kept           int      `json:"kept"`  // searchable references the filter kept
	Total          int      `json:"total"` // searchable references
}

func toAPIFilter(a *gallery.AppliedFilter) *apiFilter {
	if a == nil {
		return nil
	}
	out := &apiFilter{Description: a.Description, Kept: a.Kept, Total: a.Total}
	if f := a.Filter; f != nil {
		out.Sex, out.MinAge, out.MaxAge, out.At, out.Tags, out.IncludeUnknown = f.Sex, f.MinAge, f.MaxAge, f.At, f.Tags, f.IncludeUnknown
	}
	return out
}

const disclaimer = "Candidates are investigative leads for human review, not identifications."

// toAPISearch is a search as the API shows it; reviews are its marks by
// subject id (nil: none yet).
func toAPISearch(sr *domain.Search, note string, bands *gallery.Bands, reviews map[int64]domain.Review) apiSearch {
	out := apiSearch{SearchID: sr.ID, Model: sr.ModelID, CaseNumber: sr.CaseNumber, FaceFound: sr.FaceFound, FaceSource: sr.FaceSource,
		GallerySize: sr.GallerySize, Note: note, Candidates: []apiCandidate{}, Disclaimer: disclaimer, ReviewState: toAPIReviewState(sr)}
	if b, err := domain.ParseBox(sr.FaceBox); err == nil && !b.Empty() {
		out.FaceBox = []int{b.Min.X, b.Min.Y, b.Max.X, b.Max.Y}
	}
	if sr.CalibrationID != 0 {
		id := sr.CalibrationID
		out.Calibration = &id
	}
	for _, r := range sr.Results {
		c := apiCandidate{Rank: r.Rank, ReferenceID: r.ReferenceID, Label: r.Label, Score: r.Score, BandText: bandText(sr, bands, r.Score),
			SubjectName: r.SubjectName, ReferenceIDs: r.ReferenceIDs}
		if c.ReferenceIDs == nil {
			c.ReferenceIDs = []int64{}
		}
		if r.SubjectID != 0 {
			id := r.SubjectID
			c.SubjectID = &id
			if rv, ok := reviews[id]; ok {
				c.Review = toAPIReview(&rv)
			}
		}
		if r.Band != "" && sr.FaceSource != domain.FaceNone {
			band := r.Band
			c.Band = &band
		}
		out.Candidates = append(out.Candidates, c)
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
	resp := toAPISearch(out.Search, out.Note, out.Bands, nil)
	resp.Filter = toAPIFilter(out.Filter)
	writeJSON(w, http.StatusOK, resp)
}

// GET /api/v1/searches/{id}
func (s *Server) handleAPISearchShow(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	reviews, err := s.db.ReviewsOf(r.Context(), sr.ID)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	if !s.auditView(w, r, searchTarget(sr), "API export; references: "+idList(resultAllRefIDs(sr))) {
		return
	}
	resp := toAPISearch(sr, "", s.bandsOf(sr), reviews)
	f, err := s.gallery.SearchFilter(r.Context(), sr.ID)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	resp.Filter = toAPIFilter(f)
	writeJSON(w, http.StatusOK, resp)
}

type apiReference struct {
	ID           int64  `json:"id"`
	SHA256       string `json:"sha256"`
	Label        string `json:"label"`
	SubjectID    int64  `json:"subject_id"`
	CapturedOn   string `json:"captured_on"`
	Notes        string `json:"notes"`
	OriginalName string `json:"original_name"`
	ContentType  string `json:"content_type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	Embedded     bool   `json:"embedded"`
	// Searchable: embedded with a face (detected or marked by hand), so
	// in the index; a photo without a face is stored but never returned.
	Searchable bool     `json:"searchable"`
	Face       *apiFace `json:"face"`
	Flags      []string `json:"flags"`
	CreatedBy  string   `json:"created_by"`
	CreatedAt  int64    `json:"created_at"`
	// Witness metadata (filled by withMetadata).
	Sex       string   `json:"sex"`        // female, male or unknown
	BirthYear *int     `json:"birth_year"` // null when unknown
	Tags      []string `json:"tags"`
}

// apiFace is a reference's face-quality record (null until embedded).
type apiFace struct {
	Found         bool    `json:"found"`
	Manual        bool    `json:"manual"`
	Confidence    float64 `json:"confidence"`
	Box           []int   `json:"box"`
	InterocularPx float64 `json:"interocular_px"`
	Faces         int     `json:"faces"`
	Sharpness     float64 `json:"sharpness"`
	YawDeg        float64 `json:"yaw_deg"`
}

// withMetadata fills the references' witness metadata in one query.
func (s *Server) withMetadata(r *http.Request, refs []*apiReference) error {
	ids := make([]int64, 0, len(refs))
	for _, ref := range refs {
		if ref != nil {
			ids = append(ids, ref.ID)
		}
	}
	meta, err := s.db.MetadataByIDs(r.Context(), ids)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if ref == nil {
			continue
		}
		m := meta[ref.ID]
		ref.Sex, ref.Tags = m.Sex, m.Tags
		if ref.Sex == "" {
			ref.Sex = gallery.SexUnknown
		}
		if ref.Tags == nil {
			ref.Tags = []string{}
		}
		if m.BirthYear != 0 {
			y := m.BirthYear
			ref.BirthYear = &y
		}
	}
	return nil
}

func toAPIRef(r *domain.Reference) *apiReference {
	if r == nil {
		return nil
	}
	out := &apiReference{ID: r.ID, SHA256: r.SHA256, Label: r.Label, SubjectID: r.SubjectID, CapturedOn: r.CapturedOn, Notes: r.Notes, OriginalName: r.OriginalName,
		ContentType: r.ContentType, Width: r.Width, Height: r.Height, Embedded: r.HasEmbedding, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		Searchable: gallery.Searchable(r.Face), Flags: []string{}}
	if f := r.Face; f != nil && f.Checked {
		out.Face = &apiFace{Found: f.Found, Manual: f.Manual, Confidence: f.Confidence, InterocularPx: f.InterocularPx,
			Faces: f.Faces, Sharpness: f.Sharpness, YawDeg: f.YawDeg}
		if !f.Box.Empty() {
			out.Face.Box = []int{f.Box.Min.X, f.Box.Min.Y, f.Box.Max.X, f.Box.Max.Y}
		}
	}
	for _, fl := range gallery.FaceFlags(r.Face) {
		out.Flags = append(out.Flags, fl.Code)
	}
	return out
}

// GET /api/v1/references?q=&limit=&offset=
func (s *Server) handleAPIReferences(w http.ResponseWriter, r *http.Request) {
	limit, before, err := apiPage(r)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	refs, total, err := s.db.ListReferencesBefore(r.Context(), s.gallery.ModelID(), clip(strings.TrimSpace(r.URL.Query().Get("q")), 200), limit+1, before)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	next := ""
	if len(refs) > limit {
		refs, next = refs[:limit], encodeCursor(refs[limit-1].ID)
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
	if err := s.withMetadata(r, out); err != nil {
		s.failJSON(w, r, err)
		return
	}
	page := map[string]any{"total": total, "references": out}
	if next != "" {
		page["next_cursor"] = next
	}
	writeJSON(w, http.StatusOK, page)
}

type apiUploadResult struct {
	File      string        `json:"file"`
	Outcome   string        `json:"outcome"`
	Reason    string        `json:"reason,omitempty"`
	Reference *apiReference `json:"reference,omitempty"`
	FaceFound *bool         `json:"face_found,omitempty"`
	// Searchable is set for added files: false when no face was found.
	Searchable *bool `json:"searchable,omitempty"`
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
			ff, sr := res.FaceFound, res.Searchable
			out[i].FaceFound, out[i].Searchable = &ff, &sr
		}
	}
	refs := make([]*apiReference, len(out))
	for i := range out {
		refs[i] = out[i].Reference
	}
	if err := s.withMetadata(r, refs); err != nil {
		// The uploads are committed: answer with them (metadata shown as
		// unknown) rather than fail a request whose work is done.
		s.log.Error("reading metadata for the upload response", "err", err, "request_id", requestIDFrom(r.Context()))
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

// bandsOf is the active calibration's bands when sr was searched with it
// (bands of another calibration are not known any more).
func (s *Server) bandsOf(sr *domain.Search) *gallery.Bands {
	if cal := s.gallery.Calibration(); cal.Active && sr.CalibrationID != 0 && cal.ID == sr.CalibrationID {
		return cal.Bands
	}
	return nil
}
