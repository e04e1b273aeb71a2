package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// GET /healthz: the process is alive. No dependencies are checked.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// GET /readyz: 200 only when the database answers and the model is loaded.
// Anyone may ask (nginx passes it through), so the answer is the status
// alone; what is wrong (which can name file-system paths) goes to the log,
// to `sketchmatch check`, and to a caller on this machine that did not come
// through a proxy.
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
	if s.gallery != nil {
		if err := s.gallery.IndexErr(); err != nil {
			ok = false
			out["index"] = "unavailable: " + err.Error()
		}
	}
	status, code := "ready", http.StatusOK
	if !ok {
		status, code = "unavailable", http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
		s.log.Warn("not ready", "database", out["database"], "model", out["model"], "index", out["index"], "request_id", requestIDFrom(r.Context()))
	}
	if !localDirect(r) {
		out = map[string]string{}
	}
	out["status"] = status
	writeJSON(w, code, out)
}

// localDirect reports whether r comes from this machine without a proxy:
// a loopback peer and no forwarding header (nginx, also on loopback, always
// sets X-Forwarded-For).
func localDirect(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsLoopback() {
		return false
	}
	for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded"} {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	return true
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
