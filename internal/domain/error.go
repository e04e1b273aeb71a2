package domain

import "errors"

// Errors of the storage seam, whatever the backend. The store translates
// its driver's errors into these (internal/store/errors.go), so no package
// above it matches sql.ErrNoRows, SQLite result codes, PostgreSQL SQLSTATEs
// or error strings: callers write errors.Is(err, domain.ErrNotFound) or
// domain.IsNotFound(err). The driver's error stays in the chain
// (errors.Unwrap) for the log.
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

// IsNotFound reports whether err is ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsBusy reports whether err is ErrBusy: the server is overloaded or a long
// writer holds the lock, so the request may be retried.
func IsBusy(err error) bool { return errors.Is(err, ErrBusy) }

// IsUnavailable reports whether err means the database cannot take the
// request now but may later: busy, read-only, disk full or unreachable.
// Such failures answer 503, not 500.
func IsUnavailable(err error) bool {
	return errors.Is(err, ErrBusy) || errors.Is(err, ErrReadOnly) || errors.Is(err, ErrDiskFull) || errors.Is(err, ErrUnavailable)
}
