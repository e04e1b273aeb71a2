package store

import (
	"context"
	"errors"
	"image"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// The gallery's aggregates (references, embeddings, fused vectors,
// calibrations, searches and their purge, tokens) on every backend: the
// queries the other tests do not reach, and the error values.
func TestGalleryAggregates(t *testing.T) { forEachBackend(t, testGalleryAggregates) }

func testGalleryAggregates(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	db.Now = func() time.Time { return now }
	bob := authTestUser(t, db, "bob", "officer")
	var audited int
	hook := func(tx *Tx) error {
		audited++
		return AppendAuditTx(ctx, tx, &domain.AuditRow{At: "t", Action: "x", Outcome: "success"}, func(*domain.AuditRow) string { return "h" })
	}
	entry := func() *Audited {
		audited++
		return &Audited{Row: &domain.AuditRow{At: "t", Action: "x", Outcome: "success"}, Seal: func(*domain.AuditRow) string { return "h" }}
	}

	refs := make([]*domain.Reference, 3)
	for i := range refs {
		refs[i] = &domain.Reference{SHA256: string(rune('a'+i)) + "sha", Label: []string{"Alpha", "beta", "Gamma"}[i], ContentType: "image/jpeg", SizeBytes: 10, Width: 4, Height: 4, StoredPath: "p" + string(rune('a'+i)), ThumbPath: "t" + string(rune('a'+i))}
		emb := &domain.NewEmbedding{ModelID: "m", Vector: []float32{1, 0, float32(i)}, FaceFound: i != 2, HOG: []byte{1, 2}, HOGWide: []byte{3}, Face: &domain.FaceRecord{Found: i != 2, Faces: 1, Box: image.Rect(0, 0, 2, 2)}}
		if err := db.InsertReference(ctx, refs[i], emb, hook); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("ErrConflict", func(t *testing.T) {
		err := db.InsertReference(ctx, &domain.Reference{SHA256: "asha", ContentType: "x", StoredPath: "p", ThumbPath: "t"}, nil, nil)
		if !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("err=%v, want ErrConflict", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := db.ReferenceByID(ctx, 999); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("err=%v, want ErrNotFound", err)
		}
		if err := db.DeleteReference(ctx, 999, nil); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("err=%v, want ErrNotFound", err)
		}
	})
	t.Run("ListAndCount", func(t *testing.T) {
		list, total, err := db.ListReferences(ctx, "m", "aL", 10, 0) // case-insensitive: Alpha
		if err != nil || total != 1 || len(list) != 1 || !list[0].HasEmbedding {
			t.Fatalf("list=%v total=%d err=%v", list, total, err)
		}
		n, e, err := db.CountReferences(ctx, "m")
		if err != nil || n != 3 || e != 3 {
			t.Fatalf("count=%d,%d err=%v", n, e, err)
		}
		fc, err := db.CountFaces(ctx, "m")
		if err != nil || fc.Searchable != 2 || fc.NoFace != 1 {
			t.Fatalf("faces=%+v err=%v", fc, err)
		}
		ids, err := db.SearchableIDs(ctx, "m")
		if err != nil || len(ids) != 2 {
			t.Fatalf("searchable=%v err=%v", ids, err)
		}
		var seen int
		if err := db.EachEmbedding(ctx, "m", 3, func(e *domain.StoredEmbedding) error { seen++; return nil }); err != nil || seen != 2 {
			t.Fatalf("each=%d err=%v", seen, err)
		}
		byID, err := db.ReferencesByIDs(ctx, []int64{refs[0].ID, refs[2].ID})
		if err != nil || len(byID) != 2 {
			t.Fatalf("byIDs=%v err=%v", byID, err)
		}
	})
	t.Run("FusedVectors", func(t *testing.T) {
		c := &domain.Calibration{ModelID: "m", NPairs: 2, PhotoMean: []float32{1}, SketchMean: []float32{2}, Fusion: []byte{9}}
		if err := db.InsertCalibration(ctx, c, entry()); err != nil {
			t.Fatal(err)
		}
		got, err := db.LatestCalibration(ctx, "m")
		if err != nil || got.ID != c.ID || got.Fusion[0] != 9 {
			t.Fatalf("calibration=%+v err=%v", got, err)
		}
		if err := db.PutFusedVectors(ctx, c.ID, []domain.FusedVector{{ReferenceID: refs[0].ID, Vector: []float32{0.5}}, {ReferenceID: 999, Vector: []float32{1}}}); err != nil {
			t.Fatal(err)
		}
		if err := db.PutFusedVectors(ctx, c.ID, []domain.FusedVector{{ReferenceID: refs[0].ID, Vector: []float32{0.25}}}); err != nil {
			t.Fatal(err)
		}
		var fused int
		err = db.EachFusionInput(ctx, "m", 3, c.ID, func(in *domain.FusionInput) error {
			if in.Fused != nil {
				fused++
				if v := DecodeVector(in.Fused); v[0] != 0.25 {
					t.Errorf("fused=%v", v)
				}
			}
			return nil
		})
		if err != nil || fused != 1 {
			t.Fatalf("fused=%d err=%v", fused, err)
		}
	})
	t.Run("SearchesAndPurge", func(t *testing.T) {
		s := &domain.Search{UserID: bob.ID, Username: "bob", SketchSHA256: "s", SketchPath: "sk", ModelID: "m", K: 2, FaceFound: true,
			Results: []domain.SearchResult{{Rank: 1, ReferenceID: refs[0].ID, Label: "Alpha", Score: 0.9, Band: "strong"}, {Rank: 2, ReferenceID: refs[1].ID, Label: "beta", Score: 0.5}}}
		if err := db.InsertSearch(ctx, s, hook); err != nil {
			t.Fatal(err)
		}
		got, err := db.SearchByID(ctx, s.ID)
		if err != nil || len(got.Results) != 2 || !got.FaceFound || got.Results[0].Score != 0.9 {
			t.Fatalf("search=%+v err=%v", got, err)
		}
		if err := db.SetSearchHold(ctx, s.ID, true, entry()); err != nil {
			t.Fatal(err)
		}
		if held, err := db.SearchHeld(ctx, s.ID); err != nil || !held {
			t.Fatalf("held=%v err=%v", held, err)
		}
		c, err := db.PurgeSearches(ctx, now.Add(time.Hour), false, nil)
		if err != nil || c.Searches != 0 || c.Held != 1 {
			t.Fatalf("purge=%+v err=%v", c, err)
		}
		db.SetSearchHold(ctx, s.ID, false, nil)
		c, err = db.PurgeSearches(ctx, now.Add(time.Hour), false, nil)
		if err != nil || c.Searches != 1 || c.Results != 2 || len(c.Sketches) != 1 {
			t.Fatalf("purge=%+v err=%v", c, err)
		}
	})
	t.Run("Tokens", func(t *testing.T) {
		tok := &domain.Token{Name: "Bot", Scopes: []string{"search"}, CreatedBy: "alice", CreatedAt: now.Unix()}
		if err := db.CreateToken(ctx, tok, "hash", &domain.User{Username: "token:bot", PasswordHash: "!", Role: "officer"}, entry()); err != nil {
			t.Fatal(err)
		}
		if got, err := db.TokenByName(ctx, "bot"); err != nil || got.ID != tok.ID {
			t.Fatalf("token=%+v err=%v", got, err)
		}
		if err := db.RevokeToken(ctx, "BOT", now.Unix(), entry()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("DeleteAndAuditChain", func(t *testing.T) {
		if err := db.DeleteReference(ctx, refs[1].ID, entry()); err != nil {
			t.Fatal(err)
		}
		var rows []domain.AuditRow
		db.EachAudit(ctx, func(r *domain.AuditRow) error { rows = append(rows, *r); return nil })
		if len(rows) != audited {
			t.Fatalf("audit rows=%d, want %d", len(rows), audited)
		}
		for i := 1; i < len(rows); i++ {
			if rows[i].ID <= rows[i-1].ID {
				t.Fatalf("ids not increasing: %d after %d", rows[i].ID, rows[i-1].ID)
			}
		}
		if list, total, err := db.ListAuditFiltered(ctx, domain.AuditFilter{Username: ""}, 2, 0); err != nil || total != audited || len(list) != 2 {
			t.Fatalf("list=%d total=%d err=%v", len(list), total, err)
		}
	})
}
