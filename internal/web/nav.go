package web

import (
	"net/http"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// searchNav is the navigation entry highlighted on a recorded search's own
// pages (its result and its compare views).
//
// The viewer's latest search is the one they are working on: "Search" (the
// page a new search lands on, and where the officer goes on from, to compare
// candidates, print or hold it, reload). Any older search, and any search of
// another officer an admin opens, was looked up in the record: "History".
// The rule reads only the database, so it holds the same way on reload, after
// a hold or from a bookmark, and needs no state in links or the session.
func (s *Server) searchNav(r *http.Request, sr *domain.Search) string {
	u := userFrom(r.Context())
	if u == nil || u.ID != sr.UserID {
		return "history"
	}
	latest, _, err := s.db.ListSearches(r.Context(), u.ID, "", 1, 0)
	if err != nil || len(latest) == 0 || latest[0].ID != sr.ID {
		return "history" // a failed look-up only changes a highlight
	}
	return "search"
}
