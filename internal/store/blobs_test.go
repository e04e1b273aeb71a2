package store

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"
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
		if _, err := db.Blob(ctx, "ab/y.jpg"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err=%v, want ErrNotFound", err)
		}
		var infos []BlobInfo
		db.EachBlob(ctx, func(b BlobInfo) error { infos = append(infos, b); return nil })
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
	t.Run("postgres/ExclusiveWaitsForShared", func(t *testing.T) {
		pgtest.Shared(t)
		db := MustOpenDB(t)
		unlockShared, err := db.BlobsShared(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan time.Time, 1)
		go func() {
			unlock, err := db.BlobsExclusive(ctx)
			if err != nil {
				t.Error(err)
				got <- time.Time{}
				return
			}
			got <- time.Now()
			unlock()
		}()
		time.Sleep(200 * time.Millisecond)
		released := time.Now()
		unlockShared()
		if at := <-got; at.Before(released) {
			t.Fatal("exclusive lock taken while a shared holder had it")
		}
	})
}
