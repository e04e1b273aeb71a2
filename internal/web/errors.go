package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/logging"
)

// statusOf maps application error codes to HTTP status: the one place.
func statusOf(err error) int {
	switch apperr.Code(err) {
	case apperr.EINVALID:
		return http.StatusBadRequest
	case apperr.EUNSUPPORTED:
		return http.StatusBadRequest
	case apperr.ENOTFOUND:
		return http.StatusNotFound
	case apperr.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case apperr.EFORBIDDEN:
		return http.StatusForbidden
	case apperr.ECONFLICT:
		return http.StatusConflict
	case apperr.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case apperr.ERATELIMIT:
		return http.StatusTooManyRequests
	case apperr.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	// The database is busy, read-only, full or unreachable (PostgreSQL
	// restarting): a retry later may succeed.
	if domain.IsUnavailable(err) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var errorTitles = map[int]string{
	400: "Bad request",
	401: "Sign-in required",
	403: "Access denied",
	404: "Page not found",
	405: "Method not allowed",
	409: "Conflict",
	413: "File too large",
	429: "Too many requests",
	500: "Something went wrong",
	503: "Temporarily unavailable",
}

var errorTexts = map[int]string{
	400: "The request could not be understood.",
	401: "Please sign in.",
	403: "You do not have permission to open this page.",
	404: "There is nothing at this address.",
	405: "This address does not accept that kind of request.",
	409: "The request conflicts with existing data.",
	413: "The upload is larger than the server accepts.",
	429: "Too many attempts. Please wait a minute and try again.",
	500: "An internal error occurred. It has been logged; please quote the request id to your administrator.",
	503: "The service is busy or not ready. Please try again shortly.",
}

type errorData struct {
	Status  int
	Heading string
	Message string
}

// renderError writes the generic error page. msg "" uses the status's
// standard text; details never reach the page, only the log.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if msg == "" {
		msg = errorTexts[status]
	}
	if isAPI(r) {
		// Under /api/ every error is problem+json, whichever helper
		// (lookup, router, role check) ran into it.
		s.writeProblem(w, r, status, codeOfStatus(status), msg)
		return
	}
	title := errorTitles[status]
	if title == "" {
		title = http.StatusText(status)
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	s.render(w, r, status, "error", page{Title: title, Data: errorData{Status: status, Heading: title, Message: msg}})
}

// fail renders err as an error page with its status and user-facing message;
// internal errors are logged with the request id.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.log.Error("request failed", "request_id", requestIDFrom(r.Context()), "path", logging.Clip(r.URL.Path, maxLoggedPath), "err", err)
		s.renderError(w, r, status, "")
		return
	}
	if status == http.StatusServiceUnavailable {
		s.log.Warn("service unavailable", "request_id", requestIDFrom(r.Context()), "path", logging.Clip(r.URL.Path, maxLoggedPath), "err", err)
	}
	msg := apperr.Message(err)
	if apperr.Code(err) == apperr.EINTERNAL {
		msg = "" // the status's standard text (413 from MaxBytesReader, 503 for a locked database)
	}
	s.renderError(w, r, status, msg)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// problem is an RFC 9457 problem document: the one error format of the
// JSON API.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
}

// ProblemType is the "type" of every problem: one URI per error code.
func ProblemType(code string) string { return "urn:sketchmatch:problem:" + code }

var apiTitles = map[int]string{404: "Not found", 403: "Forbidden", 401: "Unauthorized"}

// writeProblem writes the problem document of status.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	title := apiTitles[status]
	if title == "" {
		title = http.StatusText(status)
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Disposition")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(problem{Type: ProblemType(code), Title: title, Status: status, Detail: detail, Code: code, RequestID: requestIDFrom(r.Context())})
}

// codeOfStatus is the error code of a status that did not come from an
// application error (router 404/405, a 413 from the body limit).
func codeOfStatus(status int) string {
	switch status {
	case 400:
		return apperr.EINVALID
	case 401:
		return apperr.EUNAUTHORIZED
	case 403:
		return apperr.EFORBIDDEN
	case 404:
		return apperr.ENOTFOUND
	case 405:
		return "method_not_allowed"
	case 409:
		return apperr.ECONFLICT
	case 413:
		return apperr.ETOOLARGE
	case 415:
		return apperr.EUNSUPPORTED
	case 422:
		return "unprocessable"
	case 429:
		return apperr.ERATELIMIT
	case 503:
		return apperr.EUNAVAILABLE
	}
	return apperr.EINTERNAL
}

// failJSON is fail for the JSON API: a problem document.
func (s *Server) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := apperr.Message(err)
	if apperr.Code(err) == apperr.EINTERNAL && errorTexts[status] != "" {
		msg = errorTexts[status]
	}
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.log.Error("api request failed", "request_id", requestIDFrom(r.Context()), "path", logging.Clip(r.URL.Path, maxLoggedPath), "err", err)
	}
	if status == http.StatusRequestEntityTooLarge {
		msg = errorTexts[status]
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	code := apperr.Code(err)
	if status == http.StatusRequestEntityTooLarge {
		code = apperr.ETOOLARGE
	}
	s.writeProblem(w, r, status, code, msg)
}
