// Package auth holds SketchMatch's users, passwords, server-side sessions and
// login throttling. It is used by the web handlers and the CLI; it knows
// nothing about HTTP or cookies: the web layer puts the token Login returns
// into the (signed, encrypted) cookie and hands it back to Authenticate.
//
// Role checks (who may call the user-management methods) are made by the web
// layer's role middleware and by the CLI, which runs with operator access to
// the database; this package records who did what in the audit log.
package auth

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Roles.
const (
	RoleAdmin   = "admin"
	RoleOfficer = "officer"
)

// ValidRole reports whether role is one of the roles above.
func ValidRole(role string) bool { return role == RoleAdmin || role == RoleOfficer }

// Defaults used when a Service field is left zero (they match config's).
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxLifetime = 12 * time.Hour
	DefaultMaxFailures = 5
	DefaultLockout     = 15 * time.Minute
)

// touchInterval limits last_seen_at writes to one per session per interval.
// The idle timeout is therefore enforced up to this much early, never late.
const touchInterval = time.Minute

// User is a user as the rest of the application sees it: no password hash.
type User struct {
	ID                int64
	Username          string
	Role              string
	Disabled          bool
	FailedLogins      int
	LockedUntil       time.Time // zero when never locked; may be in the past
	CreatedAt         time.Time
	PasswordChangedAt time.Time
}

// IsAdmin reports whether u has the admin role.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// Locked reports whether a login lock is in force at now.
func (u *User) Locked(now time.Time) bool { return u.LockedUntil.After(now) }

func toUser(su *domain.User) *User {
	return &User{ID: su.ID, Username: su.Username, Role: su.Role, Disabled: su.Disabled,
		FailedLogins: su.FailedLogins, LockedUntil: su.LockedUntil, CreatedAt: su.CreatedAt,
		PasswordChangedAt: su.PasswordChangedAt}
}

// Session is an authenticated session (without its token or token hash).
type Session struct {
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	ClientIP   string
	UserAgent  string
}

// Actor is who performs an action, for audit attribution. The CLI uses a
// zero UserID and a descriptive Username (for example "cli:root").
type Actor struct {
	UserID   int64
	Username string
	ClientIP string
}

// ActorOf returns the Actor for a logged-in user at clientIP.
func ActorOf(u *User, clientIP string) Actor {
	return Actor{UserID: u.ID, Username: u.Username, ClientIP: clientIP}
}

// Errors returned by Login and Authenticate. They are shared values so that
// every failing login returns the identical error; compare with errors.Is.
var (
	// ErrInvalidCredentials is the one answer to every failed login:
	// unknown user, wrong password, disabled or locked account. Saying
	// "locked" would tell an attacker the account exists.
	ErrInvalidCredentials = apperr.Errorf(apperr.EUNAUTHORIZED, "Invalid username or password.")
	// ErrSessionInvalid is returned for a missing, malformed, expired or
	// revoked session token.
	ErrSessionInvalid = apperr.Errorf(apperr.EUNAUTHORIZED, "Your session has ended. Please log in again.")
)

// Service implements users, login and sessions.
type Service struct {
	DB          Store
	Audit       *audit.Log
	Now         func() time.Time // nil: time.Now
	IdleTimeout time.Duration    // 0: DefaultIdleTimeout
	MaxLifetime time.Duration    // 0: DefaultMaxLifetime
	MaxFailures int              // 0: DefaultMaxFailures
	Lockout     time.Duration    // 0: DefaultLockout
	Logger      *slog.Logger     // nil: discard
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (s *Service) idleTimeout() time.Duration { return orDefault(s.IdleTimeout, DefaultIdleTimeout) }
func (s *Service) maxLifetime() time.Duration { return orDefault(s.MaxLifetime, DefaultMaxLifetime) }
func (s *Service) maxFailures() int           { return orDefault(s.MaxFailures, DefaultMaxFailures) }
func (s *Service) lockout() time.Duration     { return orDefault(s.Lockout, DefaultLockout) }

// hashSlots bounds concurrent argon2 computations. Each takes
// HashParams.Memory (64 MiB by default) for ~70 ms; without a bound a burst
// of login attempts from many addresses (the per-IP rate limit does not stop
// that) would multiply the memory until the process is killed. Callers wait
// for a slot, or give up when their request is cancelled.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

func withHashSlot[T any](ctx context.Context, f func() (T, error)) (T, error) {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	defer func() { <-hashSlots }()
	return f()
}

func (s *Service) hash(ctx context.Context, password string) (string, error) {
	return withHashSlot(ctx, func() (string, error) { return HashPassword(password) })
}

func (s *Service) verify(ctx context.Context, encoded, password string) (bool, error) {
	return withHashSlot(ctx, func() (bool, error) { return VerifyPassword(encoded, password) })
}

// record writes an audit row. A write that fails is logged and returned as
// EINTERNAL: the callers treat an unrecorded action as a failed one where
// they still can (Login revokes the session it just made).
func (s *Service) record(ctx context.Context, e audit.Entry) error {
	if s.Audit == nil {
		s.logger().Error("audit log not configured", "action", e.Action)
		return apperr.Errorf(apperr.EINTERNAL, "The audit log is not available.")
	}
	if err := s.Audit.Record(ctx, e); err != nil {
		s.logger().Error("audit write failed", "action", e.Action, "target", e.Target, "err", err)
		return apperr.Wrap(apperr.EINTERNAL, err, "The audit log could not be written.")
	}
	return nil
}

// entry is e as the audit row of a store change: the store's *Audited
// methods commit the change and its row together (or neither).
func (s *Service) entry(e audit.Entry) (*store.Audited, error) {
	if s.Audit == nil {
		return nil, errors.New("the audit log is not configured")
	}
	a, err := s.Audit.Entry(e)
	if err != nil {
		s.logger().Error("audit write failed", "action", e.Action, "target", e.Target, "err", err)
	}
	return a, err
}

// auditFailed logs err when it is a's row that could not be appended (the
// store rolled the change back with it).
func (s *Service) auditFailed(a *store.Audited, err error) {
	if errors.Is(err, domain.ErrAuditAppend) {
		s.logger().Error("audit write failed", "action", a.Row.Action, "target", a.Row.Target, "err", err)
	}
}

func internal(err error) error {
	return apperr.Wrap(apperr.EINTERNAL, err, "An internal error occurred.")
}
