package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

type loginData struct {
	Username string
	// Failed is the message of a failed sign-in, shown with the form,
	// with the lockout policy (the same for every failure: no account
	// enumeration).
	Failed, Policy string
}

// GET /login
func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if userFrom(r.Context()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginData{}})
}

// POST /login. Unknown user, wrong password, disabled and locked accounts all
// get the same page, status and timing class (the auth package sees to the
// timing).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The sign-in form could not be read.")
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	if username == "" || password == "" || len(username) > 64 || len(password) > 1024 {
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in",
			Data: loginData{Username: clip(username, 64), Failed: "Invalid username or password.", Policy: s.lockoutPolicy()}})
		return
	}
	token, u, err := s.auth.Login(r.Context(), username, password, clientIPFrom(r.Context()), r.UserAgent())
	if err != nil {
		if apperr.Code(err) != apperr.EUNAUTHORIZED {
			s.fail(w, r, err)
			return
		}
		// The name is not logged here: it may be a password typed into the
		// wrong field (the auth package logs known names, and unknown ones
		// as auth.UnknownUserTag).
		s.log.Info("login failed", "ip", clientIPFrom(r.Context()), "request_id", requestIDFrom(r.Context()))
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in",
			Data: loginData{Username: clip(username, 64), Failed: apperr.Message(err), Policy: s.lockoutPolicy()}})
		return
	}
	// A fresh token on every login: any cookie the browser held before
	// (possibly planted) is replaced, so session fixation gets nothing.
	if err := s.setSessionCookie(w, r, token); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("login", "user", u.Username, "role", u.Role, "ip", clientIPFrom(r.Context()))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// POST /logout deletes the session row, so replaying the old cookie fails.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if token, _ := r.Context().Value(ctxSession).(string); token != "" {
		if err := s.auth.Logout(r.Context(), token, actor(r)); err != nil {
			s.log.Error("logout", "err", err, "request_id", requestIDFrom(r.Context()))
		}
	}
	s.clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// lockoutPolicy says what happens after repeated failures.
func (s *Server) lockoutPolicy() string {
	return fmt.Sprintf("After %d failed attempts an account is locked for %s; an administrator can unlock it.",
		s.cfg.LoginMaxFailures, humanDuration(s.cfg.LoginLockout))
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%d minutes", int(d.Round(time.Minute)/time.Minute))
	}
	return d.String()
}
