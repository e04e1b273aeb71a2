package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// openAt opens a database with only the migrations numbered below upTo
// applied, as an installation of an earlier release would have it.
func openAt(t *testing.T, path string, upTo int) *sql.DB {
	t.Helper()
	sqldb, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqldb.Close() })
	if _, err := sqldb.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrationFS, "migrations/*.sql")
	sort.Strings(names)
	for _, name := range names {
		v, _ := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if v >= upTo {
			continue
		}
		body, _ := migrationFS.ReadFile(name)
		if _, err := sqldb.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sqldb.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, v)
	}
	return sqldb
}

func TestSubjectsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old := openAt(t, path, 7)
	// An installation of the release before subjects: three photos, one
	// deleted after a search listed it; one embedding; one search.
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, label := range []string{"R-1", "", "R-3"} {
		mustExec(`INSERT INTO "references" (id, sha256, label, content_type, size_bytes, width, height, stored_path, thumb_path, created_by, created_at, updated_at)
			VALUES (?, ?, ?, 'image/jpeg', 1, 1, 1, 'p', 't', 'admin', 100, 100)`, i+1, "sha"+strconv.Itoa(i), label)
	}
	mustExec(`INSERT INTO embeddings (reference_id, model_id, dim, vector, face_found, created_at) VALUES (1, 'm', 2, x'0000803f00000000', 1, 1)`)
	mustExec(`INSERT INTO users (id, username, password_hash, role, created_at, password_changed_at) VALUES (1, 'bob', 'x', 'officer', 0, 0)`)
	mustExec(`INSERT INTO searches (id, user_id, username, sketch_sha256, sketch_path, model_id, k, duration_ms, created_at) VALUES (1, 1, 'bob', 's', 's.jpg', 'm', 3, 1, 1)`)
	for rank, ref := range []int{3, 1, 2} {
		mustExec(`INSERT INTO search_results (search_id, rank, reference_id, label, score, band) VALUES (1, ?, ?, ?, 0.5, '')`, rank+1, ref, "L"+strconv.Itoa(ref))
	}
	mustExec(`DELETE FROM "references" WHERE id = 2`)
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Run("OneSubjectPerReference", func(t *testing.T) {
		for id, label := range map[int64]string{1: "R-1", 3: "R-3"} {
			ref, err := db.ReferenceByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ref.SubjectID, id; got != want {
				t.Fatalf("reference %d: subject %d, want %d", id, got, want)
			}
			s, err := db.SubjectByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != label || s.Photos != 1 || s.MergedInto != 0 {
				t.Fatalf("subject %d = %+v, want name %q with one photo", id, s, label)
			}
		}
	})
	t.Run("IndexContentUnchanged", func(t *testing.T) {
		var ids []int64
		err := db.EachEmbedding(ctx, "m", 2, func(e *domain.StoredEmbedding) error {
			ids = append(ids, e.ReferenceID)
			if e.Vector[0] != 1 || e.Vector[1] != 0 {
				t.Fatalf("vector %v", e.Vector)
			}
			return nil
		})
		if err != nil || !reflect.DeepEqual(ids, []int64{1}) {
			t.Fatalf("embeddings %v %v", ids, err)
		}
	})
	t.Run("OldSearchStillReads", func(t *testing.T) {
		s, err := db.SearchByID(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if s.ClosedAt != 0 || len(s.Results) != 3 {
			t.Fatalf("search %+v", s)
		}
		want := []domain.SearchResult{
			{Rank: 1, ReferenceID: 3, Label: "L3", Score: 0.5, SubjectID: 3, SubjectName: "L3", ReferenceIDs: []int64{3}},
			{Rank: 2, ReferenceID: 1, Label: "L1", Score: 0.5, SubjectID: 1, SubjectName: "L1", ReferenceIDs: []int64{1}},
			{Rank: 3, ReferenceID: 2, Label: "L2", Score: 0.5, ReferenceIDs: []int64{2}}, // deleted before: no subject
		}
		if !reflect.DeepEqual(s.Results, want) {
			t.Fatalf("results\n%+v\nwant\n%+v", s.Results, want)
		}
	})
	t.Run("NewSubjectsDoNotReuseIDs", func(t *testing.T) {
		r := &domain.Reference{SHA256: "new", ContentType: "image/jpeg", StoredPath: "n", ThumbPath: "n", Label: "photo label", SubjectName: "R-9"}
		if err := db.InsertReference(ctx, r, nil, nil); err != nil {
			t.Fatal(err)
		}
		if r.SubjectID <= 3 {
			t.Fatalf("new subject id %d", r.SubjectID)
		}
		if s, _ := db.SubjectByID(ctx, r.SubjectID); s.Name != "R-9" {
			t.Fatalf("subject %+v", s)
		}
	})
}

func TestSubjectsMergeMove(t *testing.T) { forEachBackend(t, testSubjectsMergeMove) }

func testSubjectsMergeMove(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b, c := insertRef(t, db, "a"), insertRef(t, db, "b"), insertRef(t, db, "c")
	subj := func(ref int64) int64 {
		r, err := db.ReferenceByID(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return r.SubjectID
	}
	sa, sb, sc := subj(a), subj(b), subj(c)
	if sa == sb || sb == sc {
		t.Fatalf("subjects %d %d %d: each photo imported alone gets its own", sa, sb, sc)
	}
	t.Run("Move", func(t *testing.T) {
		entry := &Audited{Row: &domain.AuditRow{At: "t", Action: "reference_move", Outcome: "success"}, Seal: func(*domain.AuditRow) string { return "h" }}
		from, err := db.MoveReference(ctx, b, sa, entry)
		if err != nil || from != sb || entry.Row.ID == 0 || subj(b) != sa {
			t.Fatalf("move: from=%d err=%v audit row=%d now=%d", from, err, entry.Row.ID, subj(b))
		}
	})
	t.Run("Merge", func(t *testing.T) {
		moved, err := db.MergeSubjects(ctx, sa, sc, nil)
		if err != nil || !reflect.DeepEqual(moved, []int64{a, b}) {
			t.Fatalf("moved %v %v", moved, err)
		}
		if subj(a) != sc || subj(b) != sc {
			t.Fatal("photos did not follow the merge")
		}
		s, _ := db.SubjectByID(ctx, sa)
		if s.MergedInto != sc || s.Photos != 0 {
			t.Fatalf("merged subject %+v", s)
		}
		// sb was emptied by the move but is still live; merge it too and
		// check that chains point at the survivor.
		if _, err := db.MergeSubjects(ctx, sb, sa, nil); !errors.Is(err, domain.ErrSubjectMerged) {
			t.Fatalf("merge into a merged subject: %v", err)
		}
		if _, err := db.MoveReference(ctx, a, sa, nil); !errors.Is(err, domain.ErrSubjectMerged) {
			t.Fatalf("move to a merged subject: %v", err)
		}
		list, total, err := db.ListSubjects(ctx, "", 10, 0, 0)
		if err != nil || total != 2 || len(list) != 2 {
			t.Fatalf("list %d %v", total, err)
		}
		// Newest first, cursor pages, name filter, counts and first photos.
		if list[0].ID != sc || list[0].Photos != 3 || list[0].FirstPhoto != a || list[1].ID != sb || list[1].Photos != 0 || list[1].FirstPhoto != 0 {
			t.Fatalf("list %+v %+v", *list[0], *list[1])
		}
		page, total, err := db.ListSubjects(ctx, "", 10, 0, sc)
		if err != nil || total != 2 || len(page) != 1 || page[0].ID != sb {
			t.Fatalf("page below %d: %d %v", sc, total, err)
		}
		if err := db.UpdateSubject(ctx, sc, "Carla 100%", "", nil); err != nil {
			t.Fatal(err)
		}
		named, total, err := db.ListSubjects(ctx, "carla", 10, 0, 0)
		if err != nil || total != 1 || len(named) != 1 || named[0].ID != sc {
			t.Fatalf("named c: %d %v", total, err)
		}
		if none, total, err := db.ListSubjects(ctx, "0%%", 10, 0, 0); err != nil || total != 0 || len(none) != 0 {
			t.Fatalf("a %% in the filter is literal: %d %v", total, err)
		}
	})
	t.Run("EnsureSubjects", func(t *testing.T) {
		if _, err := db.ExecContext(ctx, `INSERT INTO "references" (sha256, label, content_type, size_bytes, width, height, stored_path, thumb_path, created_at, updated_at)
			VALUES ('raw', 'X', 'image/jpeg', 1, 1, 1, 'p', 't', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		n, err := db.EnsureSubjects(ctx)
		if err != nil || n != 1 {
			t.Fatalf("ensure: %d %v", n, err)
		}
		r, _ := db.ReferenceBySHA(ctx, "raw")
		if s, err := db.SubjectByID(ctx, r.SubjectID); err != nil || s.Name != "X" {
			t.Fatalf("subject %+v %v", s, err)
		}
	})
}

func TestReviews(t *testing.T) { forEachBackend(t, testReviews) }

func testReviews(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, username, password_hash, role, created_at, password_changed_at) VALUES (1, 'bob', 'x', 'officer', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	s := &domain.Search{UserID: 1, Username: "bob", SketchSHA256: "s", SketchPath: "s", ModelID: "m", K: 2,
		Results: []domain.SearchResult{{Rank: 1, ReferenceID: 5, SubjectID: 7, SubjectName: "P", ReferenceIDs: []int64{5, 6}}}}
	if err := db.InsertSearch(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := db.SearchByID(ctx, s.ID)
	if !reflect.DeepEqual(got.Results[0].ReferenceIDs, []int64{5, 6}) || got.Results[0].SubjectID != 7 {
		t.Fatalf("result %+v", got.Results[0])
	}
	prev, err := db.PutReview(ctx, &domain.Review{SearchID: s.ID, SubjectID: 7, Mark: domain.MarkPossible, Note: "same scar", ReviewedBy: "bob"}, nil)
	if err != nil || prev != nil {
		t.Fatalf("first mark: %v %v", prev, err)
	}
	prev, err = db.PutReview(ctx, &domain.Review{SearchID: s.ID, SubjectID: 7, Mark: domain.MarkReferred, ReviewedBy: "bob"}, nil)
	if err != nil || prev == nil || prev.Mark != domain.MarkPossible || prev.Note != "same scar" {
		t.Fatalf("change: %+v %v", prev, err)
	}
	if _, err := db.PutReview(ctx, &domain.Review{SearchID: 999, SubjectID: 7, Mark: domain.MarkReferred}, nil); !domain.IsNotFound(err) {
		t.Fatalf("no such search: %v", err)
	}
	counts, _ := db.ReviewCounts(ctx, []int64{s.ID})
	if counts[s.ID] != (domain.ReviewCount{Referred: 1}) {
		t.Fatalf("counts %+v", counts)
	}
	if list, n, _ := db.ListSearchesByReview(ctx, ReviewReferred, 10, 0); n != 1 || list[0].ID != s.ID {
		t.Fatalf("referred list %d", n)
	}
	if err := db.CloseSearch(ctx, s.ID, "bob", "no match", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.CloseSearch(ctx, s.ID, "bob", "again", nil); !errors.Is(err, domain.ErrSearchClosed) {
		t.Fatalf("close twice: %v", err)
	}
	if _, err := db.PutReview(ctx, &domain.Review{SearchID: s.ID, SubjectID: 7, Mark: domain.MarkExcluded, ReviewedBy: "bob"}, nil); !errors.Is(err, domain.ErrSearchClosed) {
		t.Fatalf("mark on a closed search: %v", err)
	}
	got, _ = db.SearchByID(ctx, s.ID)
	if got.ClosedAt == 0 || got.ClosedBy != "bob" || got.Conclusion != "no match" {
		t.Fatalf("closed search %+v", got)
	}
	if _, n, _ := db.ListSearchesByReview(ctx, ReviewOpen, 10, 0); n != 0 {
		t.Fatalf("open searches %d", n)
	}
	if err := db.ReopenSearch(ctx, s.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.ReopenSearch(ctx, s.ID, nil); !errors.Is(err, domain.ErrSearchOpen) {
		t.Fatalf("reopen an open search: %v", err)
	}
	if v, _ := db.ReviewsOf(ctx, s.ID); v[7].Mark != domain.MarkReferred {
		t.Fatalf("reviews %+v", v)
	}
	t.Run("PurgeTakesTheReviews", func(t *testing.T) {
		if _, err := db.PurgeSearches(ctx, time.Now().Add(time.Hour), false, nil); err != nil {
			t.Fatal(err)
		}
		var n int
		db.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_reviews`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d review rows outlived their purged search", n)
		}
	})
}

// TestMetadataMovesToSubjects: the witness metadata of each reference
// becomes its subject's at the upgrade, and photos of one person share it.
func TestMetadataMovesToSubjects(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old := openAt(t, path, 7)
	for i := 1; i <= 2; i++ {
		if _, err := old.Exec(`INSERT INTO "references" (id, sha256, label, content_type, size_bytes, width, height, stored_path, thumb_path, created_at, updated_at)
			VALUES (?, ?, 'x', 'image/jpeg', 1, 1, 1, 'p', 't', 0, 0)`, i, "s"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.Exec(`INSERT INTO reference_metadata (reference_id, sex, birth_year, tags, version, updated_at) VALUES (1, 'male', 1980, 'beard', 7, 0)`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := domain.Metadata{Sex: "male", BirthYear: 1980, Tags: []string{"beard"}}
	if m, _ := db.SubjectMetadata(ctx, 1); !reflect.DeepEqual(m, want) {
		t.Fatalf("subject 1 metadata %+v", m)
	}
	if v, _ := db.MetadataVersion(ctx); v != 7 {
		t.Fatalf("version %d, want 7 carried over", v)
	}
	// Photo 2 joins person 1: it has the person's metadata.
	if _, err := db.MoveReference(ctx, 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	if m, _ := db.MetadataByID(ctx, 2); !reflect.DeepEqual(m, want) {
		t.Fatalf("photo 2 after the move: %+v", m)
	}
}

func TestRenameSoleSubject(t *testing.T) { forEachBackend(t, testRenameSoleSubject) }

func testRenameSoleSubject(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	a, b, c := insertRef(t, db, "a"), insertRef(t, db, "b"), insertRef(t, db, "c")
	subj := func(ref int64) *domain.Subject {
		r, err := db.ReferenceByID(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		s, err := db.SubjectByID(ctx, r.SubjectID)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := db.MoveReference(ctx, c, subj(b).ID, nil); err != nil {
		t.Fatal(err)
	}
	rename := func(ref int64, was, name string) int64 {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		id, err := db.RenameSoleSubjectTx(ctx, tx, ref, was, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Every subject is named "" (the refs have no label).
	if id := rename(a, "other", "x"); id != 0 || subj(a).Name != "" {
		t.Fatalf("renamed %d though the name is not the old label", id)
	}
	if id := rename(b, "", "x"); id != 0 || subj(b).Name != "" {
		t.Fatalf("renamed %d though the subject has two photos", id)
	}
	if id := rename(a, "", "new"); id != subj(a).ID || subj(a).Name != "new" {
		t.Fatalf("sole photo: renamed %d, name %q", id, subj(a).Name)
	}
	if id := rename(999999, "", "x"); id != 0 {
		t.Fatalf("unknown reference renamed %d", id)
	}
}
