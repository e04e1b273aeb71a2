package web

import (
	"image"
	"net/http"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// parseBox reads a face box drawn in the browser: "x0,y0,x1,y1" in the
// image's pixels ("" = none). Range checks against the image happen where
// the image is known (embed.CheckBox).
func parseBox(v string) (image.Rectangle, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return image.Rectangle{}, nil
	}
	parts := strings.Split(v, ",")
	bad := apperr.Errorf(apperr.EINVALID, "The face box must be four whole numbers x0,y0,x1,y1 (pixels).")
	if len(parts) != 4 || len(v) > 64 {
		return image.Rectangle{}, bad
	}
	var n [4]int
	for i, p := range parts {
		x, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || x < 0 || x > 1<<20 {
			return image.Rectangle{}, bad
		}
		n[i] = x
	}
	r := image.Rect(n[0], n[1], n[2], n[3])
	if r.Empty() {
		return image.Rectangle{}, apperr.Errorf(apperr.EINVALID, "The face box is empty: draw a box around the face.")
	}
	return r, nil
}

// setFaceFromForm reads face_box from the posted form and re-embeds
// reference id from it (shared by the page and the API).
func (s *Server) setFaceFromForm(w http.ResponseWriter, r *http.Request, id int64) (*domain.FaceRecord, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return nil, apperr.Errorf(apperr.EINVALID, "The form could not be read.")
	}
	box, err := parseBox(r.PostForm.Get("face_box"))
	if err != nil {
		return nil, err
	}
	if box.Empty() {
		return nil, apperr.Errorf(apperr.EINVALID, "Draw a box around the face first (face_box: x0,y0,x1,y1 in the photo's pixels).")
	}
	return s.gallery.SetFaceBox(r.Context(), galleryActor(r), id, box)
}

// POST /references/{id}/face (face_box): an admin marks the face on a
// reference photo; it is re-embedded from that box and becomes searchable.
func (s *Server) handleReferenceFace(w http.ResponseWriter, r *http.Request) {
	ref, ok := s.loadRef(w, r)
	if !ok {
		return
	}
	if _, err := s.setFaceFromForm(w, r, ref.ID); err != nil {
		if statusOf(err) == http.StatusBadRequest {
			s.renderReference(w, r, ref, http.StatusBadRequest, "", apperr.Message(err), nil)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/references/"+strconv.FormatInt(ref.ID, 10)+"?done=face", http.StatusSeeOther)
}

// POST /api/v1/references/{id}/face (form: face_box "x0,y0,x1,y1").
func (s *Server) handleAPIReferenceFace(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	face, err := s.setFaceFromForm(w, r, id)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	ref, err := s.db.ReferenceByID(r.Context(), id)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	ref.Face, ref.HasEmbedding = face, true
	writeJSON(w, http.StatusOK, toAPIRef(ref))
}
