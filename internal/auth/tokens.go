package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Token scopes.
const (
	ScopeSearch          = "search"           // run searches, read the token's own searches and reports
	ScopeReferencesRead  = "references:read"  // list references
	ScopeReferencesWrite = "references:write" // add, mark and delete references
	ScopeAuditRead       = "audit:read"       // read the audit trail
)

// Scopes lists every scope.
var Scopes = []string{ScopeSearch, ScopeReferencesRead, ScopeReferencesWrite, ScopeAuditRead}

// TokenPrefix starts every service token (so scanners and people can tell
// what a leaked string is).
const TokenPrefix = "smt_"

// TokenUserPrefix starts the user name of a token's own user row.
const TokenUserPrefix = "token:"

// ErrTokenInvalid is the one answer to a missing, unknown, revoked or
// expired token.
var ErrTokenInvalid = apperr.Errorf(apperr.EUNAUTHORIZED, "The API token is not valid (unknown, revoked or expired).")

// Token is a service token as the rest of the application sees it.
type Token = domain.Token

// ParseScopes checks a comma-separated list of scopes.
func ParseScopes(v string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(Scopes, s) {
			return nil, apperr.Errorf(apperr.EINVALID, "Unknown scope %q: use %s.", s, strings.Join(Scopes, ", "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, apperr.Errorf(apperr.EINVALID, "Give at least one scope: %s.", strings.Join(Scopes, ", "))
	}
	return out, nil
}

// CreateToken makes a token (audit: token_create) and returns its secret,
// which is shown once and never stored. ttl 0 means it does not expire.
func (s *Service) CreateToken(ctx context.Context, actor Actor, name string, scopes []string, ttl time.Duration) (string, *Token, error) {
	if err := ValidateUsername(name); err != nil {
		return "", nil, apperr.Errorf(apperr.EINVALID, "The token name must be 3 to 64 letters, digits, '.', '_' or '-'.")
	}
	if len(scopes) == 0 {
		return "", nil, apperr.Errorf(apperr.EINVALID, "Give at least one scope: %s.", strings.Join(Scopes, ", "))
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return "", nil, apperr.Errorf(apperr.EINVALID, "Unknown scope %q.", sc)
		}
	}
	if ttl < 0 || ttl > 5*365*24*time.Hour {
		return "", nil, apperr.Errorf(apperr.EINVALID, "The lifetime must be between 1 day and 5 years (or none).")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, internal(err)
	}
	plain := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := s.now().UTC()
	t := &Token{Name: name, Scopes: scopes, CreatedBy: actor.Username, CreatedAt: now.Unix()}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl).Unix()
	}
	// The token's own user: an officer that can never sign in (disabled,
	// and "!" is no password hash).
	u := &domain.User{Username: TokenUserPrefix + name, PasswordHash: "!", Role: RoleOfficer}
	a, err := s.Audit.Entry(audit.Entry{Username: actor.Username, ClientIP: actor.ClientIP, Action: audit.ActionTokenCreate,
		Target: TokenUserPrefix + name, Outcome: audit.OutcomeSuccess, Details: fmt.Sprintf("scopes=%s expires_at=%d", strings.Join(scopes, ","), t.ExpiresAt)})
	if err != nil {
		return "", nil, internal(err)
	}
	err = s.DB.CreateToken(ctx, t, hashToken(plain), u, a)
	if err != nil {
		if apperr.Code(err) == apperr.ECONFLICT {
			return "", nil, err
		}
		return "", nil, internal(err)
	}
	s.logger().Info("token created", "token", name, "scopes", strings.Join(scopes, ","), "by", actor.Username)
	return plain, t, nil
}

// VerifyToken returns the live token with that secret and its user, and
// records the use. Every failure is ErrTokenInvalid. There is no cache: a
// revoke takes effect on the next request.
func (s *Service) VerifyToken(ctx context.Context, plain, clientIP string) (*Token, *User, error) {
	if !strings.HasPrefix(plain, TokenPrefix) || len(plain) > 100 {
		return nil, nil, ErrTokenInvalid
	}
	t, err := s.DB.TokenByHash(ctx, hashToken(plain)) // the session tokens' hash: 256 random bits
	if domain.IsNotFound(err) {
		return nil, nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, nil, internal(err)
	}
	now := s.now().UTC().Unix()
	if t.RevokedAt != 0 || (t.ExpiresAt != 0 && now >= t.ExpiresAt) {
		return nil, nil, ErrTokenInvalid
	}
	su, err := s.DB.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, nil, internal(err)
	}
	if err := s.DB.TouchToken(ctx, t.ID, now, clientIP); err != nil {
		s.logger().Warn("recording a token's use", "token", t.Name, "err", err)
	}
	u := toUser(su)
	u.Disabled = false // the row is disabled for sign-in only
	return t, u, nil
}

// RevokeToken revokes a token at once (audit: token_revoke).
func (s *Service) RevokeToken(ctx context.Context, actor Actor, name string) error {
	a, err := s.Audit.Entry(audit.Entry{Username: actor.Username, ClientIP: actor.ClientIP, Action: audit.ActionTokenRevoke,
		Target: TokenUserPrefix + name, Outcome: audit.OutcomeSuccess})
	if err != nil {
		return internal(err)
	}
	err = s.DB.RevokeToken(ctx, name, s.now().UTC().Unix(), a)
	if domain.IsNotFound(err) {
		return apperr.Errorf(apperr.ENOTFOUND, "There is no live token named %q.", name)
	}
	if err != nil {
		return internal(err)
	}
	s.logger().Info("token revoked", "token", name, "by", actor.Username)
	return nil
}

// ListTokens lists every token, newest first.
func (s *Service) ListTokens(ctx context.Context) ([]*Token, error) {
	ts, err := s.DB.ListTokens(ctx)
	if err != nil {
		return nil, internal(err)
	}
	return ts, nil
}

// HasScope reports whether t carries scope.
func HasScope(t *Token, scope string) bool { return t != nil && slices.Contains(t.Scopes, scope) }
