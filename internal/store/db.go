// Package store is SketchMatch's SQLite storage (modernc.org/sqlite, pure Go):
// connection setup, embedded numbered migrations, and one file per aggregate
// (users.go, sessions.go, audit.go, references.go, searches.go, ...).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// BusyTimeout is how long a statement waits for a lock held by another writer.
const BusyTimeout = 10 * time.Second

// DB wraps *sql.DB. Its methods are the only place SQL lives.
type DB struct {
	*sql.DB
	Path string
	// Now is the clock used for timestamps; tests replace it.
	Now func() time.Time

	// stmts caches prepared statements by query text: parsing SQL is the
	// largest cost of a small query with modernc's SQLite (measured: about
	// a fifth of a page view). See QueryContext.
	stmts  sync.Map // string -> *sql.Stmt
	nstmts atomic.Int32
}

// maxCachedStmts bounds the statement cache (queries built with a variable
// number of placeholders are distinct texts).
const maxCachedStmts = 512

// prepared returns the cached statement for query, preparing it once.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := db.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	if db.nstmts.Load() >= maxCachedStmts {
		return nil, errNoCache
	}
	s, err := db.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	db.nstmts.Add(1)
	return s, nil
}

var errNoCache = errors.New("statement cache full")

// QueryContext, QueryRowContext and ExecContext shadow *sql.DB's so that
// every query of this package runs as a cached prepared statement.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := db.prepared(ctx, query)
	if err != nil {
		return db.DB.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext: see QueryContext.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := db.prepared(ctx, query)
	if err != nil {
		return db.DB.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// ExecContext: see QueryContext.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := db.prepared(ctx, query)
	if err != nil {
		return db.DB.ExecContext(ctx, query, args...)
	}
	return s.ExecContext(ctx, args...)
}

// Close closes the cached statements and the database.
func (db *DB) Close() error {
	db.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return db.DB.Close()
}

// Open opens (creating if needed) the database at path, sets WAL,
// busy_timeout and foreign keys on every connection, and applies migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("database path is empty")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating database folder: %w", err)
		}
	}
	// _pragma parameters run on every new connection of the pool.
	dsn := fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		path, BusyTimeout.Milliseconds())
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(8)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{DB: sqldb, Path: path, Now: time.Now}
	if err := db.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

// migrate applies every embedded migration not yet recorded in
// schema_migrations, in name order, all in one transaction, so a failed upgrade leaves the database untouched.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Applied versions as a set, not a maximum: migrations numbered on
	// parallel branches (0002–0004 and 0005 here) may be merged in any
	// order, and one merged later with a lower number must still run.
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	for _, name := range names {
		base := filepath.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if applied[v] {
			continue
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return tx.Commit()
}

// Ping checks the database answers a query (for /readyz and `check`).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Backup writes a consistent online copy of the database to dst with
// VACUUM INTO. dst must not exist.
func (db *DB) Backup(ctx context.Context, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup target %s already exists", dst)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	return nil
}

// IsNotFound reports whether err is sql.ErrNoRows.
func IsNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// IsBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY
// or SQLITE_LOCKED after the busy timeout): the server is overloaded or a
// long writer holds the lock, so the request may be retried.
func IsBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}
