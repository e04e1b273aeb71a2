package retention

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/store"
	"github.com/sketchmatch/sketchmatch/internal/store/storetest"
)

type fixture struct {
	db    *store.DB
	files *gallery.Files
	al    *audit.Log
	now   time.Time
	user  int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := storetest.MustOpenDB(t)
	f := &fixture{db: db, files: &gallery.Files{Root: filepath.Join(t.TempDir(), "refs")}, al: &audit.Log{DB: db},
		now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	u := &domain.User{Username: "bob", PasswordHash: "!", Role: "officer"}
	if err := db.CreateUser(context.Background(), u, nil); err != nil {
		t.Fatal(err)
	}
	f.user = u.ID
	return f
}

// search records a search made `age` ago with sketch file name sketch.
func (f *fixture) search(t *testing.T, age time.Duration, sketch string) int64 {
	t.Helper()
	path := gallery.SketchPath(strings.Repeat(sketch, 64)[:64], ".jpg")
	if err := f.files.Write(path, []byte("sketch "+sketch)); err != nil {
		t.Fatal(err)
	}
	at := f.now.Add(-age)
	f.db.Now = func() time.Time { return at }
	s := &domain.Search{UserID: f.user, Username: "bob", CaseNumber: "C-" + sketch, SketchSHA256: strings.Repeat(sketch, 64)[:64],
		SketchPath: path, ModelID: "m", K: 2, Results: []domain.SearchResult{{Rank: 1, ReferenceID: 1, Score: .5}, {Rank: 2, ReferenceID: 2, Score: .4}}}
	err := f.db.InsertSearch(context.Background(), s, func(tx *store.Tx) error {
		return f.al.RecordTx(context.Background(), tx, audit.Entry{Username: "bob", Action: audit.ActionSearch, Target: s.CaseNumber, Outcome: audit.OutcomeSuccess})
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// Data retention (issue 12): old searches' rows, results and sketches go;
// held, recent and shared-sketch data stay; audit rows stay and verify; the
// purge itself is audited with its counts; a dry run changes nothing.
func TestPurge(t *testing.T) {
	ctx := context.Background()
	day := 24 * time.Hour
	for _, tc := range []struct {
		name                   string
		dry                    bool
		wantLeft               []string // case numbers left, oldest first
		wantSearches, wantHeld int64
		wantFilesGone          []string
	}{
		{"Purge", false, []string{"C-b", "C-c", "C-d"}, 1, 1, []string{"a"}},
		{"DryRun", true, []string{"C-a", "C-b", "C-d", "C-c", "C-d"}, 1, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.search(t, 500*day, "a")         // old: purged with its sketch
			held := f.search(t, 500*day, "b") // old but on legal hold
			f.search(t, 500*day, "d")         // old, but its sketch is also used by a recent search
			f.search(t, 10*day, "c")          // recent
			f.search(t, 10*day, "d")
			if err := f.db.SetSearchHold(ctx, held, true, nil); err != nil {
				t.Fatal(err)
			}
			// The old d search is purged too (its file stays): count it.
			wantSearches := tc.wantSearches + 1
			auditBefore, _, _ := f.al.List(ctx, 1000, 0)

			res, err := Purge(ctx, f.db, f.files, f.al, slog.New(slog.DiscardHandler), "cli:ops", "local", f.now.Add(-400*day), tc.dry)
			if err != nil {
				t.Fatal(err)
			}
			if res.Searches != wantSearches || res.Held != tc.wantHeld || res.Results != 2*wantSearches || res.SketchFiles != 1 {
				t.Fatalf("result %+v, want %d searches, %d held, 1 sketch file", res, wantSearches, tc.wantHeld)
			}
			list, _, _ := f.db.ListSearches(ctx, 0, "", 100, 0)
			var left []string
			for i := len(list) - 1; i >= 0; i-- {
				left = append(left, list[i].CaseNumber)
			}
			if strings.Join(left, ",") != strings.Join(tc.wantLeft, ",") {
				t.Fatalf("searches left %v, want %v", left, tc.wantLeft)
			}
			for _, s := range []string{"a", "b", "c", "d"} {
				path := gallery.SketchPath(strings.Repeat(s, 64), ".jpg")
				gone := !f.files.Exists(path)
				want := false
				for _, g := range tc.wantFilesGone {
					want = want || g == s
				}
				if gone != want {
					t.Errorf("sketch %s gone=%v, want %v", s, gone, want)
				}
			}
			var orphans int
			f.db.QueryRow(`SELECT COUNT(*) FROM search_results WHERE search_id NOT IN (SELECT id FROM searches)`).Scan(&orphans)
			if orphans != 0 {
				t.Fatalf("%d results of purged searches left", orphans)
			}
			auditAfter, _, _ := f.al.List(ctx, 1000, 0)
			wantRows := len(auditBefore)
			if !tc.dry {
				wantRows++
				if r := auditAfter[0]; r.Action != audit.ActionPurge || r.Username != "cli:ops" || !strings.Contains(r.Details, "searches=2 results=4 sketch_files=1 held_kept=1") {
					t.Fatalf("purge audit row %+v", r)
				}
			}
			if len(auditAfter) != wantRows {
				t.Fatalf("%d audit rows, want %d (search rows are kept)", len(auditAfter), wantRows)
			}
			if v, err := f.al.Verify(ctx); err != nil || !v.OK {
				t.Fatalf("audit chain after the purge: %+v %v", v, err)
			}
		})
	}
}

func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"400d", 400 * 24 * time.Hour, true},
		{"720h", 720 * time.Hour, true},
		{"0d", 0, false},
		{"-5d", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAge(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("ParseAge(%q)=%v,%v", tc.in, got, err)
			}
		})
	}
}
