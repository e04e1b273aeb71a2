package web

import (
	"net/http"
	"strconv"

	"github.com/sketchmatch/sketchmatch/internal/store"
)

const auditPageSize = 50

type auditData struct {
	Rows             []store.AuditRow
	Total            int
	Page, Pages      int
	HasPrev, HasNext bool
}

// GET /admin/audit?page=N — newest first.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if pg < 1 {
		pg = 1
	}
	rows, total, err := s.audit.List(r.Context(), auditPageSize, (pg-1)*auditPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pages := (total + auditPageSize - 1) / auditPageSize
	if pages < 1 {
		pages = 1
	}
	s.render(w, r, http.StatusOK, "audit", page{Title: "Audit trail", Nav: "audit", Data: auditData{
		Rows: rows, Total: total, Page: pg, Pages: pages, HasPrev: pg > 1, HasNext: pg < pages}})
}
