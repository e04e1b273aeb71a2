package auth

import (
	"context"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Store is what the Service keeps in the database: its users, sessions and
// API tokens. *store.DB implements it on SQLite and on PostgreSQL.
type Store interface {
	userStore
	sessionStore
	tokenStore
}

// userStore holds the accounts: look-up, management and the login lockout.
type userStore interface {
	UserByID(ctx context.Context, id int64) (*domain.User, error)
	UserByUsername(ctx context.Context, username string) (*domain.User, error)
	ListUsers(ctx context.Context) ([]*domain.User, error)
	CountUsers(ctx context.Context) (int, error)
	CreateUser(ctx context.Context, u *domain.User, a *store.Audited) error
	ChangeUserPassword(ctx context.Context, id int64, hash string, changedAt time.Time, a *store.Audited) (ended int64, err error)
	RehashUserPassword(ctx context.Context, id int64, oldHash, newHash string) error
	DisableUser(ctx context.Context, id int64, a *store.Audited) (bool, error)
	EnableUser(ctx context.Context, id int64, a *store.Audited) error
	UnlockUser(ctx context.Context, id int64, a *store.Audited) error
	ReserveLoginAttempt(ctx context.Context, id int64, maxFailures int, now time.Time) (failures int, ok bool, err error)
	LockIfExhausted(ctx context.Context, id int64, maxFailures int, now, lockUntil time.Time) (bool, error)
	ClaimLoginSuccess(ctx context.Context, id int64, passwordHash string, now time.Time) (bool, error)
}

// sessionStore holds the server-side sessions behind Login, Authenticate and Logout.
type sessionStore interface {
	InsertSession(ctx context.Context, s *domain.Session) error
	SessionByTokenHash(ctx context.Context, tokenHash string) (*domain.Session, *domain.User, error)
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) (bool, error)
	DeleteExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error)
}

// tokenStore holds the API tokens: creation, authentication, listing, revocation.
type tokenStore interface {
	CreateToken(ctx context.Context, t *domain.Token, tokenHash string, u *domain.User, a *store.Audited) error
	TokenByHash(ctx context.Context, hash string) (*domain.Token, error)
	TouchToken(ctx context.Context, id, at int64, ip string) error
	ListTokens(ctx context.Context) ([]*domain.Token, error)
	RevokeToken(ctx context.Context, name string, at int64, a *store.Audited) error
}

var _ Store = (*store.DB)(nil)
