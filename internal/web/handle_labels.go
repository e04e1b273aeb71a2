package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// Outcomes of a row of the labels form (beside gallery.Added etc.).
const (
	labelSaved     = "label saved"
	labelUnchanged = "unchanged"
	labelRefused   = "not saved"
)

// POST /references/labels (ref, label: repeated, in pairs) — the labels of
// an upload's outcome table, corrected in place. Each changed label is one
// gallery.Update: validated like any label and audited (reference_update).
// A refused label is shown in its row with the reason; the others are
// saved. The answer is the gallery with the same table, rebuilt from the
// database (file names are the references' own original names).
func (s *Server) handleReferenceLabels(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.renderGallery(w, r, http.StatusBadRequest, "", "The labels form could not be read.", nil, "", "")
		return
	}
	refs, labels := r.PostForm["ref"], r.PostForm["label"]
	if len(refs) != len(labels) || len(refs) == 0 || len(refs) > maxUploadFiles {
		s.renderGallery(w, r, http.StatusBadRequest, "", "The labels form could not be read.", nil, "", "")
		return
	}
	var (
		rows    []gallery.Result
		errs    = map[int64]string{}
		seen    = map[int64]bool{}
		saved   int
		refused int
	)
	for i, v := range refs {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			s.renderGallery(w, r, http.StatusBadRequest, "", "The labels form could not be read.", nil, "", "")
			return
		}
		if seen[id] {
			continue // the same photo twice in one upload: one row
		}
		seen[id] = true
		ref, err := s.db.ReferenceByID(r.Context(), id)
		if domain.IsNotFound(err) {
			rows = append(rows, gallery.Result{Name: "Reference #" + v, Outcome: gallery.Rejected, Reason: "deleted since the upload"})
			refused++
			continue
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		row := gallery.Result{Name: ref.OriginalName, Outcome: labelUnchanged, Reference: ref}
		if typed := labels[i]; strings.TrimSpace(typed) != ref.Label {
			// Update keeps the notes; the label is validated there.
			err := s.gallery.Update(r.Context(), galleryActor(r), id, typed, ref.Notes)
			switch {
			case err == nil:
				if fresh, ferr := s.db.ReferenceByID(r.Context(), id); ferr == nil {
					row.Reference = fresh
				}
				if row.Reference.Label != ref.Label {
					row.Outcome = labelSaved
					saved++
				}
			case statusOf(err) == http.StatusBadRequest:
				shown := *ref
				shown.Label = clip(typed, 1000)
				row.Reference, row.Outcome = &shown, labelRefused
				errs[id] = apperr.Message(err)
				refused++
			default:
				s.fail(w, r, err)
				return
			}
		}
		rows = append(rows, row)
	}
	status, flash, errMsg := http.StatusOK, "", ""
	switch {
	case refused > 0:
		status, errMsg = http.StatusBadRequest, plural(refused, "label was", "labels were")+" not saved: see the table."
		if saved > 0 {
			flash = plural(saved, "label", "labels") + " saved."
		}
	case saved > 0:
		flash = plural(saved, "label", "labels") + " saved."
	default:
		flash = "No label was changed."
	}
	s.renderGalleryWith(w, r, status, flash, errMsg, rows, errs)
}

// plural is "1 label" or "3 labels".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
