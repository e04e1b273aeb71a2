package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sketchmatch/sketchmatch/internal/logging"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxClientIP
	ctxUser
	ctxSession
)

// requestIDFrom returns the id given to the request by withRequestID.
func requestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(ctxRequestID).(string)
	return s
}

// clientIPFrom returns the client address resolved by withClientIP.
func clientIPFrom(ctx context.Context) string {
	s, _ := ctx.Value(ctxClientIP).(string)
	return s
}

// recoverer turns a panic into the generic 500 page; the stack goes to the
// log only. It is the outermost middleware, so it also covers the others.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "request_id", requestIDFrom(r.Context()), "path", logging.Clip(r.URL.Path, maxLoggedPath), "panic", v, "stack", string(debug.Stack()))
				s.renderError(w, r, http.StatusInternalServerError, "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withRequestID gives every request a random id (shown on error pages and
// in the log), resolves the client IP, and writes one access-log line.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		ip := s.clientIP(r)
		ctx := context.WithValue(r.Context(), ctxRequestID, id)
		ctx = context.WithValue(ctx, ctxClientIP, ip)
		w.Header().Set("X-Request-Id", id)
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		s.metrics.inFlight.Inc()
		defer func() {
			s.metrics.inFlight.Dec()
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			route := routePattern(r)
			method := methodLabel(r.Method)
			dur := time.Since(start)
			s.metrics.observe(method, route, status, dur)
			lvl := slog.LevelInfo
			if status >= 500 {
				lvl = slog.LevelError
			}
			attrs := []any{"request_id", id, "method", method, "path", logging.Clip(r.URL.Path, maxLoggedPath), "route", route,
				"status", status, "bytes", ww.BytesWritten(), "duration_ms", float64(dur.Microseconds()) / 1000, "ip", ip}
			if method == methodOther {
				attrs = append(attrs, "method_sent", logging.Clip(r.Method, maxLoggedMethod))
			}
			if u := userFrom(r.Context()); u != nil {
				attrs = append(attrs, "user", u.Username)
			}
			s.log.Log(r.Context(), lvl, "request", attrs...)
		}()
		next.ServeHTTP(ww, r.WithContext(ctx))
	})
}

// Bounds on request values written to the log (see logging.Clip).
const (
	maxLoggedPath   = 256
	maxLoggedMethod = 16
	maxLoggedHeader = 128
)

// methodOther is the metric label and log value of every method outside
// knownMethods: the method is client-chosen text (up to the header limit),
// and each distinct label value is a new time series kept for the life of
// the process.
const methodOther = "OTHER"

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodConnect: true, http.MethodTrace: true,
}

// methodLabel is r.Method if it is a standard method, else "OTHER".
func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return methodOther
}

// routePattern is the chi route pattern (low cardinality, for metrics).
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// csp is the Content-Security-Policy of every response: everything from our
// own origin, no inline script or style, no plugins, no framing.
const csp = "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the headers every response carries, error pages and
// redirects included (so it runs before anything can write a response).
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// img-src adds blob: to the required policy for one reason: the search
		// form previews the chosen sketch from a local object URL before upload.
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.cfg.Production() {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin rejects cross-site state-changing requests (CSRF) with Go's
// CrossOriginProtection: Sec-Fetch-Site, else Origin compared with Host.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request rejected", "request_id", requestIDFrom(r.Context()), "method", methodLabel(r.Method),
			"path", logging.Clip(r.URL.Path, maxLoggedPath), "origin", logging.Clip(r.Header.Get("Origin"), maxLoggedHeader),
			"sec_fetch_site", logging.Clip(r.Header.Get("Sec-Fetch-Site"), maxLoggedHeader), "ip", clientIPFrom(r.Context()))
		s.renderError(w, r, http.StatusForbidden, "The request came from another site and was refused.")
	}))
	return cop.Handler(next)
}

// noStore keeps authenticated pages out of every cache, so the back button
// after logout does not show protected content.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// clientIP returns the peer address, or the client named in X-Forwarded-For
// / X-Real-IP when (and only when) the peer is a trusted proxy. The
// X-Forwarded-For list is walked from the right, skipping trusted proxies,
// so a client cannot inject an address by sending its own header.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		parts := strings.Split(strings.Join(xff, ","), ",")
		for i := len(parts) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
			if err != nil {
				break
			}
			a = a.Unmap()
			if !s.trusted(a) || i == 0 {
				return a.String()
			}
		}
	}
	if xr := strings.TrimSpace(r.Header.Get("X-Real-IP")); xr != "" {
		if a, err := netip.ParseAddr(xr); err == nil {
			return a.Unmap().String()
		}
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// allowNetworks answers 404 to clients outside nets (used for /metrics).
// It looks at the direct peer, not at forwarded headers.
func allowNetworks(nets []netip.Prefix, deny http.Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, err := netip.ParseAddr(host)
		if err == nil {
			a = a.Unmap()
			for _, p := range nets {
				if p.Contains(a) {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		deny.ServeHTTP(w, r)
	})
}
