package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Scale-out measurements (issue #10), run on demand:
//
//	SKETCHMATCH_PG_BENCH=100000 go test -run TestPostgresScale -v ./internal/store
//
// It seeds N searchable 512-d references into a fresh PostgreSQL database,
// times reading them all back as an instance does at start (EachEmbedding:
// the database part of LoadIndex), then times insert-to-announcement across
// two connections (NOTIFY delivery plus the follower's one-row read: what
// Follow does before the in-memory Add), p50/p99 over 200 inserts.
func TestPostgresScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SKETCHMATCH_PG_BENCH"))
	if n <= 0 {
		t.Skip("set SKETCHMATCH_PG_BENCH=N (references) to run")
	}
	pgtest.Shared(t)
	forEachBackend(t, func(t *testing.T) { postgresScale(t, n) })
}

func postgresScale(t *testing.T, n int) {
	ctx := context.Background()
	db := MustOpenDB(t)
	const dim = 512
	vec := make([]float32, dim)
	hogBytes := make([]byte, 2*6084) // a HOG descriptor's size (hog.Len() halves), incompressible
	for i := range hogBytes {
		hogBytes[i] = byte(rand.Uint32())
	}
	seedStart := time.Now()
	for start := 0; start < n; start += 1000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := start; i < min(start+1000, n); i++ {
			for j := range vec {
				vec[j] = rand.Float32()
			}
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO "references" (sha256, content_type, size_bytes, width, height, stored_path, thumb_path, created_at, updated_at)
				VALUES (?, 'image/jpeg', 1, 1, 1, 'p', 't', 0, 0) RETURNING id`, fmt.Sprint("sha", i)).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if err := putEmbedding(ctx, tx, id, &domain.NewEmbedding{ModelID: "m", Vector: vec, FaceFound: true, HOG: hogBytes}, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seeded %d references in %v", n, time.Since(seedStart))
	if db.Dialect == Postgres {
		var heap, toast int64
		var st string
		db.QueryRowContext(ctx, `SELECT pg_relation_size('embeddings'), pg_relation_size(reltoastrelid) FROM pg_class WHERE relname='embeddings'`).Scan(&heap, &toast)
		db.QueryRowContext(ctx, `SELECT string_agg(attname::text || '=' || attstorage::text, ',') FROM pg_attribute WHERE attrelid = 'embeddings'::regclass AND attnum > 0`).Scan(&st)
		t.Logf("embeddings: heap %d MiB, TOAST %d MiB; storage %s", heap>>20, toast>>20, st)
	}
	for round := 0; round < 2; round++ {
		start := time.Now()
		got := 0
		if err := db.EachEmbedding(ctx, "m", dim, func(*domain.StoredEmbedding) error { got++; return nil }); err != nil || got != n {
			t.Fatalf("read %d err=%v", got, err)
		}
		t.Logf("start-up read of %d vectors (round %d): %v", n, round+1, time.Since(start))
	}
	if db.Dialect != Postgres {
		return
	}

	follower := MustOpenDB2(t, db)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	arrived := make(chan int64, 16)
	go follower.Listen(lctx, IndexChannel, func() { close(ready) }, func(p string) {
		var id int64
		var model string
		if _, err := fmt.Sscanf(p, "I:%d:%s", &id, &model); err == nil {
			follower.SearchableVector(lctx, id, model)
			arrived <- id
		}
	})
	<-ready
	var delays []time.Duration
	for i := 0; i < 200; i++ {
		r := &domain.Reference{SHA256: fmt.Sprint("new", i), ContentType: "image/jpeg", StoredPath: "p", ThumbPath: "t"}
		start := time.Now()
		if err := db.InsertReference(ctx, r, &domain.NewEmbedding{ModelID: "m", Vector: vec, FaceFound: true}, nil); err != nil {
			t.Fatal(err)
		}
		committed := time.Now()
		for id := range arrived {
			if id == r.ID {
				break
			}
		}
		_ = start
		delays = append(delays, time.Since(committed))
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	t.Logf("commit on one connection to vector read by a listener on another: p50 %v p99 %v max %v (200 inserts)",
		delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1])
}

// MustOpenDB2 opens a second handle on db's PostgreSQL database (another
// instance).
func MustOpenDB2(tb testing.TB, db *DB) *DB {
	tb.Helper()
	other, err := OpenPostgres(context.Background(), db.url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { other.Close() })
	return other
}
