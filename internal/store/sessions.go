package store

import (
	"context"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// InsertSession stores s. A token hash collision (never expected from a
// 256-bit random token) is an error, never an overwrite.
func (db *DB) InsertSession(ctx context.Context, s *domain.Session) error {
	_, err := db.ExecContext(ctx, `INSERT INTO sessions
		(token_hash, user_id, created_at, last_seen_at, expires_at, client_ip, user_agent, user_gen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.TokenHash, s.UserID, authUnix(s.CreatedAt), authUnix(s.LastSeenAt), authUnix(s.ExpiresAt), s.ClientIP, s.UserAgent, s.UserGen)
	return err
}

// SessionByTokenHash returns the session and its user in one query, or an
// error matching IsNotFound.
func (db *DB) SessionByTokenHash(ctx context.Context, tokenHash string) (*domain.Session, *domain.User, error) {
	var s domain.Session
	var created, seen, expires int64
	u, err := authScanUser(db.QueryRowContext(ctx, `SELECT `+authUserCols+`,
		s.token_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.client_ip, s.user_agent, s.user_gen
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ?`, tokenHash),
		&s.TokenHash, &s.UserID, &created, &seen, &expires, &s.ClientIP, &s.UserAgent, &s.UserGen)
	if err != nil {
		return nil, nil, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = authTime(created), authTime(seen), authTime(expires)
	return &s, u, nil
}

// TouchSession records activity at time at. It never moves last_seen_at
// backwards.
func (db *DB) TouchSession(ctx context.Context, tokenHash string, at time.Time) error {
	_, err := db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?`,
		at.Unix(), tokenHash, at.Unix())
	return err
}

// DeleteSession removes one session and reports whether it existed.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) (bool, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteUserSessions removes every session of a user and returns how many.
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteExpiredSessions removes sessions past their absolute expiry or idle
// for longer than idle at time now, and returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at < ?`,
		now.Unix(), now.Add(-idle).Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
