package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/auth"
)

type tokenRow struct {
	*auth.Token
	State string // live, expired, revoked
}

type tokensData struct {
	Tokens []tokenRow
	Scopes []string
	// Secret is the token just created: shown once, on this response only.
	Secret, SecretName string
	Form               struct {
		Name    string
		Scopes  map[string]bool
		Expires string
	}
}

// GET /admin/tokens
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) {
	flash := ""
	if r.URL.Query().Get("done") == "revoked" {
		flash = "Token revoked: it is refused from now on."
	}
	s.renderTokens(w, r, http.StatusOK, flash, "", tokensData{})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, status int, flash, errMsg string, d tokensData) {
	ts, err := s.auth.ListTokens(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now().Unix()
	for _, t := range ts {
		row := tokenRow{Token: t, State: "live"}
		switch {
		case t.RevokedAt != 0:
			row.State = "revoked"
		case t.ExpiresAt != 0 && now >= t.ExpiresAt:
			row.State = "expired"
		}
		d.Tokens = append(d.Tokens, row)
	}
	d.Scopes = auth.Scopes
	if d.Form.Expires == "" {
		d.Form.Expires = "90"
	}
	s.render(w, r, status, "tokens", page{Title: "API tokens", Nav: "tokens", Flash: flash, Error: errMsg, Data: d})
}

// POST /admin/tokens (name, scope (repeated), expires_days)
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	var d tokensData
	d.Form.Name = clip(strings.TrimSpace(r.PostForm.Get("name")), 64)
	d.Form.Scopes = map[string]bool{}
	for _, sc := range r.PostForm["scope"] {
		d.Form.Scopes[clip(sc, 32)] = true
	}
	d.Form.Expires = clip(strings.TrimSpace(r.PostForm.Get("expires_days")), 6)
	scopes, err := auth.ParseScopes(strings.Join(r.PostForm["scope"], ","))
	var ttl time.Duration
	if err == nil {
		days, perr := strconv.Atoi(d.Form.Expires)
		switch {
		case d.Form.Expires == "0":
		case perr != nil || days < 1 || days > 5*365:
			err = apperr.Errorf(apperr.EINVALID, "The lifetime must be a number of days from 1 to 1825, or 0 for none.")
		default:
			ttl = time.Duration(days) * 24 * time.Hour
		}
	}
	var secret string
	if err == nil {
		secret, _, err = s.auth.CreateToken(r.Context(), actor(r), d.Form.Name, scopes, ttl)
	}
	if err != nil {
		if st := statusOf(err); st == http.StatusBadRequest || st == http.StatusConflict {
			s.renderTokens(w, r, st, "", apperr.Message(err), d)
			return
		}
		s.fail(w, r, err)
		return
	}
	// Shown once, on this response (no-store), never again.
	s.renderTokens(w, r, http.StatusOK, "", "", tokensData{Secret: secret, SecretName: d.Form.Name})
}

// POST /admin/tokens/{name}/revoke
func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.RevokeToken(r.Context(), actor(r), clip(chi.URLParam(r, "name"), 64)); err != nil {
		if statusOf(err) == http.StatusNotFound {
			s.renderTokens(w, r, http.StatusNotFound, "", apperr.Message(err), tokensData{})
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/tokens?done=revoked", http.StatusSeeOther)
}
