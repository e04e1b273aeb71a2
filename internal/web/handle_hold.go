package web

import (
	"net/http"
	"strconv"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// POST /searches/{id}/hold and /api/v1/searches/{id}/hold (admin), form
// field hold=1|0: a search on legal hold is never purged by retention.
// The change and its audit row (search_hold) commit together.
func (s *Server) handleSearchHold(w http.ResponseWriter, r *http.Request) {
	failed := func(err error) {
		if isAPI(r) {
			s.failJSON(w, r, err)
		} else {
			s.fail(w, r, err)
		}
	}
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		failed(apperr.Errorf(apperr.EINVALID, "The form could not be read."))
		return
	}
	var hold bool
	switch r.PostForm.Get("hold") {
	case "1", "on", "true":
		hold = true
	case "0", "off", "false":
	default:
		failed(apperr.Errorf(apperr.EINVALID, "Say hold=1 to put the search on legal hold or hold=0 to release it."))
		return
	}
	a := actor(r)
	outcome := "released"
	if hold {
		outcome = "held"
	}
	entry, err := s.audit.Entry(audit.Entry{Username: a.Username, ClientIP: a.ClientIP,
		Action: audit.ActionSearchHold, Target: "search:" + strconv.FormatInt(id, 10), Outcome: audit.OutcomeSuccess, Details: outcome})
	if err == nil {
		err = s.db.SetSearchHold(r.Context(), id, hold, entry)
	}
	if domain.IsNotFound(err) {
		failed(apperr.Errorf(apperr.ENOTFOUND, "Search #%d does not exist.", id))
		return
	}
	if err != nil {
		failed(err)
		return
	}
	if isAPI(r) {
		writeJSON(w, http.StatusOK, map[string]any{"search_id": id, "hold": hold})
		return
	}
	http.Redirect(w, r, "/searches/"+strconv.FormatInt(id, 10)+"?done="+outcome, http.StatusSeeOther)
}
