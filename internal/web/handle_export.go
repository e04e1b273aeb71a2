package web

import (
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// csvSafe keeps a cell from being read as a formula by a spreadsheet
// (OWASP "CSV injection"): a cell starting with = + - @ or a tab or
// carriage return is prefixed with an apostrophe.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func csvRow(w *csv.Writer, cells ...string) error {
	for i := range cells {
		cells[i] = csvSafe(cells[i])
	}
	return w.Write(cells)
}

func startCSV(w http.ResponseWriter, name string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.Header().Set("Cache-Control", "no-store")
	return csv.NewWriter(w)
}

// auditExport records an export before it is handed out.
func (s *Server) auditExport(r *http.Request, target, details string) error {
	a := actor(r)
	return s.audit.Record(r.Context(), audit.Entry{Username: a.Username, ClientIP: a.ClientIP, Action: audit.ActionExport,
		Target: target, Outcome: audit.OutcomeSuccess, Details: details})
}

// GET /searches.csv?case= — the history the user may see (officers their
// own, admins everyone's), as CSV.
func (s *Server) handleSearchesCSV(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	caseNo := clip(strings.TrimSpace(r.URL.Query().Get("case")), 64)
	var uid int64
	if u.Role != auth.RoleAdmin {
		uid = u.ID
	}
	from, to, err := dateRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, apperr.Message(err))
		return
	}
	if err := s.auditExport(r, "searches", fmt.Sprintf("format=csv case=%q from=%d to=%d all_users=%t", caseNo, from, to, uid == 0)); err != nil {
		s.fail(w, r, err)
		return
	}
	cw := startCSV(w, "sketchmatch-searches.csv")
	csvRow(cw, "search_id", "created_at_utc", "username", "case_number", "face_in_sketch", "references_searched", "candidates_requested", "model", "calibration_id", "sketch_sha256", "witness_filter", "filter_kept",
		"review", "referred", "possible", "excluded")
	const page = 500
	for off := 0; ; off += page {
		list, _, err := s.db.ListSearchesBetween(r.Context(), uid, caseNo, from, to, page, off)
		if err != nil {
			s.log.Error("searches export", "err", err, "request_id", requestIDFrom(r.Context()))
			return // the body has started: the truncated file is all we can do
		}
		ids := make([]int64, len(list))
		for i, sr := range list {
			ids[i] = sr.ID
		}
		filters, err := s.db.SearchFilters(r.Context(), ids)
		if err != nil {
			s.log.Error("searches export", "err", err, "request_id", requestIDFrom(r.Context()))
			return
		}
		counts, err := s.db.ReviewCounts(r.Context(), ids)
		if err != nil {
			s.log.Error("searches export", "err", err, "request_id", requestIDFrom(r.Context()))
			return
		}
		for _, sr := range list {
			cal := ""
			if sr.CalibrationID != 0 {
				cal = strconv.FormatInt(sr.CalibrationID, 10)
			}
			fc := filterCells(filters, sr.ID)
			csvRow(cw, strconv.FormatInt(sr.ID, 10), time.Unix(sr.CreatedAt, 0).UTC().Format(time.RFC3339), sr.Username, sr.CaseNumber,
				faceWord(sr), strconv.Itoa(sr.GallerySize), strconv.Itoa(sr.K), sr.ModelID, cal, sr.SketchSHA256, fc[0], fc[1],
				reviewWord(sr), strconv.Itoa(counts[sr.ID].Referred), strconv.Itoa(counts[sr.ID].Possible), strconv.Itoa(counts[sr.ID].Excluded))
		}
		if len(list) < page {
			break
		}
	}
	cw.Flush()
}

// reviewWord is a search's review state: open or closed.
func reviewWord(sr *domain.Search) string {
	if sr.ClosedAt != 0 {
		return "closed"
	}
	return "open"
}

// filterCells is a search's witness filter and "kept/total" ("", "" when
// unfiltered).
func filterCells(filters map[int64]domain.SearchFilter, id int64) [2]string {
	f, ok := filters[id]
	if !ok {
		return [2]string{"", ""}
	}
	return [2]string{f.Description, fmt.Sprintf("%d/%d", f.Kept, f.Total)}
}

func faceWord(sr *domain.Search) string {
	switch {
	case sr.FaceSource != "":
		return sr.FaceSource
	case sr.FaceFound:
		return domain.FaceDetected
	}
	return domain.FaceNone
}

// auditFilter reads the audit page's filters: user, action, from and to
// (dates, YYYY-MM-DD, both inclusive).
func auditFilter(q url.Values) (domain.AuditFilter, error) {
	f := domain.AuditFilter{Username: clip(strings.TrimSpace(q.Get("user")), 64), Action: clip(strings.TrimSpace(q.Get("action")), 64),
		Outcome: clip(strings.TrimSpace(q.Get("outcome")), 16)}
	for _, c := range []struct {
		key string
		dst *string
		add int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		v := strings.TrimSpace(q.Get(c.key))
		if v == "" {
			continue
		}
		d, err := time.Parse("2006-01-02", v)
		if err != nil {
			return f, apperr.Errorf(apperr.EINVALID, "The %q date must be written YYYY-MM-DD.", c.key)
		}
		*c.dst = d.AddDate(0, 0, c.add).Format("2006-01-02")
	}
	if f.From != "" && f.To != "" && f.From >= f.To {
		return f, apperr.Errorf(apperr.EINVALID, "The \"from\" date must not be after the \"to\" date.")
	}
	return f, nil
}

// GET /admin/audit.csv?user=&action=&from=&to= — the filtered trail, oldest
// first, as CSV.
func (s *Server) handleAuditCSV(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, apperr.Message(err))
		return
	}
	if err := s.auditExport(r, "audit", fmt.Sprintf("format=csv user=%q action=%q outcome=%q from=%q to=%q", f.Username, f.Action, f.Outcome, f.From, f.To)); err != nil {
		s.fail(w, r, err)
		return
	}
	cw := startCSV(w, "sketchmatch-audit.csv")
	csvRow(cw, "id", "at_utc", "username", "client_ip", "action", "target", "outcome", "details", "hash")
	err = s.db.EachAuditFiltered(r.Context(), f, func(a *domain.AuditRow) error {
		return csvRow(cw, strconv.FormatInt(a.ID, 10), a.At, a.Username, a.ClientIP, a.Action, a.Target, a.Outcome, a.Details, a.Hash)
	})
	if err != nil {
		s.log.Error("audit export", "err", err, "request_id", requestIDFrom(r.Context()))
	}
	cw.Flush()
}

type apiAuditEntry struct {
	ID       int64  `json:"id"`
	At       string `json:"at"`
	Username string `json:"username"`
	ClientIP string `json:"client_ip"`
	Action   string `json:"action"`
	Target   string `json:"target"`
	Outcome  string `json:"outcome"`
	Details  string `json:"details"`
	Hash     string `json:"hash"`
}

// GET /api/v1/audit?user=&action=&from=&to=&limit=&cursor= — the audit
// trail, newest first, a page at a time (next_cursor is opaque; absent on
// the last page).
func (s *Server) handleAPIAudit(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	limit, before, err := apiPage(r)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	f.BeforeID = before
	rows, total, err := s.db.ListAuditFiltered(r.Context(), f, limit+1, 0)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	out := struct {
		Entries    []apiAuditEntry `json:"entries"`
		Total      int             `json:"total"`
		NextCursor string          `json:"next_cursor,omitempty"`
	}{Entries: []apiAuditEntry{}, Total: total}
	for i, a := range rows {
		if i == limit {
			out.NextCursor = encodeCursor(rows[i-1].ID)
			break
		}
		out.Entries = append(out.Entries, apiAuditEntry{ID: a.ID, At: a.At, Username: a.Username, ClientIP: a.ClientIP,
			Action: a.Action, Target: a.Target, Outcome: a.Outcome, Details: a.Details, Hash: a.Hash})
	}
	writeJSON(w, http.StatusOK, out)
}

// apiPage reads an API list's page: limit (default 100, at most 1000) and
// the cursor to continue below (0: the first page).
func apiPage(r *http.Request) (limit int, before int64, err error) {
	q := r.URL.Query()
	if limit, err = pageLimit(q.Get("limit"), 100, 1000); err != nil {
		return 0, 0, err
	}
	if before, err = decodeCursor(q.Get("cursor")); err != nil {
		return 0, 0, err
	}
	return limit, before, nil
}

// pageLimit reads a list's limit parameter.
func pageLimit(v string, def, maxLimit int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, apperr.Errorf(apperr.EINVALID, "limit must be a whole number from 1 to %d.", maxLimit)
	}
	return n, nil
}

// Cursors are opaque to clients: the id to continue below, base64url.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("b" + strconv.FormatInt(id, 10)))
}

func decodeCursor(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err == nil && len(raw) > 1 && raw[0] == 'b' {
		if id, err := strconv.ParseInt(string(raw[1:]), 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, apperr.Errorf(apperr.EINVALID, "The cursor is not one this server handed out.")
}
