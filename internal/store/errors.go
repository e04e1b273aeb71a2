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

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// The store translates its driver's errors into domain's error values
// (domain.ErrNotFound, domain.ErrBusy, ...): translate, below, is the one
// place that knows driver error codes, so no package above the store
// matches sql.ErrNoRows, SQLite result codes, PostgreSQL SQLSTATEs or error
// strings. Every error a store method returns has passed through it.

// storeError carries one of domain's error values and the driver's error.
type storeError struct {
	kind error
	err  error
}

func (e *storeError) Error() string        { return e.kind.Error() + ": " + e.err.Error() }
func (e *storeError) Unwrap() error        { return e.err }
func (e *storeError) Is(target error) bool { return target == e.kind }

// translate maps a driver error to one of domain's error values (wrapping
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
		return domain.ErrNotFound
	}
	var sq *sqlite.Error
	if errors.As(err, &sq) {
		switch sq.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return domain.ErrBusy
		case sqlite3.SQLITE_READONLY:
			return domain.ErrReadOnly
		case sqlite3.SQLITE_FULL:
			return domain.ErrDiskFull
		case sqlite3.SQLITE_CONSTRAINT:
			switch sq.Code() {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return domain.ErrConflict
			}
		}
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return domain.ErrConflict
		case pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03": // serialization_failure, deadlock_detected, lock_not_available
			return domain.ErrBusy
		case pe.Code == "25006": // read_only_sql_transaction
			return domain.ErrReadOnly
		case pe.Code == "53100": // disk_full
			return domain.ErrDiskFull
		case pe.Code == "53300", pe.Code == "57P03": // too_many_connections, cannot_connect_now
			return domain.ErrUnavailable
		case len(pe.Code) == 5 && pe.Code[:2] == "08": // connection exception
			return domain.ErrUnavailable
		case pe.Code == "57P01", pe.Code == "57P02": // admin_shutdown, crash_shutdown
			return domain.ErrUnavailable
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
		return domain.ErrUnavailable
	}
	return nil
}
