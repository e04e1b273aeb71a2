package store

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Blobs live in the database on PostgreSQL only.
func TestBlobs(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite/ErrNoBlobs", func(t *testing.T) {
		if err := MustOpenDB(t).PutBlob(ctx, "ab/x.jpg", nil); !errors.Is(err, ErrNoBlobs) {
			t.Fatalf("err=%v, want ErrNoBlobs", err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		pgtest.Shared(t)
		db := MustOpenDB(t)
		if err := db.PutBlob(ctx, "ab/x.jpg", []byte("one")); err != nil {
			t.Fatal(err)
		}
		if err := db.PutBlob(ctx, "ab/x.jpg", []byte("two")); err != nil { // same path: kept
			t.Fatal(err)
		}
		r, err := db.Blob(ctx, "ab/x.jpg")
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(r); string(b) != "one" {
			t.Fatalf("blob=%q", b)
		}
		if _, err := db.Blob(ctx, "ab/y.jpg"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("err=%v, want ErrNotFound", err)
		}
		var infos []domain.BlobInfo
		db.EachBlob(ctx, func(b domain.BlobInfo) error { infos = append(infos, b); return nil })
		if len(infos) != 1 || infos[0].SHA256 != "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed" || infos[0].Size != 3 {
			t.Fatalf("blobs=%+v", infos)
		}
		if err := db.DeleteBlob(ctx, "ab/x.jpg"); err != nil {
			t.Fatal(err)
		}
		if ok, err := db.BlobExists(ctx, "ab/x.jpg"); ok || err != nil {
			t.Fatalf("exists=%v err=%v after delete", ok, err)
		}
	})
	t.Run("postgres/ExclusiveRefusedWhileShared", func(t *testing.T) {
		pgtest.Shared(t)
		db := MustOpenDB(t)
		other := MustOpenDB2(t, db)
		unlockShared, err := db.BlobsShared(ctx)
		if err != nil {
			t.Fatal(err)
		}
		again, err := db.BlobsShared(ctx) // a second write on the same instance
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.BlobsExclusive(ctx); !errors.Is(err, domain.ErrBusy) {
			t.Fatalf("exclusive while shared: err=%v, want ErrBusy", err)
		}
		unlockShared()
		if _, err := other.BlobsExclusive(ctx); !errors.Is(err, domain.ErrBusy) {
			t.Fatalf("exclusive while one write is still in flight: err=%v, want ErrBusy", err)
		}
		again()
		unlock, err := other.BlobsExclusive(ctx)
		if err != nil {
			t.Fatalf("exclusive after the writes: %v", err)
		}
		if _, err := db.BlobsExclusive(ctx); !errors.Is(err, domain.ErrBusy) {
			t.Fatalf("second exclusive: err=%v, want ErrBusy", err)
		}
		unlock()
	})
}
