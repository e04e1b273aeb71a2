package gallery_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// vectorsOnly is an encoder that only names a model and a dimension (the
// load benchmark never embeds).
type vectorsOnly struct{ dim int }

func (v vectorsOnly) ModelID() string { return "bench@000000000000" }
func (v vectorsOnly) Dim() int        { return v.dim }
func (v vectorsOnly) Embed(context.Context, image.Image) (*embed.Embedding, error) {
	return nil, errors.New("not in this benchmark")
}
func (v vectorsOnly) EmbedBatch(context.Context, []image.Image) ([]*embed.Embedding, error) {
	return nil, errors.New("not in this benchmark")
}

// BenchmarkLoadIndex is the start-up load of the index: n vectors of the
// active model streamed from SQLite into one contiguous matrix.
func BenchmarkLoadIndex(b *testing.B) {
	for _, tc := range []struct{ n, dim int }{{100_000, 512}} {
		b.Run(fmt.Sprintf("n=%d/d=%d", tc.n, tc.dim), func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			seedVectors(b, db, tc.n, tc.dim)
			svc, err := gallery.New(ctx, gallery.Options{DB: db, Files: &gallery.Files{Root: b.TempDir()}, Audit: &audit.Log{DB: db},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Encoder: vectorsOnly{tc.dim}})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := svc.LoadIndex(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st, _ := svc.Stats(ctx)
			if st.Indexed != tc.n {
				b.Fatalf("indexed %d, want %d", st.Indexed, tc.n)
			}
		})
	}
}

// seedVectors inserts n references with random unit vectors in one transaction.
func seedVectors(b *testing.B, db *store.DB, n, dim int) {
	b.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, dim)
	for i := 0; i < n; i++ {
		var norm float64
		for j := range v {
			v[j] = float32(r.NormFloat64())
			norm += float64(v[j]) * float64(v[j])
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(norm))
		}
		sha := fmt.Sprintf("%064x", i)
		res, err := tx.ExecContext(ctx, `INSERT INTO "references" (sha256, content_type, size_bytes, width, height, stored_path, thumb_path, created_at, updated_at)
			VALUES (?, 'image/jpeg', 1, 1, 1, ?, ?, 0, 0)`, sha, gallery.PhotoPath(sha, ".jpg"), gallery.ThumbPath(sha))
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `INSERT INTO embeddings (reference_id, model_id, dim, vector, created_at) VALUES (?, ?, ?, ?, 0)`,
			id, "bench@000000000000", dim, store.EncodeVector(v)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
