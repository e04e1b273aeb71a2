package store

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Committed embedding and calibration changes are announced on
// IndexChannel; Listen calls resync on connecting.
func TestListenIndexChanges(t *testing.T) {
	pgtest.Shared(t)
	t.Run("postgres", func(t *testing.T) {
		db := MustOpenDB(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan string, 16)
		ready := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			db.Listen(ctx, IndexChannel, func() { close(ready) }, func(p string) { got <- p })
		}()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("Listen did not connect")
		}
		r := &domain.Reference{SHA256: "s", ContentType: "image/jpeg", StoredPath: "p", ThumbPath: "t"}
		if err := db.InsertReference(ctx, r, &domain.NewEmbedding{ModelID: "m", Vector: []float32{1}, FaceFound: true}, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertCalibration(ctx, &domain.Calibration{ModelID: "m", PhotoMean: []float32{1}, SketchMean: []float32{1}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteReference(ctx, r.ID, nil); err != nil {
			t.Fatal(err)
		}
		id := itoa64(r.ID)
		for _, want := range []string{"I:" + id + ":m", "C:0:m", "D:" + id + ":m"} {
			select {
			case p := <-got:
				if p != want {
					t.Fatalf("payload=%q, want %q", p, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no notification %q", want)
			}
		}
		// People (issue 16): a photo moved to another person, and witness
		// metadata written (now the person's).
		a := &domain.Reference{SHA256: "a", ContentType: "image/jpeg", StoredPath: "pa", ThumbPath: "ta"}
		b := &domain.Reference{SHA256: "b", ContentType: "image/jpeg", StoredPath: "pb", ThumbPath: "tb"}
		for _, r := range []*domain.Reference{a, b} {
			if err := db.InsertReference(ctx, r, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.MoveReference(ctx, b.ID, a.SubjectID, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateMetadata(ctx, a.ID, nil, domain.Metadata{Sex: "male"}, nil); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"S:" + itoa64(b.ID) + ":", "M:" + itoa64(a.SubjectID) + ":"} {
			select {
			case p := <-got:
				if p != want {
					t.Fatalf("payload=%q, want %q", p, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no notification %q", want)
			}
		}
		cancel()
		<-done
	})
}

// Only PostgreSQL announces changes to the instances sharing it.
func TestAnnounces(t *testing.T) {
	if (&DB{Dialect: SQLite}).Announces() {
		t.Error("SQLite announces, want not")
	}
	if !(&DB{Dialect: Postgres}).Announces() {
		t.Error("PostgreSQL does not announce, want it to")
	}
}

// ListenReporting tells its caller why it lost the connection, and keeps
// retrying until ctx ends; on SQLite it returns at once.
func TestListenReporting(t *testing.T) {
	never := func() { t.Error("resync called") }
	neverFn := func(p string) { t.Errorf("notified %q", p) }
	if err := (&DB{Dialect: SQLite}).ListenReporting(context.Background(), IndexChannel, never, neverFn,
		func(err error) { t.Errorf("SQLite reported %v", err) }); err != nil {
		t.Fatal(err)
	}

	// A port that nothing listens on: every connection attempt fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	db := &DB{Dialect: Postgres, url: "postgres://u@" + addr + "/none?sslmode=disable&connect_timeout=5"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	done := make(chan error, 1)
	go func() {
		done <- db.ListenReporting(ctx, IndexChannel, never, neverFn, func(err error) {
			if errs = append(errs, err); len(errs) == 2 {
				cancel()
			}
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ListenReporting did not return once ctx ended")
	}
	if len(errs) != 2 || errs[0] == nil || errs[1] == nil {
		t.Fatalf("reported %v, want two connection errors", errs)
	}
}
