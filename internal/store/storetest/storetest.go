// Package storetest opens throwaway databases for the tests of packages
// that store data. It lives outside package store so that nothing from
// "testing" is linked into the production binary.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/store"
)

// MustOpenDB opens a fresh SQLite database file in tb.TempDir() and closes
// it when the test ends.
func MustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "test.db"))
	if err != nil {
		tb.Fatalf("open test db: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
