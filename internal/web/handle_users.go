package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/auth"
)

type userRow struct {
	*auth.User
	LockedNow bool
	Self      bool // the signed-in admin's own row (no Disable offered)
}

type usersData struct {
	Users []userRow
	Form  struct{ Username, Role string }
}

var userFlashes = map[string]string{
	"created":  "User created.",
	"disabled": "User disabled; their sessions have ended.",
	"enabled":  "User enabled.",
	"password": "Password changed; the user's sessions have ended.",
	"unlocked": "User unlocked: they can sign in again now.",
}

// GET /admin/users
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	s.renderUsers(w, r, http.StatusOK, userFlashes[r.URL.Query().Get("done")], "", "", "")
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, status int, flash, errMsg, username, role string) {
	users, err := s.auth.ListUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := usersData{}
	for _, u := range users {
		me := userFrom(r.Context())
		d.Users = append(d.Users, userRow{User: u, LockedNow: u.Locked(s.now()), Self: me != nil && me.ID == u.ID})
	}
	d.Form.Username, d.Form.Role = username, role
	s.render(w, r, status, "users", page{Title: "Users", Nav: "users", Flash: flash, Error: errMsg, Data: d})
}

// POST /admin/users (username, role, password, password_confirm)
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	role := r.PostForm.Get("role")
	pw, confirm := r.PostForm.Get("password"), r.PostForm.Get("password_confirm")
	if pw != confirm {
		s.renderUsers(w, r, http.StatusBadRequest, "", "The two passwords do not match.", clip(username, 64), role)
		return
	}
	if _, err := s.auth.CreateUser(r.Context(), actor(r), username, pw, role); err != nil {
		if st := statusOf(err); st < 500 {
			s.renderUsers(w, r, st, "", apperr.Message(err), clip(username, 64), role)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?done=created", http.StatusSeeOther)
}

func (s *Server) handleUserDisable(w http.ResponseWriter, r *http.Request) { s.setDisabled(w, r, true) }
func (s *Server) handleUserEnable(w http.ResponseWriter, r *http.Request)  { s.setDisabled(w, r, false) }

func (s *Server) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	if u := userFrom(r.Context()); disabled && u != nil && u.ID == id {
		s.renderUsers(w, r, http.StatusBadRequest, "", "You cannot disable your own account.", "", "")
		return
	}
	if err := s.auth.SetDisabled(r.Context(), actor(r), id, disabled); err != nil {
		s.fail(w, r, err)
		return
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	http.Redirect(w, r, "/admin/users?done="+done, http.StatusSeeOther)
}

// POST /admin/users/{id}/password (password, password_confirm)
func (s *Server) handleUserPassword(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	pw, confirm := r.PostForm.Get("password"), r.PostForm.Get("password_confirm")
	if pw != confirm {
		s.renderUsers(w, r, http.StatusBadRequest, "", "The two passwords do not match.", "", "")
		return
	}
	if err := s.auth.SetPassword(r.Context(), actor(r), id, pw); err != nil {
		if st := statusOf(err); st < 500 {
			s.renderUsers(w, r, st, "", apperr.Message(err), "", "")
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?done=password", http.StatusSeeOther)
}

// idParam parses the {id} URL parameter; a bad one renders 404.
func (s *Server) idParam(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderError(w, r, http.StatusNotFound, "")
		return 0, false
	}
	return id, true
}

// POST /admin/users/{id}/unlock — end a login lock now (audited).
func (s *Server) handleUserUnlock(w http.ResponseWriter, r *http.Request) {
	id, ok := s.idParam(w, r)
	if !ok {
		return
	}
	if err := s.auth.Unlock(r.Context(), actor(r), id); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?done=unlocked", http.StatusSeeOther)
}
