package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors the store returns, whatever the backend. The store translates its
// driver's errors into these (translate, below), so no package above it
// matches sql.ErrNoRows, SQLite result codes, PostgreSQL SQLSTATEs or error
// strings: callers write errors.Is(err, store.ErrNotFound). The driver's
// error stays in the chain (errors.Unwrap) for the log.
var (
	// ErrNotFound: no row matched.
	ErrNotFound = errors.New("store: not found")
	// ErrBusy: the database is locked by another writer past the busy
	// timeout (SQLite), or a serialisation failure / deadlock / lock timeout
	// (PostgreSQL): retrying later may succeed.
	ErrBusy = errors.New("store: database busy")
	// ErrReadOnly: the database refuses writes (read-only file or replica).
	ErrReadOnly = errors.New("store: database is read-only")
	// ErrDiskFull: the database's disk is full.
	ErrDiskFull = errors.New("store: database disk is full")
	// ErrConflict: a unique constraint refused the write.
	ErrConflict = errors.New("store: conflicting row exists")
	// ErrUnavailable: the database server cannot be reached (PostgreSQL
	// down or restarting, connection lost).
	ErrUnavailable = errors.New("store: database unavailable")
)

// storeError carries one of the values above and the driver's error.
type storeError struct {
	kind error
	err  error
}

func (e *storeError) Error() string        { return e.kind.Error() + ": " + e.err.Error() }
func (e *storeError) Unwrap() error        { return e.err }
func (e *storeError) Is(target error) bool { return target == e.kind }

// translate maps a driver error to one of the store's error values (wrapping
// it); other errors, nil and already translated errors pass unchanged. It is
// the one place that knows driver error codes.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var se *storeError
	if errors.As(err, &se) {
		return err
	}
	if kind := classify(err); kind != nil {
		return &storeError{kind: kind, err: err}
	}
	return err
}

func classify(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var sq *sqlite.Error
	if errors.As(err, &sq) {
		switch sq.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return ErrBusy
		case sqlite3.SQLITE_READONLY:
			return ErrReadOnly
		case sqlite3.SQLITE_FULL:
			return ErrDiskFull
		case sqlite3.SQLITE_CONSTRAINT:
			switch sq.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return ErrConflict
			}
		}
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return ErrConflict
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03": // serialization_failure, deadlock_detected, lock_not_available
			return ErrBusy
		case pe.Code == "25006": // read_only_sql_transaction
			return ErrReadOnly
		case pe.Code == "53100": // disk_full
			return ErrDiskFull
		case pe.Code == "53300", pe.Code == "57P03": // too_many_connections, cannot_connect_now
			return ErrUnavailable
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return ErrUnavailable
		case pe.Code == "57P01", pe.Code == "57P02": // admin_shutdown, crash_shutdown
			return ErrUnavailable
		}
		return nil
	}
	// Lost or refused connections to a database server (PostgreSQL). The
	// SQLite driver has no network and never returns these.
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) && !errors.Is(err, context.Canceled) {
		return ErrUnavailable
	}
	return nil
}

// IsNotFound reports whether err is ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) || errors.Is(err, sql.ErrNoRows) }

// IsBusy reports whether err is ErrBusy: the server is overloaded or a long
// writer holds the lock, so the request may be retried.
func IsBusy(err error) bool { return errors.Is(classifyAll(err), ErrBusy) }

// IsUnavailable reports whether err means the database cannot take the
// request now but may later: busy, read-only, disk full or unreachable.
// Such failures answer 503, not 500.
func IsUnavailable(err error) bool {
	err = classifyAll(err)
	return errors.Is(err, ErrBusy) || errors.Is(err, ErrReadOnly) || errors.Is(err, ErrDiskFull) || errors.Is(err, ErrUnavailable)
}

// classifyAll translates err if nothing on its way up did (rows.Err of an
// iteration, for example, is not wrapped by the store).
func classifyAll(err error) error { return translate(err) }
