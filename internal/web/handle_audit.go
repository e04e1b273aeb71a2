package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sketchmatch/sketchmatch/internal/apperr"

	"github.com/sketchmatch/sketchmatch/internal/store"
)

const auditPageSize = 50

type auditData struct {
	Filter   store.AuditFilter
	From, To string // as typed (dates)
	Query    string // the filter as a query string ("" when none)
	// Links carrying the filter, built from url.Values (safe as URLs).
	CSVHref, PrevHref, NextHref template.URL
	Rows                        []store.AuditRow
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
		status, errMsg, f = http.StatusBadRequest, apperr.Message(ferr), store.AuditFilter{}
	}
	rows, total, err := s.db.ListAuditFiltered(r.Context(), f, auditPageSize, (pg-1)*auditPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := url.Values{}
	for k, v := range map[string]string{"user": f.Username, "action": f.Action, "from": r.URL.Query().Get("from"), "to": r.URL.Query().Get("to")} {
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
