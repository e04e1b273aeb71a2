package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// People (issue 16): an admin sees a subject's photos, renames it, merges
// it into another and moves a photo to another subject. The rules and the
// audit rows are in gallery/subjects.go.

type subjectData struct {
	Subject *domain.Subject
	Refs    []*domain.Reference
	Into    *domain.Subject // the subject a merged one went into
	Meta    string          // the person's witness metadata in a few words, "" when none
	// MetaForm is the description's form: as stored, or as typed when
	// refused.
	MetaForm gallery.MetadataInput
}

// subjectsPageSize is the number of people on a page of /subjects.
const subjectsPageSize = 48

type subjectsData struct {
	Subjects         []*domain.Subject
	Total            int
	Query            string
	Page, Pages      int
	HasPrev, HasNext bool
}

// GET /subjects?q=&page= — the people of the gallery (admin), newest
// first, filtered by name or record number: finding a person without
// going through one of their photos.
func (s *Server) handleSubjects(w http.ResponseWriter, r *http.Request) {
	q := clip(strings.TrimSpace(r.URL.Query().Get("q")), 200)
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if pg < 1 {
		pg = 1
	}
	subjects, total, err := s.db.ListSubjects(r.Context(), q, subjectsPageSize, (pg-1)*subjectsPageSize, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := max(1, (total+subjectsPageSize-1)/subjectsPageSize)
	shown := make([]int64, len(subjects))
	for i, subj := range subjects {
		shown[i] = subj.ID
	}
	if !s.auditView(w, r, "subjects", "page "+strconv.Itoa(pg)+"; subjects shown: "+idList(shown)) {
		return
	}
	s.render(w, r, http.StatusOK, "subjects", page{Title: "People", Nav: "gallery", Data: subjectsData{
		Subjects: subjects, Total: total, Query: q, Page: pg, Pages: pages, HasPrev: pg > 1, HasNext: pg < pages}})
}

// GET /subjects/{id}
func (s *Server) handleSubject(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	s.renderSubject(w, r, id, http.StatusOK, map[string]string{"saved": "Saved.", "merged": "Merged: the photos are this person's now.",
		"moved": "The photo was moved.", "described": "The witness description was saved: every photo of this person has it."}[r.URL.Query().Get("done")], "")
}

func (s *Server) renderSubject(w http.ResponseWriter, r *http.Request, id int64, status int, flash, errMsg string) {
	s.renderSubjectWith(w, r, id, status, flash, errMsg, nil)
}

// renderSubjectWith shows a person's page; typed is the witness
// description as typed in a refused form (nil: as stored).
func (s *Server) renderSubjectWith(w http.ResponseWriter, r *http.Request, id int64, status int, flash, errMsg string, typed *gallery.MetadataInput) {
	subj, refs, err := s.gallery.Subject(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	meta, err := s.db.SubjectMetadata(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := subjectData{Subject: subj, Refs: refs, Meta: metaLine(meta), MetaForm: metadataForm(meta)}
	if typed != nil {
		d.MetaForm = gallery.MetadataInput{Sex: clip(typed.Sex, 20), BirthYear: clip(typed.BirthYear, 20), Tags: clip(typed.Tags, 1000)}
	}
	if subj.MergedInto != 0 {
		if d.Into, err = s.db.SubjectByID(r.Context(), subj.MergedInto); err != nil && !domain.IsNotFound(err) {
			s.fail(w, r, err)
			return
		}
	}
	ids := make([]int64, len(refs))
	for i, ref := range refs {
		ids[i] = ref.ID
	}
	if !s.auditView(w, r, "subject:"+strconv.FormatInt(id, 10), "person page; references shown: "+idList(ids)) {
		return
	}
	title := "Person #" + strconv.FormatInt(id, 10)
	s.render(w, r, status, "subject", page{Title: title, Nav: "gallery", Flash: flash, Error: errMsg, Data: d})
}

// subjectFormError shows a refused subject form on the person's page.
func (s *Server) subjectFormError(w http.ResponseWriter, r *http.Request, id int64, err error) {
	if st := statusOf(err); st < 500 && st != http.StatusNotFound {
		s.renderSubject(w, r, id, st, "", apperr.Message(err))
		return
	}
	s.fail(w, r, err)
}

// POST /subjects/{id} (name, notes)
func (s *Server) handleSubjectUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	in, err := reviewInput(w, r, "name", "notes")
	if err == nil {
		err = s.gallery.UpdateSubject(r.Context(), galleryActor(r), id, in["name"], in["notes"])
	}
	if err != nil {
		s.subjectFormError(w, r, id, err)
		return
	}
	http.Redirect(w, r, "/subjects/"+strconv.FormatInt(id, 10)+"?done=saved", http.StatusSeeOther)
}

// POST /subjects/{id}/metadata (sex, birth_year, tags): the person's
// witness description, validated as the reference form's.
func (s *Server) handleSubjectMetadata(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	in, err := reviewInput(w, r, "sex", "birth_year", "tags")
	if err != nil {
		s.subjectFormError(w, r, id, err)
		return
	}
	typed := gallery.MetadataInput{Sex: in["sex"], BirthYear: in["birth_year"], Tags: in["tags"]}
	m, err := gallery.ParseMetadata(typed, s.now())
	if err == nil {
		err = s.gallery.SetSubjectMetadata(r.Context(), galleryActor(r), id, m)
	}
	if err != nil {
		if st := statusOf(err); st < 500 && st != http.StatusNotFound {
			s.renderSubjectWith(w, r, id, st, "", apperr.Message(err), &typed)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/subjects/"+strconv.FormatInt(id, 10)+"?done=described", http.StatusSeeOther)
}

// formID reads a positive id typed in a form field.
func formID(v, what string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.Errorf(apperr.EINVALID, "%s must be a person number (a whole number, as shown on their page).", what)
	}
	return id, nil
}

// POST /subjects/{id}/merge (into): every photo of {id} becomes into's.
func (s *Server) handleSubjectMerge(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	in, err := reviewInput(w, r, "into")
	var into int64
	if err == nil {
		into, err = formID(in["into"], "The person to merge into")
	}
	if err == nil {
		err = s.gallery.MergeSubjects(r.Context(), galleryActor(r), id, into)
	}
	if err != nil {
		s.subjectFormError(w, r, id, err)
		return
	}
	http.Redirect(w, r, "/subjects/"+strconv.FormatInt(into, 10)+"?done=merged", http.StatusSeeOther)
}

// POST /references/{id}/subject (subject_id): move a photo to another person.
func (s *Server) handleReferenceMove(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.loadRef(w, r)
	if !ok {
		return
	}
	in, err := reviewInput(w, r, "subject_id")
	var to int64
	if err == nil {
		to, err = formID(in["subject_id"], "The person to move the photo to")
	}
	if err == nil {
		err = s.gallery.MoveReference(r.Context(), galleryActor(r), ref.ID, to)
	}
	if err != nil {
		s.subjectFormError(w, r, ref.SubjectID, err)
		return
	}
	http.Redirect(w, r, "/subjects/"+strconv.FormatInt(to, 10)+"?done=moved", http.StatusSeeOther)
}
