package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/httprate"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/auth"
)

type tokenCtxKey struct{}

// tokenFrom is the service token a request authenticated with (nil for
// browser sessions).
func tokenFrom(ctx context.Context) *auth.Token {
	t, _ := ctx.Value(tokenCtxKey{}).(*auth.Token)
	return t
}

// scopeFor is the scope a service token needs for an API request; "" means
// the route is not open to tokens.
func scopeFor(method, path string) string {
	switch {
	case strings.HasSuffix(path, "/hold"), strings.HasSuffix(path, "/reopen"):
		return "" // legal holds and reopening a review are for administrators in person
	case path == "/api/v1/search" || strings.HasPrefix(path, "/api/v1/searches"):
		return auth.ScopeSearch
	case path == "/api/v1/references" || strings.HasPrefix(path, "/api/v1/references/"),
		path == "/api/v1/subjects" || strings.HasPrefix(path, "/api/v1/subjects/"):
		if method == http.MethodGet || method == http.MethodHead {
			return auth.ScopeReferencesRead
		}
		return auth.ScopeReferencesWrite
	case path == "/api/v1/audit" && (method == http.MethodGet || method == http.MethodHead):
		return auth.ScopeAuditRead
	}
	return ""
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// bearerAuth authenticates `Authorization: Bearer` service tokens on
// /api/v1 (never on pages). A token is checked against the database on
// every request (a revoke is immediate), must carry the route's scope, is
// rate limited per token, and every use is audited under its name. A
// request with both a session cookie and a bearer token is refused: the
// two must never mix (a cookie would bring CSRF exposure back).
func (s *Server) bearerAuth(next http.Handler) http.Handler {
	limited := httprate.Limit(s.cfg.TokenRateLimit, time.Minute,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) { return "token:" + tokenFrom(r.Context()).Name, nil }),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.log.Warn("token rate limit", "token", tokenFrom(r.Context()).Name, "request_id", requestIDFrom(r.Context()))
			w.Header().Set("Retry-After", "60")
			s.writeProblem(w, r, http.StatusTooManyRequests, apperr.ERATELIMIT, fmt.Sprintf("More than %d requests a minute with this token.", s.cfg.TokenRateLimit))
		}))(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !isAPI(r) {
			s.renderError(w, r, http.StatusBadRequest, "API tokens are accepted on /api/v1 only.")
			return
		}
		if _, err := r.Cookie(s.cookieName); err == nil || userFrom(r.Context()) != nil {
			s.writeProblem(w, r, http.StatusBadRequest, apperr.EINVALID, "Send either a session cookie or a bearer token, not both.")
			return
		}
		scheme, plain, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sketchmatch"`)
			s.writeProblem(w, r, http.StatusUnauthorized, apperr.EUNAUTHORIZED, "Use Authorization: Bearer <token>.")
			return
		}
		t, u, err := s.auth.VerifyToken(r.Context(), strings.TrimSpace(plain), clientIPFrom(r.Context()))
		if err != nil {
			if apperr.Code(err) == apperr.EUNAUTHORIZED {
				s.log.Warn("invalid API token", "ip", clientIPFrom(r.Context()), "request_id", requestIDFrom(r.Context()))
				w.Header().Set("WWW-Authenticate", `Bearer realm="sketchmatch", error="invalid_token"`)
			}
			s.failJSON(w, r, err)
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), ctxUser, u), tokenCtxKey{}, t)
		r = r.WithContext(ctx)
		scope := scopeFor(r.Method, r.URL.Path)
		if scope == "" || !auth.HasScope(t, scope) {
			msg := "This route is not open to API tokens."
			if scope != "" {
				msg = fmt.Sprintf("The token %q lacks the scope %q this request needs.", t.Name, scope)
			}
			s.auditTokenUse(r, t, http.StatusForbidden)
			s.writeProblem(w, r, http.StatusForbidden, apperr.EFORBIDDEN, msg)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		limited.ServeHTTP(rec, r)
		s.auditTokenUse(r, t, rec.status)
	})
}

// auditTokenUse records one request made with a token.
func (s *Server) auditTokenUse(r *http.Request, t *auth.Token, status int) {
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200] + "…"
	}
	if err := s.audit.Record(context.WithoutCancel(r.Context()), audit.Entry{Username: auth.TokenUserPrefix + t.Name, ClientIP: clientIPFrom(r.Context()),
		Action: audit.ActionTokenUse, Target: r.Method + " " + path, Outcome: outcomeOf(status), Details: "status=" + strconv.Itoa(status)}); err != nil {
		s.log.Error("auditing a token's use", "token", t.Name, "err", err)
	}
}

func outcomeOf(status int) string {
	switch {
	case status < 400:
		return audit.OutcomeSuccess
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests:
		return audit.OutcomeDenied
	}
	return audit.OutcomeFailure
}
