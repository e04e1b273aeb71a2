package store

import (
	"context"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

const tokenCols = `id, name, user_id, scopes, created_by, created_at, expires_at, last_used_at, last_used_ip, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (*domain.Token, error) {
	t := &domain.Token{}
	var scopes string
	if err := sc.Scan(&t.ID, &t.Name, &t.UserID, &scopes, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.LastUsedIP, &t.RevokedAt); err != nil {
		return nil, err
	}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, ",")
	}
	return t, nil
}

// CreateToken inserts the token's user row and the token, with its audit
// row a, in one transaction. t.ID and t.UserID are set.
func (db *DB) CreateToken(ctx context.Context, t *domain.Token, tokenHash string, u *domain.User, a *Audited) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `INSERT INTO users (username, password_hash, role, disabled, failed_logins, locked_until, created_at, password_changed_at)
		VALUES (?, ?, ?, 1, 0, 0, ?, ?) RETURNING id`, u.Username, u.PasswordHash, u.Role, t.CreatedAt, t.CreatedAt).Scan(&t.UserID)
	if err != nil {
		if authIsUnique(err) {
			return errTaken
		}
		return err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO service_tokens (name, token_hash, user_id, scopes, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, t.Name, tokenHash, t.UserID, strings.Join(t.Scopes, ","), t.CreatedBy, t.CreatedAt, t.ExpiresAt).Scan(&t.ID)
	if err != nil {
		if authIsUnique(err) {
			return errTaken
		}
		return err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// errTaken: the token's name (or its user's name) exists.
var errTaken = apperr.Errorf(apperr.ECONFLICT, "A token of that name already exists (names stay taken after a revoke, so the audit trail stays unambiguous).")

// TokenByHash returns the token with that secret hash, or ErrNotFound.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*domain.Token, error) {
	return scanToken(db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM service_tokens WHERE token_hash = ?`, hash))
}

// TokenByName returns the token of that name, or ErrNotFound.
func (db *DB) TokenByName(ctx context.Context, name string) (*domain.Token, error) {
	return scanToken(db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM service_tokens WHERE name = ?`, name))
}

// ListTokens returns every token, newest first.
func (db *DB) ListTokens(ctx context.Context) ([]*domain.Token, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+tokenCols+` FROM service_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*domain.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, translate(rows.Err())
}

// TouchToken records a use.
func (db *DB) TouchToken(ctx context.Context, id, at int64, ip string) error {
	_, err := db.ExecContext(ctx, `UPDATE service_tokens SET last_used_at = ?, last_used_ip = ? WHERE id = ?`, at, ip, id)
	return err
}

// RevokeToken marks the token revoked (if it is not already), with its
// audit row a, in one transaction; ErrNotFound when there is no live token
// of that name.
func (db *DB) RevokeToken(ctx context.Context, name string, at int64, a *Audited) error {
	return db.execOne(ctx, a.hook(ctx), `UPDATE service_tokens SET revoked_at = ? WHERE name = ? AND revoked_at = 0`, at, name)
}
