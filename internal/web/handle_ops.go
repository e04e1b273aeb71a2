package web

import (
	"context"
	"net/http"
	"time"
)

// GET /healthz: the process is alive. No dependencies are checked.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// GET /readyz: 200 only when the database answers and the model is loaded.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := map[string]string{}
	ok := true
	if err := s.db.Ping(ctx); err != nil {
		ok = false
		out["database"] = "unavailable: " + err.Error()
	} else {
		out["database"] = "ok"
	}
	if model, err := s.modelState(); err != nil {
		ok = false
		out["model"] = "unavailable: " + err.Error()
	} else {
		out["model"] = model
	}
	if !ok {
		out["status"] = "unavailable"
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, out)
		return
	}
	out["status"] = "ready"
	writeJSON(w, http.StatusOK, out)
}

// modelState is the active model id or why there is none.
func (s *Server) modelState() (string, error) {
	return s.gallery.ModelStatus()
}

// modelStatus is the footer text.
func (s *Server) modelStatus() string {
	id, err := s.modelState()
	if err != nil {
		return "no model loaded (search unavailable)"
	}
	return id
}
