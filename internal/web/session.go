package web

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"

	"github.com/gorilla/sessions"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/logging"
)

// The cookie (signed and encrypted by gorilla/sessions with keys derived
// from SECRET_KEY) carries only the random session token; the sessions
// table is the truth, so logout and revocation take effect at once.
const tokenKey = "t"

func newCookieStore(secret []byte, production bool, maxAge int) (*sessions.CookieStore, string, error) {
	hashKey, err := hkdf.Key(sha256.New, secret, nil, "sketchmatch cookie signing", 64)
	if err != nil {
		return nil, "", err
	}
	blockKey, err := hkdf.Key(sha256.New, secret, nil, "sketchmatch cookie encryption", 32)
	if err != nil {
		return nil, "", err
	}
	cs := sessions.NewCookieStore(hashKey, blockKey)
	cs.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   production,
		SameSite: http.SameSiteLaxMode,
	}
	cs.MaxAge(maxAge)
	name := "sketchmatch_session"
	if production {
		// __Host- prefix: the browser only accepts it with Secure, Path=/ and
		// no Domain, so a sibling subdomain cannot plant or read it.
		name = "__Host-sketchmatch"
	}
	return cs, name, nil
}

func userFrom(ctx context.Context) *auth.User {
	u, _ := ctx.Value(ctxUser).(*auth.User)
	return u
}

// tokenFrom returns the session token from the cookie, "" if none or invalid.
//
// Decoding a cookie (HMAC check, AES decryption, gob) costs more than the
// rest of a page view, and a browser sends the same cookie on every request,
// so verified cookie values are remembered. The mapping value → token is
// fixed (an attacker cannot make a different value decode to a token without
// the keys), and the sessions table still decides whether the token is valid.
func (s *Server) tokenFrom(r *http.Request) string {
	c, err := r.Cookie(s.cookieName)
	if err != nil || c.Value == "" {
		return ""
	}
	if t, ok := s.cookieCache.get(c.Value); ok {
		return t
	}
	sess, err := s.cookies.Get(r, s.cookieName)
	if err != nil {
		return ""
	}
	t, _ := sess.Values[tokenKey].(string)
	if t != "" {
		s.cookieCache.put(c.Value, t)
	}
	return t
}

// cookieCache is a bounded map of verified cookie values to tokens; it is
// simply emptied when full (a refill costs one decode per active browser).
type cookieCache struct {
	mu sync.Mutex
	m  map[string]string
}

const cookieCacheMax = 10000

func (c *cookieCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *cookieCache) put(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= cookieCacheMax {
		c.m = make(map[string]string)
	}
	c.m[k] = v
}

// setSessionCookie writes a fresh cookie carrying token.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) error {
	sess := sessions.NewSession(s.cookies, s.cookieName)
	opts := *s.cookies.Options
	sess.Options = &opts
	sess.Values[tokenKey] = token
	return s.cookies.Save(r, w, sess)
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	sess := sessions.NewSession(s.cookies, s.cookieName)
	opts := *s.cookies.Options
	opts.MaxAge = -1
	sess.Options = &opts
	s.cookies.Save(r, w, sess)
}

// loadSession resolves the cookie to a user via the sessions table; an
// unknown, expired or revoked session leaves the request anonymous. A
// session that cannot be checked (the database is down: several instances
// on PostgreSQL while it restarts) answers the error, 503, rather than
// treating the user as signed out and sending them to the login page.
// Must run after withRequestID (needs the client IP for nothing but logs).
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := s.tokenFrom(r)
		if token != "" {
			_, u, err := s.auth.Authenticate(r.Context(), token)
			switch {
			case err == nil && u != nil:
				ctx := context.WithValue(r.Context(), ctxUser, u)
				ctx = context.WithValue(ctx, ctxSession, token)
				r = r.WithContext(ctx)
			case err != nil && !errors.Is(err, auth.ErrSessionInvalid):
				if isAPI(r) {
					s.failJSON(w, r, err)
				} else {
					s.fail(w, r, err)
				}
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireUser redirects anonymous browsers to /login (API clients get 401).
func (s *Server) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if userFrom(r.Context()) == nil {
			if isAPI(r) {
				s.writeProblem(w, r, http.StatusUnauthorized, apperr.EUNAUTHORIZED, "Sign in first.")
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin answers 403 to signed-in non-admins. Must run after requireUser.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := userFrom(r.Context())
		if tokenFrom(r.Context()) != nil {
			// A service token: bearerAuth has checked the route's scope.
			next.ServeHTTP(w, r)
			return
		}
		if u == nil || u.Role != auth.RoleAdmin {
			name := ""
			if u != nil {
				name = u.Username
			}
			s.log.Warn("forbidden", "request_id", requestIDFrom(r.Context()), "path", logging.Clip(r.URL.Path, maxLoggedPath), "user", name, "ip", clientIPFrom(r.Context()))
			if isAPI(r) {
				s.writeProblem(w, r, http.StatusForbidden, apperr.EFORBIDDEN, "Administrators only.")
				return
			}
			s.renderError(w, r, http.StatusForbidden, "This page is for administrators.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isAPI(r *http.Request) bool {
	return len(r.URL.Path) >= 8 && r.URL.Path[:8] == "/api/v1/"
}

// actor is the audit identity of the request's user.
func actor(r *http.Request) auth.Actor {
	if u := userFrom(r.Context()); u != nil {
		return auth.ActorOf(u, clientIPFrom(r.Context()))
	}
	return auth.Actor{ClientIP: clientIPFrom(r.Context())}
}
