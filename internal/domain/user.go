package domain

import (
	"time"
)

// User is a row of the users table. PasswordHash is the argon2id PHC string;
// it never leaves internal/auth.
type User struct {
	ID                int64
	Username          string
	PasswordHash      string
	Role              string
	Disabled          bool
	FailedLogins      int
	LockedUntil       time.Time // zero when not locked
	CreatedAt         time.Time
	PasswordChangedAt time.Time
	// SessionGen is bumped by every password change and disable; sessions
	// of an older generation are void.
	SessionGen int64
}

// Session is a row of the sessions table. TokenHash is the hex SHA-256 of the
// random cookie token; the token itself is never stored.
type Session struct {
	TokenHash  string
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute lifetime
	ClientIP   string
	UserAgent  string
	// UserGen is the user's session generation read when the login began;
	// the session is valid only while it equals users.session_gen.
	UserGen int64
}

// Token is a service token (without its secret).
type Token struct {
	ID         int64
	Name       string
	UserID     int64 // the token's own user row
	Scopes     []string
	CreatedBy  string
	CreatedAt  int64
	ExpiresAt  int64 // 0 = never
	LastUsedAt int64
	LastUsedIP string
	RevokedAt  int64
}
