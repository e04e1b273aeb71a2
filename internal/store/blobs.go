package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Blobs: on PostgreSQL the reference photos, thumbnails and search sketches
// live in the blobs table (migrations/postgres/1001_blobs.sql), keyed by the
// same content-addressed relative path the folder store uses, so instances
// share nothing but the database. On SQLite the folder (gallery.Files)
// keeps them and these methods are not used.

// ErrNoBlobs is returned by the blob methods on a SQLite database.
var ErrNoBlobs = errors.New("store: blobs are kept in the database only on PostgreSQL")

// PutBlob stores data under path; an existing blob of that path is kept
// (content-addressed: same path, same bytes).
func (db *DB) PutBlob(ctx context.Context, path string, data []byte) error {
	if db.Dialect != Postgres {
		return ErrNoBlobs
	}
	sum := sha256.Sum256(data)
	_, err := db.ExecContext(ctx, `INSERT INTO blobs (path, sha256, size_bytes, data, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (path) DO NOTHING`, path, hex.EncodeToString(sum[:]), len(data), data, db.Now().Unix())
	return err
}

// Blob returns a reader over the blob at path, or ErrNotFound.
func (db *DB) Blob(ctx context.Context, path string) (io.ReadSeekCloser, error) {
	if db.Dialect != Postgres {
		return nil, ErrNoBlobs
	}
	var data []byte
	if err := db.QueryRowContext(ctx, `SELECT data FROM blobs WHERE path = ?`, path).Scan(&data); err != nil {
		return nil, err
	}
	return nopCloser{bytes.NewReader(data)}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// BlobExists reports whether a blob is stored at path.
func (db *DB) BlobExists(ctx context.Context, path string) (bool, error) {
	var one int
	err := db.QueryRowContext(ctx, `SELECT 1 FROM blobs WHERE path = ?`, path).Scan(&one)
	if domain.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// DeleteBlob removes the blob at path; a missing blob is not an error.
func (db *DB) DeleteBlob(ctx context.Context, path string) error {
	_, err := db.ExecContext(ctx, `DELETE FROM blobs WHERE path = ?`, path)
	return err
}

// EachBlob calls fn for every blob's path and hash, in path order.
func (db *DB) EachBlob(ctx context.Context, fn func(domain.BlobInfo) error) error {
	rows, err := db.QueryContext(ctx, `SELECT path, sha256, size_bytes FROM blobs ORDER BY path`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b domain.BlobInfo
		if err := rows.Scan(&b.Path, &b.SHA256, &b.Size); err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}

// blobLockKey is the advisory lock that plays the part of the reference
// folder's flock on PostgreSQL ("SkMa" "blob").
const blobLockKey = 0x536b4d61_626c6f62

// BlobsShared takes the blob store's lock in shared mode for one
// write-then-commit (a blob and the row that points at it), across all
// instances; BlobsExclusive waits for the holders.
//
// One instance holds the shared lock once, on one connection, for as long
// as any of its writes is in flight (a count), rather than a connection per
// write: a connection per write would let the lock holders take the whole
// pool and leave none for the writes themselves.
func (db *DB) BlobsShared(ctx context.Context) (unlock func(), err error) {
	if db.Dialect != Postgres {
		return nil, ErrNoBlobs
	}
	db.blobLock.mu.Lock()
	defer db.blobLock.mu.Unlock()
	if db.blobLock.n == 0 {
		release, err := db.advisoryLock(ctx, `SELECT pg_advisory_lock_shared(?)`, `SELECT pg_advisory_unlock_shared(?)`)
		if err != nil {
			return nil, err
		}
		db.blobLock.release = release
	}
	db.blobLock.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			db.blobLock.mu.Lock()
			defer db.blobLock.mu.Unlock()
			if db.blobLock.n--; db.blobLock.n == 0 {
				db.blobLock.release()
				db.blobLock.release = nil
			}
		})
	}, nil
}

// sharedBlobLock is BlobsShared's state.
type sharedBlobLock struct {
	mu      sync.Mutex
	n       int    // writes in flight
	release func() // drops the session lock
}

// BlobsExclusive takes the blob store's lock in exclusive mode (the orphan
// sweep), on a connection of its own, released by unlock. It does not wait:
// with several instances some write is nearly always in flight somewhere,
// and an instance must not stall its start for the sweep; while the lock
// is held it returns ErrBusy and the sweep is left to a later start.
func (db *DB) BlobsExclusive(ctx context.Context) (unlock func(), err error) {
	return db.advisoryLock(ctx, `SELECT pg_try_advisory_lock(?)`, `SELECT pg_advisory_unlock(?)`)
}

func (db *DB) advisoryLock(ctx context.Context, lock, unlock string) (func(), error) {
	if db.Dialect != Postgres {
		return nil, ErrNoBlobs
	}
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, translate(err)
	}
	var got any // pg_try_advisory_lock answers a bool, pg_advisory_lock* nothing
	if err := conn.QueryRowContext(ctx, db.Dialect.query(lock), int64(blobLockKey)).Scan(&got); err != nil {
		conn.Close()
		return nil, translate(err)
	}
	if ok, isBool := got.(bool); isBool && !ok {
		conn.Close()
		return nil, &storeError{kind: domain.ErrBusy, err: errors.New("the blob store's lock is held by another instance")}
	}
	return func() {
		// A fresh context: the request's may be done, and the lock must go.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, db.Dialect.query(unlock), int64(blobLockKey)); err != nil {
			// The session ends with the connection, and its locks with it.
			conn.Raw(func(any) error { return driver.ErrBadConn }) // discards the connection
		}
		conn.Close()
	}, nil
}

// ReindexAlone runs fn unless another instance is running it: on
// PostgreSQL under a session advisory lock taken without waiting (ran is
// false when it was held), so the instances' background reindex passes do
// not embed the same references side by side. On SQLite fn just runs.
func (db *DB) ReindexAlone(ctx context.Context, fn func() error) (ran bool, err error) {
	if db.Dialect != Postgres {
		return true, fn()
	}
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return false, translate(err)
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, int64(reindexLockKey)).Scan(&got); err != nil {
		return false, translate(err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, int64(reindexLockKey)); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return true, fn()
}
