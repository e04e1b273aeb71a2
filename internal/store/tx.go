package store

import (
	"context"
	"database/sql"
)

// Tx is a transaction of a DB. Its methods rebind the query text to the
// DB's dialect and translate driver errors (see dialect.go, errors.go), so
// hooks that add a row to a store transaction (an audit row, a search's
// filter) work unchanged on both backends.
type Tx struct {
	tx *sql.Tx
	d  Dialect
}

// Dialect is the backend the transaction runs on.
func (t *Tx) Dialect() Dialect { return t.d }

// ExecContext runs a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(ctx, t.d.query(query), t.d.args(args)...)
	return res, translate(err)
}

// QueryContext runs a query in the transaction.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := t.tx.QueryContext(ctx, t.d.query(query), t.d.args(args)...)
	return rows, translate(err)
}

// QueryRowContext runs a query expected to return at most one row.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	return &Row{r: t.tx.QueryRowContext(ctx, t.d.query(query), t.d.args(args)...)}
}

// PrepareContext prepares a statement for repeated use in the transaction.
func (t *Tx) PrepareContext(ctx context.Context, query string) (*Stmt, error) {
	s, err := t.tx.PrepareContext(ctx, t.d.query(query))
	if err != nil {
		return nil, translate(err)
	}
	return &Stmt{s: s, d: t.d}, nil
}

// Commit commits the transaction.
func (t *Tx) Commit() error { return translate(t.tx.Commit()) }

// Rollback aborts the transaction; after Commit it is a no-op (sql.ErrTxDone).
func (t *Tx) Rollback() error { return t.tx.Rollback() }

// Stmt is a prepared statement of a Tx.
type Stmt struct {
	s *sql.Stmt
	d Dialect
}

// ExecContext runs the statement with args.
func (s *Stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	res, err := s.s.ExecContext(ctx, s.d.args(args)...)
	return res, translate(err)
}

// Close releases the statement.
func (s *Stmt) Close() error { return s.s.Close() }

// Row is the result of QueryRowContext; Scan translates errors (no row:
// ErrNotFound).
type Row struct {
	r *sql.Row
}

// Scan copies the row's columns into dest.
func (r *Row) Scan(dest ...any) error { return translate(r.r.Scan(dest...)) }

// Err reports the error of running the query, if any.
func (r *Row) Err() error { return translate(r.r.Err()) }

// lock takes a transaction-scoped advisory lock on PostgreSQL (released at
// commit or rollback), serialising a read-then-write with the other
// instances as SQLite's BEGIN IMMEDIATE does for every transaction; on
// SQLite it does nothing.
func (t *Tx) lock(ctx context.Context, key int64) error {
	if t.d != Postgres {
		return nil
	}
	_, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, key)
	return err
}
