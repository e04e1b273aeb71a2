package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

func TestInsertReferences(t *testing.T) { forEachBackend(t, testInsertReferences) }

func bulkRow(i int, withEmb bool) domain.NewReferenceWithEmbedding {
	sha := fmt.Sprintf("%064x", i+1)
	r := &domain.Reference{SHA256: sha, Label: fmt.Sprintf("bulk-%d", i), ContentType: "image/jpeg", SizeBytes: 10, Width: 16, Height: 16,
		StoredPath: sha[:2] + "/" + sha + ".jpg", ThumbPath: "thumbs/" + sha[:2] + "/" + sha + ".jpg", CreatedBy: "seed"}
	n := domain.NewReferenceWithEmbedding{Reference: r}
	if withEmb {
		n.Embedding = &domain.NewEmbedding{ModelID: "m1", Vector: []float32{float32(i), 1, 0, 0}, FaceFound: true, HOG: []byte{1, 2}}
	}
	return n
}

func testInsertReferences(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)

	if _, _, err := db.DominantModel(ctx, ""); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("DominantModel on an empty gallery: %v, want ErrNotFound", err)
	}

	// A batch whose hook fails writes nothing.
	boom := errors.New("boom")
	if err := db.InsertReferences(ctx, []domain.NewReferenceWithEmbedding{bulkRow(0, true)}, func(*Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("hook error: %v", err)
	}
	if total, _, _ := db.CountReferences(ctx, "m1"); total != 0 {
		t.Fatalf("a failed batch left %d references", total)
	}

	rows := []domain.NewReferenceWithEmbedding{bulkRow(0, true), bulkRow(1, true), bulkRow(2, false)}
	hooked := false
	if err := db.InsertReferences(ctx, rows, func(tx *Tx) error {
		hooked = true
		for _, n := range rows {
			if n.Reference.ID == 0 || n.Reference.SubjectID == 0 {
				return fmt.Errorf("ids not set before the hook: %+v", n.Reference)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !hooked {
		t.Fatal("hook did not run")
	}
	subjects := map[int64]bool{}
	for i, n := range rows {
		got, err := db.ReferenceByID(ctx, n.Reference.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SHA256 != n.Reference.SHA256 || got.SubjectID != n.Reference.SubjectID || got.CreatedAt == 0 {
			t.Fatalf("row %d: stored %+v, inserted %+v", i, got, n.Reference)
		}
		s, err := db.SubjectByID(ctx, got.SubjectID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != n.Reference.Label {
			t.Errorf("row %d: subject named %q, want the label %q", i, s.Name, n.Reference.Label)
		}
		subjects[got.SubjectID] = true
	}
	if len(subjects) != len(rows) {
		t.Fatalf("%d subjects for %d references, want one each", len(subjects), len(rows))
	}
	total, embedded, err := db.CountReferences(ctx, "m1")
	if err != nil || total != 3 || embedded != 2 {
		t.Fatalf("CountReferences = %d, %d, %v; want 3, 2", total, embedded, err)
	}
	var vecs []float32
	if err := db.EachEmbedding(ctx, "m1", 4, func(e *domain.StoredEmbedding) error {
		vecs = append(vecs, e.Vector[0])
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 2 || vecs[0] != 0 || vecs[1] != 1 {
		t.Fatalf("vectors read back: %v", vecs)
	}
	if m, dim, err := db.DominantModel(ctx, ""); err != nil || m != "m1" || dim != 4 {
		t.Fatalf("DominantModel = %q, %d, %v", m, dim, err)
	}
	if _, _, err := db.DominantModel(ctx, "other"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("DominantModel(other): %v, want ErrNotFound", err)
	}

	// A photo joining an existing subject; a duplicate SHA-256 refuses the
	// whole batch.
	join := bulkRow(3, true)
	join.Reference.SubjectID = rows[0].Reference.SubjectID
	if err := db.InsertReferences(ctx, []domain.NewReferenceWithEmbedding{join, bulkRow(1, true)}, nil); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate sha: %v, want ErrConflict", err)
	}
	if total, _, _ := db.CountReferences(ctx, "m1"); total != 3 {
		t.Fatalf("a refused batch left rows: %d references", total)
	}
	if err := db.InsertReferences(ctx, []domain.NewReferenceWithEmbedding{join}, nil); err != nil {
		t.Fatal(err)
	}
	if refs, err := db.ReferencesOfSubject(ctx, rows[0].Reference.SubjectID); err != nil || len(refs) != 2 {
		t.Fatalf("subject's photos: %d, %v; want 2", len(refs), err)
	}
	missing := bulkRow(4, false)
	missing.Reference.SubjectID = 999999
	if err := db.InsertReferences(ctx, []domain.NewReferenceWithEmbedding{missing}, nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown subject: %v, want ErrNotFound", err)
	}
}
