package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/index"
	"github.com/sketchmatch/sketchmatch/internal/pgtest"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// migrate copies a populated SQLite installation into PostgreSQL: the same
// rows, files, audit chain and search results; a second run verifies again.
func TestMigrate(t *testing.T) {
	url := pgtest.URL(t)
	dir := setup(t)
	ctx := context.Background()
	if code, _, errs := run(t, "a long enough passphrase\n", "user", "add", "--username", "alice", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	src, err := store.Open(ctx, filepath.Join(dir, "db", "sm.db"))
	if err != nil {
		t.Fatal(err)
	}
	files := &gallery.Files{Root: filepath.Join(dir, "refs")}
	al := &audit.Log{DB: src}
	const n, dim = 40, 8
	for i := range n {
		photo := []byte(fmt.Sprintf("photo %d", i))
		sum := sha256.Sum256(photo)
		sha := hex.EncodeToString(sum[:])
		ref := &domain.Reference{SHA256: sha, Label: fmt.Sprintf("ref %d", i), ContentType: "image/jpeg", SizeBytes: int64(len(photo)),
			Width: 10, Height: 10, StoredPath: gallery.PhotoPath(sha, ".jpg"), ThumbPath: gallery.ThumbPath(sha)}
		files.Write(ref.StoredPath, photo)
		files.Write(ref.ThumbPath, []byte("thumb "+sha))
		vec := make([]float32, dim)
		vec[i%dim], vec[(i*3+1)%dim] = 1, float32(i)/n
		err := src.InsertReference(ctx, ref, &domain.NewEmbedding{ModelID: "m", Vector: vec, FaceFound: true}, func(tx *store.Tx) error {
			return al.RecordTx(ctx, tx, audit.Entry{Username: "alice", Action: audit.ActionReferenceAdd, Target: fmt.Sprint("reference:", ref.ID), Outcome: audit.OutcomeSuccess})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	search := func(db *store.DB) []index.Hit {
		idx := index.New(dim)
		db.EachEmbedding(ctx, "m", dim, func(e *domain.StoredEmbedding) error {
			return idx.Add(e.ReferenceID, append([]float32(nil), e.Vector...))
		})
		q := make([]float32, dim)
		q[2], q[5] = 0.8, 0.6
		return idx.Search(q, 10)
	}
	// People and review (issue 16): photo 2 joins photo 1's person, and a
	// search of that person is reviewed and closed.
	r1, _ := src.ReferenceByID(ctx, 1)
	if _, err := src.MoveReference(ctx, 2, r1.SubjectID, nil); err != nil {
		t.Fatal(err)
	}
	sketch := []byte("a sketch")
	sksum := sha256.Sum256(sketch)
	sksha := hex.EncodeToString(sksum[:])
	files.Write(gallery.SketchPath(sksha, ".png"), sketch)
	sr := &domain.Search{UserID: 1, Username: "alice", SketchSHA256: sksha, SketchPath: gallery.SketchPath(sksha, ".png"), ModelID: "m", K: 1,
		Results: []domain.SearchResult{{Rank: 1, ReferenceID: 1, SubjectID: r1.SubjectID, SubjectName: r1.Label, ReferenceIDs: []int64{1, 2}}}}
	if err := src.InsertSearch(ctx, sr, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PutReview(ctx, &domain.Review{SearchID: sr.ID, SubjectID: r1.SubjectID, Mark: domain.MarkReferred, Note: "same scar", ReviewedBy: "alice"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := src.CloseSearch(ctx, sr.ID, "alice", "referred one", nil); err != nil {
		t.Fatal(err)
	}
	before := search(src)
	src.Close()

	code, out, errs := run(t, "", "migrate", "--to", url)
	if code != 0 || !strings.Contains(out, "verified: ") || !strings.Contains(out, "audit chain intact (41 rows") {
		t.Fatalf("migrate: %d\n%s\n%s", code, out, errs)
	}
	dst, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if after := search(dst); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("search results differ:\nbefore %v\nafter  %v", before, after)
	}
	t.Run("PeopleAndReview", func(t *testing.T) {
		photos, err := dst.ReferencesOfSubject(ctx, r1.SubjectID)
		if err != nil || len(photos) != 2 {
			t.Fatalf("person %d has %d photos in the copy (%v), want 2", r1.SubjectID, len(photos), err)
		}
		got, err := dst.SearchByID(ctx, sr.ID)
		if err != nil || got.ClosedAt == 0 || got.Conclusion != "referred one" || fmt.Sprint(got.Results[0].ReferenceIDs) != "[1 2]" {
			t.Fatalf("search in the copy: %+v %v", got, err)
		}
		rv, err := dst.ReviewsOf(ctx, sr.ID)
		if err != nil || rv[r1.SubjectID].Mark != domain.MarkReferred || rv[r1.SubjectID].Note != "same scar" {
			t.Fatalf("reviews in the copy: %+v %v", rv, err)
		}
	})
	t.Run("NewRowsAfterCopiedIDs", func(t *testing.T) {
		u := &domain.User{Username: "bob", PasswordHash: "!", Role: "officer"}
		if err := dst.CreateUser(ctx, u, nil); err != nil || u.ID != 2 {
			t.Fatalf("user id=%d err=%v, want 2", u.ID, err)
		}
		if err := (&audit.Log{DB: dst}).Record(ctx, audit.Entry{Action: audit.ActionLogin, Outcome: audit.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
		if v, err := (&audit.Log{DB: dst}).Verify(ctx); err != nil || !v.OK || v.Rows != 42 {
			t.Fatalf("verify=%+v err=%v", v, err)
		}
	})
	t.Run("BlobsServed", func(t *testing.T) {
		r, err := (&gallery.Files{DB: dst}).Open(gallery.PhotoPath(hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte("photo 7")); return s[:] }()), ".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	})
	t.Run("ErrNotEmpty", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.db")
		t.Setenv("DATABASE_PATH", other)
		if code, _, errs := run(t, "", "migrate", "--to", url); code != 1 || !strings.Contains(errs, "not empty") {
			t.Fatalf("migrate into a used database: %d %s", code, errs)
		}
	})
	t.Run("ErrMissingFile", func(t *testing.T) {
		url := pgtest.URL(t)
		os.Remove(filepath.Join(dir, "refs", gallery.ThumbPath(func() string { s := sha256.Sum256([]byte("photo 3")); return hex.EncodeToString(s[:]) }())))
		if code, _, errs := run(t, "", "migrate", "--to", url); code != 1 || !strings.Contains(errs, "does not verify") {
			t.Fatalf("missing file not reported: %d %s", code, errs)
		}
	})
}
