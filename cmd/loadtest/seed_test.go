package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/pgtest"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The seeding goes through the store on both backends: every synthetic
// reference gets a subject, an embedding of the gallery's model and its
// photo and thumbnail where the server reads them (folder or blobs table).
func TestSeedBothBackends(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			dsn := filepath.Join(dir, "sketchmatch.db")
			if backend == "postgres" {
				dsn = pgtest.URL(t)
			}
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			o := options{db: dsn, refs: filepath.Join(dir, "refs"), seedGallery: 7, seedHOG: true,
				seedUsers: 2, userPrefix: "seedt", password: "seed-test-Passphrase-2026"}
			var out bytes.Buffer
			if err := seedGallery(ctx, o, &out); err == nil || !strings.Contains(err.Error(), "import real photos first") {
				t.Fatalf("seeding an empty gallery: %v", err)
			}
			// One "real" reference of the model to seed for.
			vec := make([]float32, 8)
			vec[0] = 1
			if err := db.InsertReferences(ctx, []domain.NewReferenceWithEmbedding{{
				Reference: &domain.Reference{SHA256: strings.Repeat("ab", 32), Label: "real", ContentType: "image/jpeg", SizeBytes: 1, Width: 1, Height: 1,
					StoredPath: "ab/x.jpg", ThumbPath: "thumbs/ab/x.jpg", CreatedBy: "t"},
				Embedding: &domain.NewEmbedding{ModelID: "test-model", Vector: vec, FaceFound: true}}}, nil); err != nil {
				t.Fatal(err)
			}
			if err := seedGallery(ctx, o, &out); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			total, embedded, err := db.CountReferences(ctx, "test-model")
			if err != nil || total != 7 || embedded != 7 {
				t.Fatalf("after seeding: %d references, %d embedded, %v; want 7, 7\n%s", total, embedded, err, out.String())
			}
			files := seedFiles(db, o.refs)
			refs, _, err := db.ListReferences(ctx, "test-model", "synthetic", 100, 0)
			if err != nil || len(refs) != 6 {
				t.Fatalf("synthetic references: %d, %v", len(refs), err)
			}
			subjects := map[int64]bool{}
			for _, r := range refs {
				if r.SubjectID == 0 || subjects[r.SubjectID] {
					t.Fatalf("reference %d has subject %d (want one of its own)", r.ID, r.SubjectID)
				}
				subjects[r.SubjectID] = true
				if !files.Exists(r.StoredPath) || !files.Exists(r.ThumbPath) {
					t.Fatalf("reference %d: photo or thumbnail missing from the %s store", r.ID, backend)
				}
			}
			if backend == "postgres" {
				if _, err := os.Stat(o.refs); !os.IsNotExist(err) {
					t.Fatalf("seeding PostgreSQL wrote to the folder: %v", err)
				}
			}
			// Idempotent: a second run adds nothing.
			out.Reset()
			if err := seedGallery(ctx, o, &out); err != nil || !strings.Contains(out.String(), "nothing to add") {
				t.Fatalf("second run: %v %s", err, out.String())
			}
			out.Reset()
			if err := seedUsers(ctx, o, &out); err != nil || !strings.Contains(out.String(), "2 officer accounts created") {
				t.Fatalf("seed-users: %v %s", err, out.String())
			}
		})
	}
}
