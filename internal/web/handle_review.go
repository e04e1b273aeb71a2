package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// The review of a search's candidates (issue 16): marks, closing, admin
// reopen. The rules (who may, closed is read-only) live in
// gallery/review.go; these handlers read the input and answer.

// maxReviewBody bounds a review or close request body.
const maxReviewBody = 16 << 10

// reviewInput reads mark/note (or conclusion) from a form or, under /api/,
// a JSON object.
func reviewInput(w http.ResponseWriter, r *http.Request, fields ...string) (map[string]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxReviewBody)
	out := map[string]string{}
	if isAPI(r) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, apperr.Errorf(apperr.ETOOLARGE, "The request body is too large.")
		}
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, apperr.Errorf(apperr.EINVALID, "The body must be a JSON object.")
		}
		for _, f := range fields {
			switch v := in[f].(type) {
			case nil:
			case string:
				out[f] = v
			default:
				return nil, apperr.Errorf(apperr.EINVALID, "%s must be a string.", f)
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apperr.Errorf(apperr.ETOOLARGE, "The form is too large.")
		}
		return nil, apperr.Errorf(apperr.EINVALID, "The form could not be read.")
	}
	for _, f := range fields {
		out[f] = r.PostForm.Get(f)
	}
	return out, nil
}

// reviewFailed answers a refused or failed review request: the problem
// document under /api/, else the error page (4xx with the reason).
func (s *Server) reviewFailed(w http.ResponseWriter, r *http.Request, err error) {
	if isAPI(r) {
		s.failJSON(w, r, err)
		return
	}
	s.fail(w, r, err)
}

// PUT /api/v1/searches/{id}/reviews/{subject_id} (JSON mark, note) and
// POST /searches/{id}/reviews/{subject_id} (form).
func (s *Server) handleReviewMark(w http.ResponseWriter, r *http.Request) {
	// Officers see only their own searches: another's is 404 here as on
	// its page (the gallery refuses an admin reviewing another's search).
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	subject, err := strconv.ParseInt(chi.URLParam(r, "subject_id"), 10, 64)
	if err != nil || subject <= 0 {
		s.renderError(w, r, http.StatusNotFound, "")
		return
	}
	in, err := reviewInput(w, r, "mark", "note")
	if err != nil {
		s.reviewFailed(w, r, err)
		return
	}
	rv, err := s.gallery.Review(r.Context(), galleryActor(r), sr.ID, subject, in["mark"], in["note"])
	if err != nil {
		s.reviewFailed(w, r, err)
		return
	}
	if isAPI(r) {
		writeJSON(w, http.StatusOK, toAPIReview(rv))
		return
	}
	to := "/searches/" + strconv.FormatInt(sr.ID, 10)
	if r.PostForm.Get("unreviewed") == "1" {
		to += "?unreviewed=1"
	}
	http.Redirect(w, r, to+"#person-"+strconv.FormatInt(subject, 10), http.StatusSeeOther)
}

// POST /api/v1/searches/{id}/close (JSON conclusion) and
// POST /searches/{id}/close (form).
func (s *Server) handleSearchClose(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	in, err := reviewInput(w, r, "conclusion")
	if err != nil {
		s.reviewFailed(w, r, err)
		return
	}
	if err := s.gallery.CloseSearch(r.Context(), galleryActor(r), sr.ID, in["conclusion"]); err != nil {
		s.reviewFailed(w, r, err)
		return
	}
	s.afterCloseOrReopen(w, r, sr.ID, "closed")
}

// POST /searches/{id}/reopen and /api/v1/searches/{id}/reopen
// (administrators).
func (s *Server) handleSearchReopen(w http.ResponseWriter, r *http.Request) {
	sr, ok := s.loadSearch(w, r)
	if !ok {
		return
	}
	if err := s.gallery.ReopenSearch(r.Context(), galleryActor(r), sr.ID); err != nil {
		s.reviewFailed(w, r, err)
		return
	}
	s.afterCloseOrReopen(w, r, sr.ID, "reopened")
}

func (s *Server) afterCloseOrReopen(w http.ResponseWriter, r *http.Request, id int64, done string) {
	if !isAPI(r) {
		http.Redirect(w, r, "/searches/"+strconv.FormatInt(id, 10)+"?done="+done, http.StatusSeeOther)
		return
	}
	sr, err := s.db.SearchByID(r.Context(), id)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIReviewState(sr))
}

type apiReview struct {
	Mark       string `json:"mark"`
	Note       string `json:"note"`
	ReviewedBy string `json:"reviewed_by"`
	ReviewedAt int64  `json:"reviewed_at"`
}

func toAPIReview(rv *domain.Review) *apiReview {
	if rv == nil {
		return nil
	}
	return &apiReview{Mark: rv.Mark, Note: rv.Note, ReviewedBy: rv.ReviewedBy, ReviewedAt: rv.ReviewedAt}
}

// apiReviewState is whether a search's review is closed, by whom and with
// which conclusion.
type apiReviewState struct {
	SearchID   int64  `json:"search_id"`
	Closed     bool   `json:"closed"`
	ClosedAt   *int64 `json:"closed_at"`
	ClosedBy   string `json:"closed_by,omitempty"`
	Conclusion string `json:"conclusion"`
}

func toAPIReviewState(sr *domain.Search) apiReviewState {
	out := apiReviewState{SearchID: sr.ID, Closed: sr.ClosedAt != 0, ClosedBy: sr.ClosedBy, Conclusion: sr.Conclusion}
	if sr.ClosedAt != 0 {
		at := sr.ClosedAt
		out.ClosedAt = &at
	}
	return out
}

// reviewData is the supervision list of searches by review state.
type reviewData struct {
	State            string
	States           [][2]string
	Searches         []*domain.Search
	Counts           map[int64]domain.ReviewCount
	Total            int
	Page, Pages      int
	HasPrev, HasNext bool
}

// GET /admin/reviews?state=open|closed|referred — administrators supervise
// the review of every officer's searches.
func (s *Server) handleReviews(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	switch state {
	case store.ReviewAny, store.ReviewOpen, store.ReviewClosed, store.ReviewReferred:
	default:
		state = store.ReviewAny
	}
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	const size = 50
	list, total, err := s.db.ListSearchesByReview(r.Context(), state, size, (pg-1)*size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]int64, len(list))
	for i, sr := range list {
		ids[i] = sr.ID
	}
	counts, err := s.db.ReviewCounts(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := max(1, (total+size-1)/size)
	s.render(w, r, http.StatusOK, "reviews", page{Title: "Reviews", Nav: "reviews", Data: reviewData{
		State: state, States: [][2]string{{"", "All"}, {"open", "Open"}, {"closed", "Closed"}, {"referred", "With a referral"}},
		Searches: list, Counts: counts, Total: total, Page: pg, Pages: pages, HasPrev: pg > 1, HasNext: pg < pages}})
}

// canReview: the officer who ran the search (the page shows the forms to
// them only; the gallery enforces it).
func canReview(u *auth.User, sr *domain.Search) bool {
	return u != nil && u.ID == sr.UserID
}
