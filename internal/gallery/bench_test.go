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
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/fusion"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/hog"
	"github.com/sketchmatch/sketchmatch/internal/index"
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
// active model streamed from SQLite into the index, its float32 rows in a
// file as the server keeps them (Options.IndexDir). The 1M case (a 2 GB
// database, about a minute to seed) is skipped under -short.
func BenchmarkLoadIndex(b *testing.B) {
	for _, tc := range []struct{ n, dim int }{{100_000, 512}, {1_000_000, 512}} {
		b.Run(fmt.Sprintf("n=%d/d=%d", tc.n, tc.dim), func(b *testing.B) {
			if testing.Short() && tc.n > 100_000 {
				b.Skip("1M: 2 GB database; skipped under -short")
			}
			ctx := context.Background()
			db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			seedVectors(b, db, tc.n, tc.dim)
			svc, err := gallery.New(ctx, gallery.Options{DB: db, Files: &gallery.Files{Root: b.TempDir()}, Audit: &audit.Log{DB: db},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Encoder: vectorsOnly{tc.dim}, IndexDir: b.TempDir()})
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO embeddings (reference_id, model_id, dim, vector, face_found, created_at) VALUES (?, ?, ?, ?, 1, 0)`,
			id, "bench@000000000000", dim, store.EncodeVector(v)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// benchModel is a fused-search model of the production shape (512-d
// embedding, 300-d PCA of two 6084-float HOGs, whitening, CSLS over 480
// calibration sketches) with random contents: speed does not depend on
// the values.
func benchModel(r *rand.Rand) *fusion.Model {
	const e, k, nCal = 512, 300, 480
	h := 2 * hog.Len()
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	return &fusion.Model{Weight: 1.5, CSLSBeta: 0.5, CSLSK: 10,
		PhotoEmbMean: rnd(e), SketchEmbMean: rnd(e), PhotoHOGMean: rnd(h), SketchHOGMean: rnd(h),
		Basis: rnd(k * h), EmbWhiten: rnd(e * e), HOGWhiten: rnd(k * k), CSLSSketches: rnd(nCal * (e + k))}
}

func randGray(r *rand.Rand) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 112, 112))
	for i := range g.Pix {
		g.Pix[i] = uint8(r.IntN(256))
	}
	return g
}

// BenchmarkFusedSearch is what a fused-search calibration adds to a search
// on a 100k gallery, stage by stage: the wide crop's HOG, the probe's fused
// vector (PCA projection, whitening), and the exact scan of 813-d fused
// vectors (whole-gallery fusion) next to today's 512-d first stage, whose
// top RERANK_N then need their HOG descriptors read and compared.
func BenchmarkFusedSearch(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	m := benchModel(r)
	tight, wide := hog.Compute(randGray(r)), hog.Compute(randGray(r))
	emb := make([]float32, 512)
	for i := range emb {
		emb[i] = float32(r.NormFloat64())
	}
	b.Run("wide-crop HOG", func(b *testing.B) {
		g := randGray(r)
		for b.Loop() {
			hog.Compute(g)
		}
	})
	b.Run("probe fused vector", func(b *testing.B) {
		for b.Loop() {
			m.Sketch(fusion.Parts{Emb: emb, Tight: tight, Wide: wide})
		}
	})
	const n = 100_000
	for _, tc := range []struct {
		name   string
		dim, k int
	}{{"scan d=512 top200 (today's first stage)", 512, 200}, {"scan d=813 top50 (fused)", m.Dim(), 50}} {
		b.Run(fmt.Sprintf("n=%d/%s", n, tc.name), func(b *testing.B) {
			idx := index.New(tc.dim)
			vecs := make([]float32, n*tc.dim)
			for i := range vecs {
				vecs[i] = float32(r.NormFloat64()) / 20
			}
			ids := make([]int64, n)
			for i := range ids {
				ids[i] = int64(i + 1)
			}
			if err := idx.AddBatch(ids, vecs); err != nil {
				b.Fatal(err)
			}
			q := vecs[:tc.dim]
			b.ResetTimer()
			for b.Loop() {
				idx.Search(q, tc.k)
			}
		})
	}
}

// BenchmarkLoadFusedIndex is the start-up load under a fused-search
// calibration: every reference's fused vector read from the cache, or
// (uncached, a smaller n: it is the one-off cost after a new calibration)
// projected from its stored descriptors.
func BenchmarkLoadFusedIndex(b *testing.B) {
	for _, tc := range []struct {
		n      int
		cached bool
	}{{100_000, true}, {2_000, false}} {
		b.Run(fmt.Sprintf("n=%d/cached=%t", tc.n, tc.cached), func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			r := rand.New(rand.NewPCG(1, 9))
			m := benchModel(r)
			seedVectors(b, db, tc.n, 512)
			c := &domain.Calibration{ModelID: "bench@000000000000", NPairs: 480, PhotoMean: m.PhotoEmbMean, SketchMean: m.SketchEmbMean, Fusion: m.Marshal()}
			if err := db.InsertCalibration(ctx, c, nil); err != nil {
				b.Fatal(err)
			}
			desc := hog.Encode(hog.Compute(randGray(r)))
			if _, err := db.ExecContext(ctx, `UPDATE embeddings SET hog = ?, hog_wide = ?`, desc, desc); err != nil {
				b.Fatal(err)
			}
			if tc.cached {
				fv := make([]float32, m.Dim())
				for i := range fv {
					fv[i] = float32(r.NormFloat64())
				}
				if _, err := db.ExecContext(ctx, `INSERT INTO fused_vectors (reference_id, calibration_id, vector) SELECT id, ?, ? FROM "references"`, c.ID, store.EncodeVector(fv)); err != nil {
					b.Fatal(err)
				}
			}
			svc, err := gallery.New(ctx, gallery.Options{DB: db, Files: &gallery.Files{Root: b.TempDir()}, Audit: &audit.Log{DB: db},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Encoder: vectorsOnly{512}})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !tc.cached {
					b.StopTimer()
					if _, err := db.ExecContext(ctx, `DELETE FROM fused_vectors`); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
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
