package store

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x", "a.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("PragmasOnEveryConnection", func(t *testing.T) {
		var mode string
		if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if got, want := mode, "wal"; got != want {
			t.Fatalf("journal_mode=%q, want %q", got, want)
		}
		var fk, busy int
		db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk)
		db.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy)
		if fk != 1 || busy != 10000 {
			t.Fatalf("foreign_keys=%d busy_timeout=%d, want 1 and 10000", fk, busy)
		}
	})
	db.Close()
	t.Run("ReopenIsIdempotent", func(t *testing.T) {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
		files, _ := fs.Glob(migrationFS, "migrations/*.sql")
		if n != len(files) {
			t.Fatalf("schema_migrations rows=%d, want one per migration (%d)", n, len(files))
		}
	})
	t.Run("Backup", func(t *testing.T) {
		db := MustOpenDB(t)
		dst := filepath.Join(t.TempDir(), "b.db")
		if err := db.Backup(ctx, dst); err != nil {
			t.Fatal(err)
		}
		if err := db.Backup(ctx, dst); err == nil {
			t.Fatal("backup over an existing file succeeded")
		}
		b, err := Open(ctx, dst)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if err := b.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPingChecksBothPools: /readyz's Ping fails when SQLite's write pool
// is gone, although the read pool still answers SELECTs.
func TestPingChecksBothPools(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping of a healthy database: %v", err)
	}
	if db.ro == nil {
		t.Skip("no separate read pool")
	}
	db.DB.Close()
	if err := db.Ping(ctx); err == nil {
		t.Fatal("ping succeeded with the write pool closed")
	}
}

func TestClock(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	db := &DB{Now: func() time.Time { return at }}
	if got := db.Clock(); !got.Equal(at) {
		t.Errorf("Clock() = %v with Now set, want %v", got, at)
	}
	db.Now = nil
	if got := db.Clock(); time.Since(got) > time.Minute || time.Since(got) < 0 {
		t.Errorf("Clock() = %v with Now nil, want about time.Now()", got)
	}
}
