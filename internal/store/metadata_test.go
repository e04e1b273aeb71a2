package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

func insertRef(t *testing.T, db *DB, sha string) int64 {
	t.Helper()
	r := &domain.Reference{SHA256: sha, ContentType: "image/jpeg", StoredPath: sha + ".jpg", ThumbPath: sha + ".thumb.jpg"}
	if err := db.InsertReference(context.Background(), r, nil, nil); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func putMeta(t *testing.T, db *DB, id int64, m domain.Metadata) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := db.PutMetadataTx(ctx, tx, id, m); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestMetadata(t *testing.T) { forEachBackend(t, testMetadata) }

func testMetadata(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b := insertRef(t, db, "aa"), insertRef(t, db, "bb")
	if v, _ := db.MetadataVersion(ctx); v != 0 {
		t.Fatalf("version of an empty table=%d", v)
	}
	if m, err := db.MetadataByID(ctx, a); err != nil || !m.IsZero() {
		t.Fatalf("no row: %+v %v", m, err)
	}
	want := domain.Metadata{Sex: "female", BirthYear: 1984, Tags: []string{"beard", "scar left cheek"}}
	putMeta(t, db, a, want)
	v1, _ := db.MetadataVersion(ctx)
	putMeta(t, db, b, domain.Metadata{Sex: "male"})
	putMeta(t, db, b, domain.Metadata{})
	v2, _ := db.MetadataVersion(ctx)
	if v1 == 0 || v2 <= v1 {
		t.Fatalf("versions %d then %d: must grow with every write", v1, v2)
	}
	if got, _ := db.MetadataByID(ctx, a); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
	if got, _ := db.MetadataByID(ctx, b); !got.IsZero() || got.Sex != "unknown" {
		t.Fatalf("cleared metadata read back as %+v", got)
	}
	all := map[int64]domain.Metadata{}
	v, err := db.EachMetadata(ctx, func(id int64, m domain.Metadata) error { all[id] = m; return nil })
	if err != nil || v != v2 || len(all) != 2 {
		t.Fatalf("EachMetadata: version %d (want %d), %d rows, %v", v, v2, len(all), err)
	}
	byIDs, _ := db.MetadataByIDs(ctx, []int64{a, b, 999})
	if len(byIDs) != 2 || !reflect.DeepEqual(byIDs[a], want) {
		t.Fatalf("MetadataByIDs: %+v", byIDs)
	}
	t.Run("ErrBadSexRefusedBySchema", func(t *testing.T) {
		tx, _ := db.BeginTx(ctx, nil)
		defer tx.Rollback()
		if err := db.PutMetadataTx(ctx, tx, a, domain.Metadata{Sex: "other"}); err == nil {
			t.Fatal("sex 'other' stored")
		}
	})
	t.Run("DeleteLeavesThePerson", func(t *testing.T) {
		// Metadata is the person's: deleting one photo leaves it with
		// the subject (issue 16).
		ref, _ := db.ReferenceByID(ctx, a)
		if err := db.DeleteReference(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		if m, _ := db.MetadataByID(ctx, a); !m.IsZero() {
			t.Fatalf("a deleted reference still has metadata %+v", m)
		}
		if m, _ := db.SubjectMetadata(ctx, ref.SubjectID); !reflect.DeepEqual(m, want) {
			t.Fatalf("the person's metadata %+v, want %+v", m, want)
		}
	})
}

func TestSearchFilterRow(t *testing.T) { forEachBackend(t, testSearchFilterRow) }

func testSearchFilterRow(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	if _, err := db.ExecContext(ctx, `INSERT INTO users (username, password_hash, role, created_at, password_changed_at) VALUES ('bob', 'x', 'officer', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	s := &domain.Search{UserID: 1, Username: "bob", SketchSHA256: "s", SketchPath: "s.jpg", ModelID: "m", K: 5}
	f := domain.SearchFilter{Spec: `{"sex":"female"}`, Description: "sex female", Kept: 3, Total: 10}
	err := db.InsertSearch(ctx, s, func(tx *Tx) error { return db.PutSearchFilterTx(ctx, tx, s.ID, f) })
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.SearchFilters(ctx, []int64{s.ID, 42})
	if err != nil || len(got) != 1 || got[s.ID] != f {
		t.Fatalf("SearchFilters: %+v %v", got, err)
	}
}

// A migration numbered below the newest applied one (numbers are reserved
// per change and merged in any order) is still applied.
func TestMigrateAppliesGaps(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gap.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Pretend 0003 never ran but a later one did.
	for _, q := range []string{`DROP TABLE search_filters`, `DROP TABLE reference_metadata`,
		`DELETE FROM schema_migrations WHERE version = 3`, `INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.MetadataVersion(ctx); err != nil {
		t.Fatalf("0003 not applied after a later migration: %v", err)
	}
}
