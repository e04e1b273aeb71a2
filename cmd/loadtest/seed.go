package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/hog"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// seedActor is who the seeding is attributed to in the audit trail.
var seedActor = auth.Actor{Username: "loadtest", ClientIP: "local"}

// seedUsers creates officer accounts PREFIX001..PREFIXn; existing ones are
// left as they are.
func seedUsers(ctx context.Context, o options, out io.Writer) error {
	if o.password == "" {
		return errors.New("-seed-users needs -password")
	}
	db, err := store.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := &auth.Service{DB: db, Audit: &audit.Log{DB: db}}
	created, kept := 0, 0
	for i := 1; i <= o.seedUsers && ctx.Err() == nil; i++ {
		name := accountName(o.userPrefix, i)
		if _, err := svc.CreateUser(ctx, seedActor, name, o.password, auth.RoleOfficer); err != nil {
			if apperr.Code(err) == apperr.ECONFLICT {
				kept++
				continue
			}
			return fmt.Errorf("creating %s: %w", name, err)
		}
		created++
	}
	fmt.Fprintf(out, "seed-users: %d officer accounts created, %d already there (%s..%s)\n",
		created, kept, accountName(o.userPrefix, 1), accountName(o.userPrefix, o.seedUsers))
	return ctx.Err()
}

func accountName(prefix string, i int) string { return fmt.Sprintf("%s%03d", prefix, i) }

// seedGallery adds synthetic references until the gallery holds
// o.seedGallery. Each gets a random unit vector for the model (and, with
// -seed-hog, a random unit HOG descriptor) and a tiny unique JPEG written
// content-addressed exactly where an upload of those bytes would go (photo
// and thumbnail), so the server's start-up sweep keeps them and every row
// has its files.
func seedGallery(ctx context.Context, o options, out io.Writer) error {
	db, err := store.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer db.Close()
	model, dim, err := seedModel(ctx, db, o.modelID)
	if err != nil {
		return err
	}
	have, _, err := db.CountReferences(ctx, model)
	if err != nil {
		return err
	}
	todo := o.seedGallery - have
	if todo <= 0 {
		fmt.Fprintf(out, "seed-gallery: the gallery already holds %d references (≥ %d); nothing to add\n", have, o.seedGallery)
		return nil
	}
	fmt.Fprintf(out, "seed-gallery: adding %d synthetic references (%s, %d-d) to the %d there\n", todo, model, dim, have)
	files := seedFiles(db, o.refs)
	start := time.Now()
	const batch = 500
	added := 0
	for added < todo && ctx.Err() == nil {
		n := min(batch, todo-added)
		refs, err := writeSyntheticFiles(files, n)
		if err != nil {
			return err
		}
		if err := insertSynthetic(ctx, db, refs, model, dim, o.seedHOG); err != nil {
			return err
		}
		added += n
		if added%5000 < batch || added == todo {
			fmt.Fprintf(out, "seed-gallery: %d / %d\n", added, todo)
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %d references (the rows written are complete; rerun to continue)", added)
	}
	// On the record, like every change to the gallery.
	if err := (&audit.Log{DB: db}).Record(ctx, audit.Entry{Username: seedActor.Username, ClientIP: seedActor.ClientIP,
		Action: audit.ActionReferenceAdd, Target: "synthetic", Outcome: "success",
		Details: fmt.Sprintf("loadtest -seed-gallery: %d synthetic references (random vectors) for %s", added, model)}); err != nil {
		return err
	}
	fmt.Fprintf(out, "seed-gallery: done in %s; the gallery holds %d references\n", time.Since(start).Round(time.Millisecond), have+added)
	return nil
}

// seedModel returns the model id and dimension to seed: the one given, or
// the model with the most embeddings (so real photos must be imported
// first).
func seedModel(ctx context.Context, db *store.DB, want string) (string, int, error) {
	model, dim, err := db.DominantModel(ctx, want)
	if domain.IsNotFound(err) {
		return "", 0, errors.New("no embeddings in the database to take the model id and dimension from: import real photos first (bin/sketchmatch import DIR), with the model the server will use")
	}
	return model, dim, err
}

// seedFiles is where the placeholder photos go: the reference folder on
// SQLite, the shared blobs table on PostgreSQL (as the server stores them).
func seedFiles(db *store.DB, refs string) *gallery.Files {
	files := &gallery.Files{Root: refs}
	if db.Dialect == store.Postgres {
		files.DB = db
	}
	return files
}

type synthRef struct {
	sha, photo, thumb string
	size              int
}

// writeSyntheticFiles writes n unique placeholder JPEGs as photo and
// thumbnail (temp file, fsync, rename: the app's own writer), in parallel.
func writeSyntheticFiles(files *gallery.Files, n int) ([]synthRef, error) {
	refs := make([]synthRef, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			data := placeholderJPEG()
			sum := sha256.Sum256(data)
			sha := hex.EncodeToString(sum[:])
			r := synthRef{sha: sha, photo: gallery.PhotoPath(sha, ".jpg"), thumb: gallery.ThumbPath(sha), size: len(data)}
			if err := files.Write(r.photo, data); err != nil {
				errs[i] = err
				return
			}
			if err := files.Write(r.thumb, data); err != nil {
				errs[i] = err
				return
			}
			refs[i] = r
		}(i)
	}
	wg.Wait()
	return refs, errors.Join(errs...)
}

// placeholderJPEG is a 16×16 image of random colours: unique bytes, valid
// JPEG, a few hundred bytes.
func placeholderJPEG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			v := rand.Uint32()
			img.Set(x, y, color.RGBA{uint8(v), uint8(v >> 8), uint8(v >> 16), 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	return buf.Bytes()
}

// insertSynthetic commits one batch of references (each its own subject)
// with their embeddings in one store transaction: a crash leaves whole
// batches (whose files the next start-up sweep removes if their rows are
// missing).
func insertSynthetic(ctx context.Context, db *store.DB, refs []synthRef, model string, dim int, withHOG bool) error {
	rows := make([]domain.NewReferenceWithEmbedding, len(refs))
	for i, r := range refs {
		var h []byte
		if withHOG {
			h = hog.Encode(randomUnit(hog.Len()))
		}
		rows[i] = domain.NewReferenceWithEmbedding{
			Reference: &domain.Reference{SHA256: r.sha, Label: "synthetic", OriginalName: fmt.Sprintf("synthetic-%s.jpg", r.sha[:12]),
				ContentType: "image/jpeg", SizeBytes: int64(r.size), Width: 16, Height: 16, StoredPath: r.photo, ThumbPath: r.thumb,
				CreatedBy: seedActor.Username},
			Embedding: &domain.NewEmbedding{ModelID: model, Vector: randomUnit(dim), FaceFound: true, HOG: h},
		}
	}
	return db.InsertReferences(ctx, rows, nil)
}

// randomUnit is a uniformly random direction: normal components, L2-normalised.
func randomUnit(d int) []float32 {
	v := make([]float32, d)
	var ss float64
	for i := range v {
		x := rand.NormFloat64()
		v[i] = float32(x)
		ss += x * x
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
	return v
}
