package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

const galleryPageSize = 48

type galleryData struct {
	Refs             []*domain.Reference
	Total            int
	Query            string
	Page, Pages      int
	HasPrev, HasNext bool
	Stats            gallery.Stats
	Calibration      gallery.CalibrationInfo
	Results          []gallery.Result
	Label, Notes     string
	MaxUpload        string
	// LabelErrors: why a label typed in the outcome table was refused, by
	// reference id; AnyStored: the table has a label to edit.
	LabelErrors map[int64]string
	AnyStored   bool
}

// GET /references — the gallery (admin).
func (s *Server) handleGallery(w http.ResponseWriter, r *http.Request) {
	flash := ""
	if r.URL.Query().Get("done") == "deleted" {
		flash = "Reference deleted: its row, vectors, file and thumbnail are gone."
	}
	s.renderGallery(w, r, http.StatusOK, flash, "", nil, "", "")
}

func (s *Server) renderGallery(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string, results []gallery.Result, label, notes string) {
	s.renderGalleryPage(w, r, status, flash, errMsg, results, label, notes, nil)
}

// renderGalleryWith shows the gallery with an outcome table whose labels
// were edited (labelErrs: the refused ones).
func (s *Server) renderGalleryWith(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string, results []gallery.Result, labelErrs map[int64]string) {
	s.renderGalleryPage(w, r, status, flash, errMsg, results, "", "", labelErrs)
}

func (s *Server) renderGalleryPage(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string, results []gallery.Result, label, notes string, labelErrs map[int64]string) {
	q := clip(strings.TrimSpace(r.URL.Query().Get("q")), 200)
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if pg < 1 {
		pg = 1
	}
	refs, total, err := s.db.ListReferences(r.Context(), s.gallery.ModelID(), q, galleryPageSize, (pg-1)*galleryPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.gallery.Stats(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := max(1, (total+galleryPageSize-1)/galleryPageSize)
	shown := make([]int64, len(refs))
	for i, ref := range refs {
		shown[i] = ref.ID
	}
	if !s.auditView(w, r, "gallery", "page "+strconv.Itoa(pg)+"; references shown: "+idList(shown)) {
		return
	}
	s.render(w, r, status, "gallery", page{Title: "Gallery", Nav: "gallery", Flash: flash, Error: errMsg, Data: galleryData{
		Refs: refs, Total: total, Query: q, Page: pg, Pages: pages, HasPrev: pg > 1, HasNext: pg < pages,
		Stats: st, Calibration: s.gallery.Calibration(), Results: results, Label: label, Notes: notes,
		MaxUpload: humanBytes(s.cfg.MaxUploadSize), LabelErrors: labelErrs, AnyStored: anyStored(results)}})
}

// anyStored: some file of the outcome is a reference (its label can be edited).
func anyStored(results []gallery.Result) bool {
	for _, res := range results {
		if res.Reference != nil {
			return true
		}
	}
	return false
}

// uploadStatus is the response status for a batch: 200/201 if anything was
// added or was already there, else the status of the first rejection.
func uploadStatus(results []gallery.Result, created int) int {
	for _, res := range results {
		if res.Outcome != gallery.Rejected {
			return created
		}
	}
	if len(results) > 0 {
		return statusOf(results[0].Err)
	}
	return http.StatusBadRequest
}

// POST /references (multipart: photos, label, notes). The body is spooled
// to disk and the files are added one at a time (see spoolUploads).
func (s *Server) handleGalleryAdd(w http.ResponseWriter, r *http.Request) {
	up, err := s.spoolUploads(w, r)
	if err != nil {
		if st := statusOf(err); st == http.StatusBadRequest || st == http.StatusRequestEntityTooLarge {
			// The form again, the message above it (not a page without it).
			s.renderGallery(w, r, st, "", apperr.Message(err), nil, "", "")
			return
		}
		s.fail(w, r, err)
		return
	}
	defer up.Close()
	results := s.addSpooled(r, up)
	status := uploadStatus(results, http.StatusOK)
	flash := ""
	if status == http.StatusOK {
		flash = "Upload processed: see the outcome of each file below."
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.fail(w, r, results[0].Err)
		return
	}
	s.renderGallery(w, r, status, flash, "", results, "", "")
}

type referenceData struct {
	Ref   *domain.Reference
	Flags []gallery.FaceFlag
	// Box is the face box to show on the photo ("" when none).
	Box  string
	Meta gallery.MetadataInput // witness metadata as stored, or as typed when refused
}

func metadataForm(m domain.Metadata) gallery.MetadataInput {
	in := gallery.MetadataInput{Sex: m.Sex, Tags: strings.Join(m.Tags, ", ")}
	if in.Sex == "" {
		in.Sex = gallery.SexUnknown
	}
	if m.BirthYear != 0 {
		in.BirthYear = strconv.Itoa(m.BirthYear)
	}
	return in
}

// GET /references/{id}
func (s *Server) handleReference(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.loadRef(w, r)
	if !ok {
		return
	}
	flash := ""
	switch r.URL.Query().Get("done") {
	case "saved":
		flash = "Saved."
	case "face":
		flash = "The face box was saved and the photo embedded from it: it is searchable now."
	}
	if !s.auditView(w, r, "reference:"+strconv.FormatInt(ref.ID, 10), "reference page") {
		return
	}
	s.renderReference(w, r, ref, http.StatusOK, flash, "", nil)
}

// renderReference shows a reference's page; typed is the metadata as typed
// in a refused form (nil: as stored).
func (s *Server) renderReference(w http.ResponseWriter, r *http.Request, ref *domain.Reference, status int, flash, errMsg string, typed *gallery.MetadataInput) {
	face, err := s.gallery.ReferenceFace(r.Context(), ref.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ref.Face, ref.HasEmbedding = face, face != nil
	d := referenceData{Ref: ref, Flags: gallery.FaceFlags(face)}
	if face != nil {
		d.Box = domain.FormatBox(face.Box)
	}
	if typed != nil {
		d.Meta = gallery.MetadataInput{Sex: clip(typed.Sex, 20), BirthYear: clip(typed.BirthYear, 20), Tags: clip(typed.Tags, 1000)}
	} else {
		meta, err := s.gallery.Metadata(r.Context(), ref.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Meta = metadataForm(meta)
	}
	s.render(w, r, status, "reference", page{Title: "Reference #" + strconv.FormatInt(ref.ID, 10), Nav: "gallery", Flash: flash, Error: errMsg, Data: d})
}

// POST /references/{id} (label, notes; sex, birth_year, tags: the
// metadata, left as it is when the form carries none of them)
func (s *Server) handleReferenceUpdate(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.loadRef(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	typed := gallery.MetadataInput{Sex: f.Get("sex"), BirthYear: f.Get("birth_year"), Tags: f.Get("tags")}
	var err error
	withMeta := f.Has("sex") || f.Has("birth_year") || f.Has("tags")
	if withMeta {
		var m domain.Metadata
		if m, err = gallery.ParseMetadata(typed, s.now()); err == nil {
			err = s.gallery.UpdateWithMetadata(r.Context(), galleryActor(r), ref.ID, f.Get("label"), f.Get("notes"), m)
		}
	} else {
		err = s.gallery.Update(r.Context(), galleryActor(r), ref.ID, f.Get("label"), f.Get("notes"))
	}
	if err != nil {
		if statusOf(err) == http.StatusBadRequest {
			shown := &typed
			if !withMeta {
				shown = nil // the form had no metadata fields: show what is stored
			}
			s.renderReference(w, r, ref, http.StatusBadRequest, "", apperr.Message(err), shown)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/references/"+strconv.FormatInt(ref.ID, 10)+"?done=saved", http.StatusSeeOther)
}

// POST /references/{id}/delete
func (s *Server) handleReferenceDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	if err := s.gallery.Delete(r.Context(), galleryActor(r), id); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/references?done=deleted", http.StatusSeeOther)
}

func (s *Server) loadRef(w http.ResponseWriter, r *http.Request) (*domain.Reference, bool) {
	id, ok := s.idParam(w, r)
	if !ok {
		return nil, false
	}
	ref, err := s.db.ReferenceByID(r.Context(), id)
	if err != nil {
		if domain.IsNotFound(err) {
			if isAPI(r) {
				s.failJSON(w, r, apperr.Errorf(apperr.ENOTFOUND, "Reference #%d does not exist.", id))
			} else {
				s.renderError(w, r, http.StatusNotFound, "")
			}
			return nil, false
		}
		s.fail(w, r, err)
		return nil, false
	}
	return ref, true
}

// GET /references/{id}/image
func (s *Server) handleRefImage(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.loadRef(w, r)
	if !ok {
		return
	}
	if !s.auditView(w, r, "reference:"+strconv.FormatInt(ref.ID, 10), "full-size photo") {
		return
	}
	s.serveStored(w, r, ref.StoredPath, "reference-"+strconv.FormatInt(ref.ID, 10))
}

// GET /references/{id}/thumb
func (s *Server) handleRefThumb(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.loadRef(w, r)
	if !ok {
		return
	}
	s.serveStored(w, r, ref.ThumbPath, "reference-"+strconv.FormatInt(ref.ID, 10)+"-thumb")
}

// serveStored streams a content-addressed file with our own name in
// Content-Disposition. The path comes from the database, never from the
// request. Every file is a face (photo, thumbnail, sketch): it is never
// cached, so nothing stays in a shared workstation's browser after logout.
func (s *Server) serveStored(w http.ResponseWriter, r *http.Request, rel, name string) {
	f, err := s.gallery.Files().Open(rel)
	if err != nil {
		s.log.Error("stored file unavailable", "path", rel, "err", err, "request_id", requestIDFrom(r.Context()))
		s.renderError(w, r, http.StatusNotFound, "The image file is missing on the server.")
		return
	}
	defer f.Close()
	ext := rel[strings.LastIndexByte(rel, '.'):]
	ctype := map[string]string{".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}[ext]
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `inline; filename="`+name+ext+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", time.Time{}, f)
}
