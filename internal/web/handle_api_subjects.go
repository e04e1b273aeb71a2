package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// The integration API for people (issue 16): list and read subjects,
// merge one into another, move a photo to another person. The changes go
// through the same gallery methods as the person page (so the same rules
// and audit rows).

type apiSubject struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Notes string `json:"notes"`
	// MergedInto is the person this one was merged into, null while live.
	MergedInto *int64 `json:"merged_into"`
	Photos     int    `json:"photos"`
	// FirstReferenceID is the person's oldest photo (lists only; null
	// when the person has none).
	FirstReferenceID *int64 `json:"first_reference_id,omitempty"`
	CreatedBy        string `json:"created_by"`
	CreatedAt        int64  `json:"created_at"`
	UpdatedAt        int64  `json:"updated_at"`
}

// apiSubjectDetail is one person with their witness metadata and photos.
type apiSubjectDetail struct {
	apiSubject
	Sex        string          `json:"sex"`
	BirthYear  *int            `json:"birth_year"`
	Tags       []string        `json:"tags"`
	References []*apiReference `json:"references"`
}

func toAPISubject(s *domain.Subject) apiSubject {
	out := apiSubject{ID: s.ID, Name: s.Name, Notes: s.Notes, Photos: s.Photos, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if s.MergedInto != 0 {
		id := s.MergedInto
		out.MergedInto = &id
	}
	return out
}

// GET /api/v1/subjects?q=&limit=&cursor= — live people, newest first.
func (s *Server) handleAPISubjects(w http.ResponseWriter, r *http.Request) {
	limit, before, err := apiPage(r)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	subjects, total, err := s.db.ListSubjects(r.Context(), clip(strings.TrimSpace(r.URL.Query().Get("q")), 200), limit+1, 0, before)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	next := ""
	if len(subjects) > limit {
		subjects, next = subjects[:limit], encodeCursor(subjects[limit-1].ID)
	}
	out := make([]apiSubject, len(subjects))
	ids := make([]int64, len(subjects))
	for i, subj := range subjects {
		out[i] = toAPISubject(subj)
		if subj.FirstPhoto != 0 {
			first := subj.FirstPhoto
			out[i].FirstReferenceID = &first
		}
		ids[i] = subj.ID
	}
	if !s.auditView(w, r, "subjects", "API export; subjects: "+idList(ids)) {
		return
	}
	page := map[string]any{"total": total, "subjects": out}
	if next != "" {
		page["next_cursor"] = next
	}
	writeJSON(w, http.StatusOK, page)
}

// GET /api/v1/subjects/{id} — a person (merged ones too), their witness
// metadata and photos.
func (s *Server) handleAPISubject(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	s.writeAPISubject(w, r, id, "API export")
}

// writeAPISubject answers with person id (audited as a view: what, the
// references shown).
func (s *Server) writeAPISubject(w http.ResponseWriter, r *http.Request, id int64, what string) {
	subj, refs, err := s.gallery.Subject(r.Context(), id)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	meta, err := s.db.SubjectMetadata(r.Context(), id)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	out := apiSubjectDetail{apiSubject: toAPISubject(subj), Sex: meta.Sex, Tags: meta.Tags, References: make([]*apiReference, len(refs))}
	if out.Sex == "" {
		out.Sex = gallery.SexUnknown
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if meta.BirthYear != 0 {
		y := meta.BirthYear
		out.BirthYear = &y
	}
	ids := make([]int64, len(refs))
	for i, ref := range refs {
		out.References[i] = toAPIRef(ref)
		ids[i] = ref.ID
	}
	if err := s.withMetadata(r, out.References); err != nil {
		s.failJSON(w, r, err)
		return
	}
	if !s.auditView(w, r, "subject:"+strconv.FormatInt(id, 10), what+"; references: "+idList(ids)) {
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// jsonID reads the positive integer field of a small JSON object body.
func jsonID(w http.ResponseWriter, r *http.Request, field string) (int64, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReviewBody))
	if err != nil {
		return 0, apperr.Errorf(apperr.ETOOLARGE, "The request body is too large.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil || in == nil {
		return 0, apperr.Errorf(apperr.EINVALID, "The body must be a JSON object.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return 0, apperr.Errorf(apperr.EINVALID, "The body must be one JSON object.")
	}
	n, ok := in[field].(json.Number)
	if !ok {
		return 0, apperr.Errorf(apperr.EINVALID, "%s must be a person number.", field)
	}
	id, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.Errorf(apperr.EINVALID, "%s must be a positive whole number.", field)
	}
	return id, nil
}

// POST /api/v1/subjects/{id}/merge {"into": id} — every photo of {id}
// becomes into's; answers with the surviving person.
func (s *Server) handleAPISubjectMerge(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	into, err := jsonID(w, r, "into")
	if err == nil {
		err = s.gallery.MergeSubjects(r.Context(), galleryActor(r), id, into)
	}
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	s.writeAPISubject(w, r, into, "API answer to a merge")
}

// POST /api/v1/references/{id}/move {"subject_id": id} — the photo
// becomes that person's; answers with the reference.
func (s *Server) handleAPIReferenceMove(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	to, err := jsonID(w, r, "subject_id")
	if err == nil {
		err = s.gallery.MoveReference(r.Context(), galleryActor(r), id, to)
	}
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	ref, err := s.db.ReferenceByID(r.Context(), id)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	out := toAPIRef(ref)
	if err := s.withMetadata(r, []*apiReference{out}); err != nil {
		s.failJSON(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
