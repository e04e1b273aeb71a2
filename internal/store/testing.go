package store

import (
	"context"
	"path/filepath"
	"testing"
)

// MustOpenDB opens a fresh database file in t.TempDir() and closes it when
// the test ends. Used by tests of every package that stores data.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "test.db"))
	if err != nil {
		tb.Fatalf("open test db: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
