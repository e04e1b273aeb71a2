package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"
)

// TestMain stops the PostgreSQL cluster the tests started, if any.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends is the one table of backends the store's tests run against:
// forEachBackend runs a test once per row, and MustOpenDB opens the row's
// backend (named by the subtest: TestX/postgres/...).
var backends = []struct {
	name string
	open func(tb testing.TB) *DB
}{
	{"sqlite", func(tb testing.TB) *DB {
		db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "test.db"))
		if err != nil {
			tb.Fatalf("open test db: %v", err)
		}
		return db
	}},
	{"postgres", func(tb testing.TB) *DB {
		db, err := Open(context.Background(), pgtest.URL(tb))
		if err != nil {
			tb.Fatalf("open test db: %v", err)
		}
		return db
	}},
}

// forEachBackend runs test as a subtest per backend.
func forEachBackend(t *testing.T, test func(t *testing.T)) {
	for _, b := range backends {
		t.Run(b.name, test)
	}
}

// MustOpenDB opens a fresh database of the backend the running test is
// for (SQLite outside forEachBackend) and closes it when the test ends.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	open := backends[0].open
	if parts := strings.Split(tb.Name(), "/"); len(parts) > 1 {
		for _, b := range backends {
			if b.name == parts[1] {
				open = b.open
			}
		}
	}
	db := open(tb)
	tb.Cleanup(func() { db.Close() })
	return db
}
