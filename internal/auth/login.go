package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// tokenBytes is the session token's entropy: 256 bits.
const tokenBytes = 32

// tokenLen is the length of a token as base64url without padding.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// newToken returns a fresh random session token and the hash stored for it.
func newToken() (token, hash string) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

// hashToken is what the sessions table stores: hex SHA-256 of the token, so
// a copy of the database does not hand out live sessions. A fast hash is
// right here: the token has 256 bits of entropy, nothing to brute-force.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken rejects anything that newToken cannot have made before it
// reaches the database.
func wellFormedToken(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil
}

// maxPasswordBytes caps what Login will hash: 256 runes of at most 4 bytes.
// Longer input cannot be a valid password; it still costs a dummy verify so
// that it is not distinguishable by time.
const maxPasswordBytes = 4 * MaxPasswordLen

// Login checks a username and password and, on success, creates a new
// session and returns its token (to go in the cookie) and the user.
//
// Every failure (unknown user, wrong password, disabled, locked) returns
// ErrInvalidCredentials after the same argon2 work: an unknown or malformed
// username is verified against a dummy hash, and a disabled or locked
// account's password is still verified (and the result ignored). The reason
// goes to the audit log (admin-only) and the server log, never to the client.
//
// MaxFailures consecutive wrong passwords lock the account for Lockout; the
// attempt that engages the lock is audited as lockout. Every attempt is
// counted in the database before its password is checked, so at most
// MaxFailures guesses are checked per lock period however many arrive at
// once, and a right password checked while a lock engaged is refused.
// Attempts during a lock are refused without counting (so the lock cannot
// be extended by anyone who keeps guessing). A successful login resets the
// counter.
//
// The token is always new (256 random bits): a session id is never reused
// or carried over from before login, so fixation is impossible. Only the
// token's SHA-256 is stored.
func (s *Service) Login(ctx context.Context, username, password, clientIP, userAgent string) (string, *User, error) {
	now := s.now().UTC()
	fail := func(name, outcome, reason string) (string, *User, error) {
		s.logger().Warn("login failed", "username", name, "client_ip", clientIP, "reason", reason)
		// A failed audit write is logged by record; the client gets the same answer.
		_ = s.record(ctx, audit.Entry{Username: name, ClientIP: clientIP, Action: audit.ActionLoginFailed,
			Target: name, Outcome: outcome, Details: reason})
		return "", nil, ErrInvalidCredentials
	}

	// Names outside the username rule are not looked up and not logged
	// verbatim: a user who typed their password into the username field
	// should not find it in the audit log.
	if ValidateUsername(username) != nil || len(password) > maxPasswordBytes {
		s.verify(ctx, dummyHash(), password)
		name := UnknownUserTag(username)
		if ValidateUsername(username) != nil {
			name = "(invalid username)"
		}
		return fail(name, audit.OutcomeFailure, "unknown user or oversized input")
	}
	su, err := s.DB.UserByUsername(ctx, username)
	if domain.IsNotFound(err) {
		s.verify(ctx, dummyHash(), password)
		// Not as typed either: a well-formed name can still be a password
		// typed into the wrong field.
		return fail(UnknownUserTag(username), audit.OutcomeFailure, "unknown user")
	}
	if err != nil {
		return "", nil, internal(err)
	}

	// Disabled accounts are refused after the same argon2 work, against the
	// dummy hash: nothing is learnt about their password.
	if su.Disabled {
		s.verify(ctx, dummyHash(), password)
		return fail(su.Username, audit.OutcomeDenied, "account disabled")
	}
	// The attempt is counted before the password is checked, atomically on
	// the row as it is now: guesses sent at once cannot all be checked
	// against the real hash on a stale "not locked" read. Refused attempts
	// (lock in force, or MaxFailures attempts already counted) still cost
	// a dummy verify, so they look like any other failure.
	failures, allowed, err := s.DB.ReserveLoginAttempt(ctx, su.ID, s.maxFailures(), now)
	if err != nil {
		return "", nil, internal(err)
	}
	if !allowed {
		s.verify(ctx, dummyHash(), password)
		reason := "too many attempts in progress"
		if fresh, err := s.DB.UserByID(ctx, su.ID); err == nil && fresh.LockedUntil.After(now) {
			reason = fmt.Sprintf("account locked until %s", fresh.LockedUntil.UTC().Format(time.RFC3339))
		}
		return fail(su.Username, audit.OutcomeDenied, reason)
	}
	ok, err := s.verify(ctx, su.PasswordHash, password)
	if err != nil {
		if ctx.Err() != nil {
			return "", nil, internal(err)
		}
		s.logger().Error("stored password hash unusable", "username", su.Username, "err", err)
		ok = false
	}
	if !ok {
		lockedNow, err := s.DB.LockIfExhausted(ctx, su.ID, s.maxFailures(), now, now.Add(s.lockout()))
		if err != nil {
			s.logger().Error("recording failed login", "username", su.Username, "err", err)
		}
		if lockedNow {
			s.logger().Warn("account locked", "username", su.Username, "client_ip", clientIP, "for", s.lockout().String())
			_ = s.record(ctx, audit.Entry{Username: su.Username, ClientIP: clientIP, Action: audit.ActionLockout,
				Target: su.Username, Outcome: audit.OutcomeSuccess,
				Details: fmt.Sprintf("locked for %s after %d consecutive failed logins", s.lockout(), s.maxFailures())})
		}
		return fail(su.Username, audit.OutcomeFailure, fmt.Sprintf("wrong password (%d of %d)", failures, s.maxFailures()))
	}
	// The right password: the success is claimed on the fresh row, which
	// must still be enabled, unlocked and hold the hash just verified. A
	// lock engaged by concurrent guesses (or a disable or reset) during the
	// check wins over this success.
	claimed, err := s.DB.ClaimLoginSuccess(ctx, su.ID, su.PasswordHash, now)
	if err != nil {
		return "", nil, internal(err)
	}
	if !claimed {
		return fail(su.Username, audit.OutcomeDenied, "account locked, disabled or changed during the login")
	}
	su.FailedLogins, su.LockedUntil = 0, time.Time{}
	token, tokenHash := newToken()
	sess := &domain.Session{TokenHash: tokenHash, UserID: su.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.maxLifetime()), ClientIP: clientIP, UserAgent: truncate(userAgent, 512),
		// The generation read before the password was checked: a reset or
		// disable since then has bumped it, and this session is void.
		UserGen: su.SessionGen}
	if err := s.DB.InsertSession(ctx, sess); err != nil {
		return "", nil, internal(err)
	}
	if err := s.record(ctx, audit.Entry{Username: su.Username, ClientIP: clientIP, Action: audit.ActionLogin,
		Target: su.Username, Outcome: audit.OutcomeSuccess}); err != nil {
		// No unrecorded access: take the session back.
		s.DB.DeleteSession(context.WithoutCancel(ctx), tokenHash)
		return "", nil, err
	}
	s.logger().Info("login", "username", su.Username, "client_ip", clientIP)

	// Parameters were raised since this hash was made: upgrade it now that
	// we hold the plaintext. Failure only delays the upgrade.
	if needsRehash(su.PasswordHash) {
		if h, err := s.hash(ctx, password); err == nil {
			if err := s.DB.RehashUserPassword(ctx, su.ID, su.PasswordHash, h); err != nil {
				s.logger().Warn("password rehash failed", "username", su.Username, "err", err)
			}
		}
	}
	return token, toUser(su), nil
}

// unknownKey keys UnknownUserTag; random per process, so a tag cannot be
// checked against a guessed password offline, yet repeated attempts with
// the same name are recognisable in the log of one run.
var unknownKey = func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}()

// UnknownUserTag is how a username that matches no account is logged and
// audited: "unknown:" and a short keyed hash, never the text as typed.
func UnknownUserTag(username string) string {
	m := hmac.New(sha256.New, unknownKey)
	m.Write([]byte(strings.ToLower(username)))
	return "unknown:" + hex.EncodeToString(m.Sum(nil)[:6])
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Authenticate returns the session and user for a token, or
// ErrSessionInvalid. A session ends (and its row is deleted) when it has
// been idle longer than IdleTimeout, has reached its absolute lifetime
// (created + MaxLifetime), its user is disabled, or the user's session
// generation has moved on since the login began (password change, disable). Activity is recorded at most once per
// touchInterval to limit writes.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, *User, error) {
	if !wellFormedToken(token) {
		return nil, nil, ErrSessionInvalid
	}
	tokenHash := hashToken(token)
	ss, su, err := s.DB.SessionByTokenHash(ctx, tokenHash)
	if domain.IsNotFound(err) {
		return nil, nil, ErrSessionInvalid
	}
	if err != nil {
		return nil, nil, internal(err)
	}
	now := s.now()
	reason := ""
	switch {
	case !now.Before(ss.ExpiresAt):
		reason = "absolute lifetime reached"
	case now.Sub(ss.LastSeenAt) > s.idleTimeout():
		reason = "idle timeout"
	case su.Disabled:
		reason = "user disabled"
	case ss.UserGen != su.SessionGen:
		reason = "password changed or account disabled since login"
	}
	if reason != "" {
		if _, err := s.DB.DeleteSession(ctx, tokenHash); err != nil {
			s.logger().Error("deleting ended session", "err", err)
		}
		s.logger().Debug("session ended", "username", su.Username, "reason", reason)
		return nil, nil, ErrSessionInvalid
	}
	if now.Sub(ss.LastSeenAt) >= touchInterval {
		// A failed touch only makes the idle timeout end the session a
		// little early; it is no reason to refuse this request.
		if err := s.DB.TouchSession(ctx, tokenHash, now); err != nil {
			s.logger().Warn("touching session", "err", err)
		} else {
			ss.LastSeenAt = now.UTC().Truncate(time.Second)
		}
	}
	return &Session{UserID: ss.UserID, CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt,
		ExpiresAt: ss.ExpiresAt, ClientIP: ss.ClientIP, UserAgent: ss.UserAgent}, toUser(su), nil
}

// Logout deletes the session for token (audit: logout). An unknown or
// already-ended token is not an error: the cookie is cleared either way.
func (s *Service) Logout(ctx context.Context, token string, actor Actor) error {
	if !wellFormedToken(token) {
		return nil
	}
	deleted, err := s.DB.DeleteSession(ctx, hashToken(token))
	if err != nil {
		return internal(err)
	}
	if !deleted {
		return nil
	}
	s.logger().Info("logout", "username", actor.Username, "client_ip", actor.ClientIP)
	return s.record(ctx, audit.Entry{Username: actor.Username, ClientIP: actor.ClientIP,
		Action: audit.ActionLogout, Target: actor.Username, Outcome: audit.OutcomeSuccess})
}

// PurgeExpiredSessions deletes sessions past their lifetime or idle timeout
// (for a periodic janitor; Authenticate already refuses them).
func (s *Service) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	n, err := s.DB.DeleteExpiredSessions(ctx, s.now(), s.idleTimeout())
	if err != nil {
		return 0, internal(err)
	}
	return n, nil
}
