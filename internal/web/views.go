package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
)

// auditView records that the request's user was shown target (one audit row
// per page view or download, details listing what was on it) before the
// response is written. Access is recorded or not given: when the row cannot
// be written the request gets 503 and false.
//
// Thumbnails are not recorded one by one: they are shown inside pages whose
// row already lists the references on them (results, compare, gallery).
func (s *Server) auditView(w http.ResponseWriter, r *http.Request, target, details string) bool {
	a := actor(r)
	err := s.audit.Record(r.Context(), audit.Entry{Username: a.Username, ClientIP: a.ClientIP,
		Action: audit.ActionView, Target: target, Outcome: audit.OutcomeSuccess, Details: details})
	if err == nil {
		return true
	}
	s.log.Error("audit write failed: view refused", "target", target, "err", err, "request_id", requestIDFrom(r.Context()))
	e := apperr.Wrap(apperr.EUNAVAILABLE, err, "The audit log is not available; nothing can be shown until it is.")
	if isAPI(r) {
		s.failJSON(w, r, e)
	} else {
		s.fail(w, r, e)
	}
	return false
}

// idList is "1,2,3" (for view details).
func idList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}
