package store

import (
	"context"
	"errors"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Times are stored as unix seconds; 0 means "unset" for locked_until.
func authUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func authTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func (db *DB) authNow() time.Time {
	if db.Now != nil {
		return db.Now()
	}
	return time.Now()
}

const authUserCols = `u.id, u.username, u.password_hash, u.role, u.disabled, u.failed_logins, u.locked_until, u.created_at, u.password_changed_at, u.session_gen`

type authScanner interface{ Scan(dest ...any) error }

func authScanUser(r authScanner, dest ...any) (*domain.User, error) {
	var u domain.User
	var locked, created, changed int64
	all := append([]any{&u.ID, &u.Username, &u.PasswordHash, &u.Role, &u.Disabled, &u.FailedLogins, &locked, &created, &changed, &u.SessionGen}, dest...)
	if err := r.Scan(all...); err != nil {
		return nil, err
	}
	u.LockedUntil, u.CreatedAt, u.PasswordChangedAt = authTime(locked), authTime(created), authTime(changed)
	return &u, nil
}

// authIsUnique reports a unique constraint's refusal (ErrConflict).
func authIsUnique(err error) bool { return errors.Is(err, domain.ErrConflict) }

// UserByID returns the user with id, or an error matching IsNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (*domain.User, error) {
	return authScanUser(db.QueryRowContext(ctx, `SELECT `+authUserCols+` FROM users u WHERE u.id = ?`, id))
}

// UserByUsername looks the name up case-insensitively (the column is
// COLLATE NOCASE), or returns an error matching IsNotFound.
func (db *DB) UserByUsername(ctx context.Context, username string) (*domain.User, error) {
	return authScanUser(db.QueryRowContext(ctx, `SELECT `+authUserCols+` FROM users u WHERE u.username = ?`, username))
}

// ListUsers returns every user ordered by username.
func (db *DB) ListUsers(ctx context.Context) ([]*domain.User, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+authUserCols+` FROM users u ORDER BY u.username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []*domain.User
	for rows.Next() {
		u, err := authScanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, translate(rows.Err())
}

// CountUsers returns the number of users (enabled or not).
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// CountActiveAdmins returns the number of enabled admins.
func (db *DB) CountActiveAdmins(ctx context.Context) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0`).Scan(&n)
	return n, err
}

// SetUserPasswordHash stores a new hash and password_changed_at = changedAt,
// and bumps the session generation (every session opened before is void).
// It also clears the failure counter and any lock: a password set by an admin
// is meant to let the user back in.
func (db *DB) SetUserPasswordHash(ctx context.Context, id int64, hash string, changedAt time.Time) error {
	return db.authExecOne(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = 0,
		session_gen = session_gen + 1 WHERE id = ?`,
		hash, changedAt.Unix(), id)
}

// RehashUserPassword replaces the hash of an unchanged password (new argon2
// parameters) without touching password_changed_at, counters or sessions.
// The old hash must still be current, so a concurrent password change wins.
func (db *DB) RehashUserPassword(ctx context.Context, id int64, oldHash, newHash string) error {
	_, err := db.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, newHash, id, oldHash)
	return err
}

// SetUserDisabled sets or clears the disabled flag; disabling bumps the
// session generation.
func (db *DB) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	return db.authExecOne(ctx, `UPDATE users SET disabled = ?, session_gen = session_gen + ? WHERE id = ?`, disabled, disabled, id)
}

// DisableUserUnlessLastAdmin disables id unless that would leave no enabled
// admin; the check and the write are one statement, so two admins disabling
// each other at the same moment cannot both succeed. It returns whether the
// row was disabled (false with nil error: it was the last enabled admin).
func (db *DB) DisableUserUnlessLastAdmin(ctx context.Context, id int64) (bool, error) {
	res, err := db.ExecContext(ctx, `UPDATE users SET disabled = 1, session_gen = session_gen + 1
		WHERE id = ? AND (role <> 'admin' OR disabled = 1 OR
			(SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?) > 0)`, id, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 {
		if _, err := db.UserByID(ctx, id); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// ReserveLoginAttempt counts a login attempt for id as a failure *before*
// its password is checked, in one statement, and reports whether the check
// may go ahead. It refuses (ok false, nothing counted) while a lock is in
// force (locked_until > now) or when maxFailures attempts are already
// counted, whether they failed or are still being checked: so however many
// guesses arrive at once, at most maxFailures are checked against the real
// hash per lock period. failures is the count including this attempt.
// A success clears the count with ClaimLoginSuccess; a failure leaves it
// and calls LockIfExhausted.
func (db *DB) ReserveLoginAttempt(ctx context.Context, id int64, maxFailures int, now time.Time) (failures int, ok bool, err error) {
	err = db.QueryRowContext(ctx, `UPDATE users SET failed_logins = failed_logins + 1
		WHERE id = ? AND locked_until <= ? AND failed_logins < ?
		RETURNING failed_logins`,
		id, now.Unix(), maxFailures).Scan(&failures)
	if domain.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return failures, true, nil
}

// LockIfExhausted engages the lock (until lockUntil, counter back to zero)
// when maxFailures failures are counted and no lock is in force; it reports
// whether this call engaged it. One statement: of concurrent failures,
// exactly one engages the lock.
func (db *DB) LockIfExhausted(ctx context.Context, id int64, maxFailures int, now, lockUntil time.Time) (bool, error) {
	res, err := db.ExecContext(ctx, `UPDATE users SET failed_logins = 0, locked_until = ?
		WHERE id = ? AND failed_logins >= ? AND locked_until <= ?`,
		lockUntil.Unix(), id, maxFailures, now.Unix())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClaimLoginSuccess clears the failure counter of a login whose password
// matched passwordHash, in one statement that also checks, on the row as it
// is now, that the account is enabled, not locked and still has that hash.
// false means one of those changed while the password was being checked
// (a lock engaged by concurrent guesses, a disable, a reset): the login
// must be refused.
func (db *DB) ClaimLoginSuccess(ctx context.Context, id int64, passwordHash string, now time.Time) (bool, error) {
	res, err := db.ExecContext(ctx, `UPDATE users SET failed_logins = 0, locked_until = 0
		WHERE id = ? AND disabled = 0 AND locked_until <= ? AND password_hash = ?`, id, now.Unix(), passwordHash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// authExecOne runs an UPDATE/DELETE that must touch exactly one row; zero rows
// is ErrNotFound (IsNotFound).
func (db *DB) authExecOne(ctx context.Context, query string, args ...any) error {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrNotFound
	}
	return nil
}

// CreateUser inserts u and sets u.ID, with its audit row a, in one
// transaction: both are written, or neither. Zero CreatedAt/PasswordChangedAt
// are set from the clock. A duplicate username (case-insensitive) is
// ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u *domain.User, a *Audited) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = db.authNow().UTC().Truncate(time.Second)
	}
	if u.PasswordChangedAt.IsZero() {
		u.PasswordChangedAt = u.CreatedAt
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `INSERT INTO users
		(username, password_hash, role, disabled, failed_logins, locked_until, created_at, password_changed_at)
		VALUES (?, ?, ?, ?, 0, 0, ?, ?) RETURNING id`,
		u.Username, u.PasswordHash, u.Role, u.Disabled, u.CreatedAt.Unix(), u.PasswordChangedAt.Unix()).Scan(&u.ID)
	if err != nil {
		if authIsUnique(err) {
			return apperr.Wrap(apperr.ECONFLICT, err, "That username is already taken.")
		}
		return err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ChangeUserPassword, in one transaction: stores the new hash (as
// SetUserPasswordHash: generation bumped, counter and lock cleared), deletes
// the user's sessions, and appends the audit row a, its Details set to
// "sessions ended: N". It returns N. ErrNotFound if there is no such user.
func (db *DB) ChangeUserPassword(ctx context.Context, id int64, hash string, changedAt time.Time, a *Audited) (ended int64, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = 0,
		session_gen = session_gen + 1 WHERE id = ?`, hash, changedAt.Unix(), id)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if n == 0 {
		return 0, domain.ErrNotFound
	}
	return db.endSessionsAndCommit(ctx, tx, id, a)
}

// DisableUser, in one transaction: disables id unless it is the last
// enabled admin (see DisableUserUnlessLastAdmin), bumps its session
// generation, deletes its sessions and appends the audit row a, its
// Details set to "sessions ended: N". false with a nil error: it was the
// last enabled admin, nothing changed (and no row).
func (db *DB) DisableUser(ctx context.Context, id int64, a *Audited) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	// On PostgreSQL (READ COMMITTED, several instances) two admins
	// disabling each other at once would each still count the other:
	// serialise the check-and-disable.
	if err := tx.lock(ctx, lastAdminLockKey); err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 1, session_gen = session_gen + 1
		WHERE id = ? AND (role <> 'admin' OR disabled = 1 OR
			(SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?) > 0)`, id, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, id).Scan(&one); err != nil {
			return false, err
		}
		return false, nil
	}
	_, err = db.endSessionsAndCommit(ctx, tx, id, a)
	return true, err
}

func (db *DB) endSessionsAndCommit(ctx context.Context, tx *Tx, id int64, a *Audited) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id)
	if err != nil {
		return 0, err
	}
	ended, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	a.setDetails("sessions ended: %d", ended)
	if err := a.appendTx(ctx, tx); err != nil {
		return ended, err
	}
	return ended, tx.Commit()
}

// EnableUser clears the disabled flag, with its audit row a, in one
// transaction.
func (db *DB) EnableUser(ctx context.Context, id int64, a *Audited) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = 0 WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return domain.ErrNotFound
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// UnlockUser clears a user's login lock and failure count, with its audit
// row a, in one transaction; ErrNotFound when there is no such user.
func (db *DB) UnlockUser(ctx context.Context, id int64, a *Audited) error {
	return db.execOne(ctx, a.hook(ctx), `UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?`, id)
}
