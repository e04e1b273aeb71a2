// Package web is SketchMatch's HTTP layer: routes, middleware, handlers and
// templates. Handlers are thin: parse and validate input, call a package,
// render.
package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-chi/httprate"
	"github.com/gorilla/sessions"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/config"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	webfs "github.com/sketchmatch/sketchmatch/web"
)

// Deps is what the server needs; internal/app builds it.
type Deps struct {
	Config *config.Config
	Logger *slog.Logger
	DB     Store
	Auth   *auth.Service
	Audit  *audit.Log
	// Gallery is the reference gallery and search service. Without a
	// loaded model it still serves the gallery and explains that search is
	// unavailable.
	Gallery *gallery.Service
}

// Server holds the parsed templates, the cookie store and the services.
type Server struct {
	api         *apiDoc // the OpenAPI document of /api/v1
	cfg         *config.Config
	log         *slog.Logger
	db          Store
	auth        *auth.Service
	audit       *audit.Log
	gallery     *gallery.Service
	cookies     *sessions.CookieStore
	cookieName  string
	cookieCache cookieCache
	tmpl        map[string]*template.Template
	static      *staticFiles
	metrics     *metrics
	now         func() time.Time
}

// New builds a Server; templates and static files are parsed here, once.
func New(d Deps) (*Server, error) {
	if d.Config == nil || d.DB == nil || d.Auth == nil || d.Audit == nil || d.Logger == nil || d.Gallery == nil {
		return nil, errors.New("web: missing dependency")
	}
	s := &Server{cfg: d.Config, log: d.Logger, db: d.DB, auth: d.Auth, audit: d.Audit, gallery: d.Gallery,
		metrics: newMetrics(), now: time.Now}
	var err error
	if s.static, err = loadStatic(webfs.Static()); err != nil {
		return nil, err
	}
	if s.tmpl, err = parseTemplates(webfs.Templates(), s.funcs()); err != nil {
		return nil, err
	}
	if s.api, err = loadAPIDoc(); err != nil {
		return nil, err
	}
	if s.cookies, s.cookieName, err = newCookieStore(d.Config.SecretKey, d.Config.Production(),
		int(d.Config.SessionMaxLifetime.Seconds())); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the router: the site map is routes.go.
func (s *Server) Handler() http.Handler { return s.routes() }

// loginRateLimit answers 429 past LOGIN_RATE_LIMIT POST /login per minute
// per client (the resolved IP, so proxies are honoured; see rateKey).
//
// On PostgreSQL the counts live in the database (store.RateCounter), so the
// limit holds whichever instance nginx sends each attempt to; if the
// database cannot count, the attempt is answered 503 (login could not
// proceed without the database anyway).
func (s *Server) loginRateLimit() func(http.Handler) http.Handler {
	var shared []httprate.Option
	if c := s.db.SharedRateCounter("login"); c != nil {
		shared = append(shared, httprate.WithLimitCounter(c),
			httprate.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
				s.log.Error("login rate limit: counting failed", "err", err, "request_id", requestIDFrom(r.Context()))
				s.renderError(w, r, http.StatusServiceUnavailable, "")
			}))
	}
	return httprate.Limit(s.cfg.LoginRateLimit, time.Minute, append(shared,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) { return rateKey(clientIPFrom(r.Context())), nil }),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			// Logged, not audited: an audit row per refused request would let
			// anyone flood the trail.
			s.log.Warn("login rate limit", "ip", clientIPFrom(r.Context()), "request_id", requestIDFrom(r.Context()))
			w.Header().Set("Retry-After", "60")
			s.renderError(w, r, http.StatusTooManyRequests, "")
		}))...)
}

// rateKey is the rate-limit key of a client address: an IPv4 address as is,
// an IPv6 address by its /64. One subscriber (one host, even) is routinely
// given a whole /64 and can pick any of its 2^64 addresses, so keying on the
// /128 would give an attacker a fresh allowance per request.
func rateKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

// ListenAndServe serves until ctx is cancelled (SIGTERM/SIGINT), then shuts
// down gracefully: in-flight requests get up to SHUTDOWN_TIMEOUT to finish.
func (s *Server) ListenAndServe(ctx context.Context, ready chan<- string) error {
	srv := s.HTTPServer()
	ln, err := listen(srv.Addr)
	if err != nil {
		return err
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "env", s.cfg.AppEnv)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return err
	}
	return nil
}

// HTTPServer returns an *http.Server with every timeout set.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Addr:              s.cfg.Addr(),
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout, // long enough for inference
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
