package store

import (
	"context"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// PostgreSQL advisory lock keys, one per thing serialised across
// instances (arbitrary constants: "SkMa" + four letters).
const (
	auditLockKey     = 0x536b4d61_61756474 // appends to the audit chain ("audt")
	lastAdminLockKey = 0x536b4d61_61646d6e // disabling an admin ("admn")
	reindexLockKey   = 0x536b4d61_72656978 // the background reindex ("reix")
)

// AuditGenesisHash is the prev_hash of the first audit row.
const AuditGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// AppendAudit appends r to the chain. In one transaction (BEGIN IMMEDIATE,
// from the DSN's _txlock, so it holds the write lock from the start and two
// appends cannot read the same last hash) it sets r.PrevHash to the hash of
// the newest row (AuditGenesisHash for the first), r.Hash = seal(r), inserts
// the row and sets r.ID. seal is the canonical hash (internal/audit); keeping
// it out of this package keeps the store free of the chain's format.
//
// There is deliberately no method that updates or deletes audit rows.
func (db *DB) AppendAudit(ctx context.Context, r *domain.AuditRow, seal func(*domain.AuditRow) string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := AppendAuditTx(ctx, tx, r, seal); err != nil {
		return err
	}
	return tx.Commit()
}

// AppendAuditTx appends r inside tx, so a change and its audit row commit
// together (a crash never leaves one without the other). tx must be a write
// transaction (BEGIN IMMEDIATE, as every transaction of this DB is), which
// serialises appends. On PostgreSQL (READ COMMITTED, several instances) a
// transaction-scoped advisory lock does the same: it is held until commit,
// so the next append reads this row's hash.
func AppendAuditTx(ctx context.Context, tx *Tx, r *domain.AuditRow, seal func(*domain.AuditRow) string) error {
	if err := tx.lock(ctx, auditLockKey); err != nil {
		return err
	}
	prev := AuditGenesisHash
	err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && !domain.IsNotFound(err) {
		return err
	}
	r.PrevHash = prev
	r.Hash = seal(r)
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO audit_log
		(at, username, client_ip, action, target, outcome, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.At, r.Username, r.ClientIP, r.Action, r.Target, r.Outcome, r.Details, r.PrevHash, r.Hash).Scan(&id)
	if err != nil {
		return err
	}
	r.ID = id
	return nil
}

const authAuditCols = `id, at, username, client_ip, action, target, outcome, details, prev_hash, hash`

func authScanAudit(r authScanner) (domain.AuditRow, error) {
	var a domain.AuditRow
	err := r.Scan(&a.ID, &a.At, &a.Username, &a.ClientIP, &a.Action, &a.Target, &a.Outcome, &a.Details, &a.PrevHash, &a.Hash)
	return a, err
}

// ListAudit returns one page of the log, newest first, and the total count.
func (db *DB) ListAudit(ctx context.Context, limit, offset int) ([]domain.AuditRow, int, error) {
	return db.ListAuditFiltered(ctx, domain.AuditFilter{}, limit, offset)
}

// EachAudit calls fn for every audit row in id order (oldest first). fn must
// not write to the database. An error from fn stops the walk and is returned.
func (db *DB) EachAudit(ctx context.Context, fn func(*domain.AuditRow) error) error {
	return db.EachAuditFiltered(ctx, domain.AuditFilter{}, fn)
}

// auditWhere is the WHERE clause (with its arguments) of filter f.
func auditWhere(f domain.AuditFilter) (string, []any) {
	var conds []string
	var args []any
	if f.Username != "" {
		conds, args = append(conds, "lower(username) = lower(?)"), append(args, f.Username)
	}
	if f.Action != "" {
		conds, args = append(conds, "action = ?"), append(args, f.Action)
	}
	if f.Outcome != "" {
		conds, args = append(conds, "outcome = ?"), append(args, f.Outcome)
	}
	if f.From != "" {
		conds, args = append(conds, "at >= ?"), append(args, f.From)
	}
	if f.To != "" {
		conds, args = append(conds, "at < ?"), append(args, f.To)
	}
	if f.BeforeID > 0 {
		conds, args = append(conds, "id < ?"), append(args, f.BeforeID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ListAuditFiltered is ListAudit with a filter.
func (db *DB) ListAuditFiltered(ctx context.Context, f domain.AuditFilter, limit, offset int) ([]domain.AuditRow, int, error) {
	where, args := auditWhere(f)
	var total int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+authAuditCols+` FROM audit_log`+where+` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []domain.AuditRow
	for rows.Next() {
		a, err := authScanAudit(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, translate(rows.Err())
}

// EachAuditFiltered calls fn for every row matching f, oldest first.
func (db *DB) EachAuditFiltered(ctx context.Context, f domain.AuditFilter, fn func(*domain.AuditRow) error) error {
	// A read-only query on one connection is a consistent WAL snapshot for
	// as long as the statement is open; no transaction (which would take the
	// write lock under _txlock=immediate) is needed.
	where, args := auditWhere(f)
	rows, err := db.QueryContext(ctx, `SELECT `+authAuditCols+` FROM audit_log`+where+` ORDER BY id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := authScanAudit(rows)
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}
