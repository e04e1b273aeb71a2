package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

func (s *Server) galleryRoutes(r chi.Router) {
	r.Get("/references", s.handleGallery)
	r.Post("/references", s.handleGalleryAdd)
	r.Get("/references/{id}", s.handleReference)
	r.Post("/references/{id}", s.handleReferenceUpdate)
	r.Post("/references/{id}/delete", s.handleReferenceDelete)
	r.Get("/api/v1/references", s.handleAPIReferences)
	r.Post("/api/v1/references", s.handleAPIReferencesAdd)
	r.Delete("/api/v1/references/{id}", s.handleAPIReferenceDelete)
}

const galleryPageSize = 48

type galleryData struct {
	Refs             []*store.Reference
	Total            int
	Query            string
	Page, Pages      int
	HasPrev, HasNext bool
	Stats            gallery.Stats
	Calibration      gallery.CalibrationInfo
	Results          []gallery.Result
	Label, Notes     string
	MaxUpload        string
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
		MaxUpload: humanBytes(s.cfg.MaxUploadSize)}})
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
		if st := statusOf(err); st == http.StatusBadRequest {
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
	Ref *store.Reference
}

// GET /references/{id}
func (s *Server) handleReference(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.loadRef(w, r)
	if !ok {
		return
	}
	flash := ""
	if r.URL.Query().Get("done") == "saved" {
		flash = "Saved."
	}
	if !s.auditView(w, r, "reference:"+strconv.FormatInt(ref.ID, 10), "reference page") {
		return
	}
	s.render(w, r, http.StatusOK, "reference", page{Title: "Reference #" + strconv.FormatInt(ref.ID, 10), Nav: "gallery", Flash: flash, Data: referenceData{Ref: ref}})
}

// POST /references/{id} (label, notes)
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
	if err := s.gallery.Update(r.Context(), galleryActor(r), ref.ID, r.PostForm.Get("label"), r.PostForm.Get("notes")); err != nil {
		if statusOf(err) == http.StatusBadRequest {
			s.render(w, r, http.StatusBadRequest, "reference", page{Title: "Reference", Nav: "gallery", Error: apperr.Message(err), Data: referenceData{Ref: ref}})
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

func (s *Server) loadRef(w http.ResponseWriter, r *http.Request) (*store.Reference, bool) {
	id, ok := s.idParam(w, r)
	if !ok {
		return nil, false
	}
	ref, err := s.db.ReferenceByID(r.Context(), id)
	if err != nil {
		if store.IsNotFound(err) {
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
