package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

const auditPageSize = 50

type auditData struct {
	Filter   domain.AuditFilter
	From, To string // as typed (dates)
	Query    string // the filter as a query string ("" when none)
	// Links carrying the filter, built from url.Values (safe as URLs).
	CSVHref, PrevHref, NextHref template.URL
	Rows                        []domain.AuditRow
	Total                       int
	Page, Pages                 int
	HasPrev, HasNext            bool
}

// GET /admin/audit?page=N — newest first.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if pg < 1 {
		pg = 1
	}
	f, ferr := auditFilter(r.URL.Query())
	status, errMsg := http.StatusOK, ""
	if ferr != nil {
		status, errMsg, f = http.StatusBadRequest, apperr.Message(ferr), domain.AuditFilter{}
	}
	rows, total, err := s.db.ListAuditFiltered(r.Context(), f, auditPageSize, (pg-1)*auditPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := url.Values{}
	for k, v := range map[string]string{"user": f.Username, "action": f.Action, "outcome": f.Outcome, "from": r.URL.Query().Get("from"), "to": r.URL.Query().Get("to")} {
		if v != "" && ferr == nil {
			q.Set(k, v)
		}
	}
	pages := (total + auditPageSize - 1) / auditPageSize
	if pages < 1 {
		pages = 1
	}
	s.render(w, r, status, "audit", page{Title: "Audit trail", Nav: "audit", Error: errMsg, Data: auditData{
		Filter: f, From: q.Get("from"), To: q.Get("to"), Query: q.Encode(),
		CSVHref: pageLink("/admin/audit.csv", q, 0), PrevHref: pageLink("/admin/audit", q, pg-1), NextHref: pageLink("/admin/audit", q, pg+1),
		Rows: rows, Total: total, Page: pg, Pages: pages, HasPrev: pg > 1, HasNext: pg < pages}})
}

// pageLink is path with the filter q and, when pg > 0, the page number.
func pageLink(path string, q url.Values, pg int) template.URL {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	if pg > 0 {
		v.Set("page", strconv.Itoa(pg))
	}
	if len(v) == 0 {
		return template.URL(path)
	}
	return template.URL(path + "?" + v.Encode())
}

// detailPair is one key=value of an audit row's details.
type detailPair struct{ Key, Value string }

// auditPairs splits an audit row's details (key=value, values optionally
// Go-quoted) into pairs for reading; text that is not key=value stays one
// pair with an empty key.
func auditPairs(details string) []detailPair {
	var out []detailPair
	rest := strings.TrimSpace(details)
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		sp := strings.IndexByte(rest, ' ')
		if eq <= 0 || (sp >= 0 && sp < eq) {
			return append(out, detailPair{Value: rest})
		}
		key, rest2 := rest[:eq], rest[eq+1:]
		var val string
		if strings.HasPrefix(rest2, `"`) {
			q, err := strconv.QuotedPrefix(rest2)
			if err != nil {
				return append(out, detailPair{Value: rest})
			}
			val, _ = strconv.Unquote(q)
			rest2 = rest2[len(q):]
		} else if i := strings.IndexByte(rest2, ' '); i >= 0 {
			val, rest2 = rest2[:i], rest2[i:]
		} else {
			val, rest2 = rest2, ""
		}
		out = append(out, detailPair{Key: strings.ReplaceAll(key, "_", " "), Value: val})
		rest = strings.TrimSpace(rest2)
	}
	return out
}

// auditTone is the colour of a row's outcome: a success that is bad news
// (a lockout) is a warning, not a green tick.
func auditTone(action, outcome string) string {
	switch {
	case outcome != "success":
		return "warn"
	case action == "lockout" || action == "login_failed" || action == "user_disable":
		return "warn"
	}
	return "good"
}
