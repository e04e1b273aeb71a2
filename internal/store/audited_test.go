package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// auditedFixture is what every case of TestAudited starts from: an officer
// (bob) with a session, a disabled and locked officer (dave), two photos
// each with their own subject, an open and a closed search, and a live
// token.
type auditedFixture struct {
	bob, dave     *domain.User
	ref, ref2     int64 // photos of subject and subject2
	subj, subj2   int64
	open, closed  *domain.Search
	tokenName     string
	sessionsOfBob int
}

func newAuditedFixture(t *testing.T, db *DB) *auditedFixture {
	t.Helper()
	ctx := context.Background()
	f := &auditedFixture{tokenName: "bot", sessionsOfBob: 1}
	authTestUser(t, db, "alice", "admin")
	f.bob = authTestUser(t, db, "bob", "officer")
	now := db.Now()
	f.dave = &domain.User{Username: "dave", PasswordHash: "!", Role: "officer", Disabled: true}
	if err := db.CreateUser(ctx, f.dave, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE users SET failed_logins = 5, locked_until = ? WHERE id = ?`, now.Add(time.Hour).Unix(), f.dave.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertSession(ctx, &domain.Session{TokenHash: "bobs-session", UserID: f.bob.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.ref, f.ref2 = insertRef(t, db, "a"), insertRef(t, db, "b")
	for _, p := range []struct {
		ref  int64
		subj *int64
	}{{f.ref, &f.subj}, {f.ref2, &f.subj2}} {
		r, err := db.ReferenceByID(ctx, p.ref)
		if err != nil {
			t.Fatal(err)
		}
		*p.subj = r.SubjectID
	}
	f.open = &domain.Search{UserID: f.bob.ID, Username: "bob", SketchSHA256: "s1", SketchPath: "s1.png", ModelID: "m", K: 1,
		Results: []domain.SearchResult{{Rank: 1, ReferenceID: f.ref, SubjectID: f.subj, Label: "a", Score: 0.9}}}
	f.closed = &domain.Search{UserID: f.bob.ID, Username: "bob", SketchSHA256: "s2", SketchPath: "s2.png", ModelID: "m", K: 1}
	for _, s := range []*domain.Search{f.open, f.closed} {
		if err := db.InsertSearch(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CloseSearch(ctx, f.closed.ID, "bob", "done", nil); err != nil {
		t.Fatal(err)
	}
	tok := &domain.Token{Name: f.tokenName, Scopes: []string{"search"}, CreatedBy: "alice", CreatedAt: now.Unix()}
	if err := db.CreateToken(ctx, tok, "hash", &domain.User{Username: "token:" + f.tokenName, PasswordHash: "!", Role: "officer"}, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// failAuditAppends makes the database refuse audit rows whose action is
// "boom" (a trigger), so the append fails inside the change's transaction.
func failAuditAppends(t *testing.T, db *DB) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER audit_boom BEFORE INSERT ON audit_log WHEN NEW.action = 'boom'
		BEGIN SELECT RAISE(ABORT, 'boom'); END`}
	if db.Dialect == Postgres {
		stmts = []string{`CREATE FUNCTION audit_boom() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.action = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER audit_boom BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_boom()`}
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
}

func testSeal(r *domain.AuditRow) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(r.PrevHash+"|"+r.At+"|"+r.Action+"|"+r.Target+"|"+r.Details)))
}

func TestAudited(t *testing.T) { forEachBackend(t, testAudited) }

// Every store method that takes an *Audited commits the change and its
// audit row together: when the append fails the change is rolled back
// (and the error says it was the audit row); when the change fails no row
// is left; when both succeed the row is the one given, chained and sealed,
// with the fields the store fills in from the change.
func testAudited(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// change makes the change, with a as its audit row.
		change func(db *DB, f *auditedFixture, a *Audited) error
		// done reports whether the change is in the database.
		done func(db *DB, f *auditedFixture) bool
		// missing, when set, makes the change on something that does not
		// exist; it must fail with want and leave no row.
		missing func(db *DB, a *Audited) error
		want    error
		// filled, when set, checks the fields the store fills in.
		filled func(t *testing.T, db *DB, f *auditedFixture, r *domain.AuditRow)
	}{
		{name: "PutReview",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				_, err := db.PutReview(ctx, &domain.Review{SearchID: f.open.ID, SubjectID: f.subj, Mark: domain.MarkPossible, ReviewedBy: "bob"}, a)
				return err
			},
			done: func(db *DB, f *auditedFixture) bool {
				rv, err := db.ReviewsOf(ctx, f.open.ID)
				return err == nil && rv[f.subj].Mark == domain.MarkPossible
			},
			missing: func(db *DB, a *Audited) error {
				_, err := db.PutReview(ctx, &domain.Review{SearchID: 999, SubjectID: 1, Mark: domain.MarkPossible}, a)
				return err
			},
			want: domain.ErrNotFound},
		{name: "CloseSearch",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				return db.CloseSearch(ctx, f.open.ID, "bob", "no match", a)
			},
			done: func(db *DB, f *auditedFixture) bool {
				s, err := db.SearchByID(ctx, f.open.ID)
				return err == nil && s.ClosedAt != 0
			},
			missing: func(db *DB, a *Audited) error { return db.CloseSearch(ctx, 999, "bob", "x", a) },
			want:    domain.ErrNotFound},
		{name: "ReopenSearch",
			change: func(db *DB, f *auditedFixture, a *Audited) error { return db.ReopenSearch(ctx, f.closed.ID, a) },
			done: func(db *DB, f *auditedFixture) bool {
				s, err := db.SearchByID(ctx, f.closed.ID)
				return err == nil && s.ClosedAt == 0
			},
			missing: func(db *DB, a *Audited) error { return db.ReopenSearch(ctx, 999, a) },
			want:    domain.ErrNotFound},
		{name: "SetSearchHold",
			change: func(db *DB, f *auditedFixture, a *Audited) error { return db.SetSearchHold(ctx, f.open.ID, true, a) },
			done: func(db *DB, f *auditedFixture) bool {
				held, err := db.SearchHeld(ctx, f.open.ID)
				return err == nil && held
			},
			missing: func(db *DB, a *Audited) error { return db.SetSearchHold(ctx, 999, true, a) },
			want:    domain.ErrNotFound},
		{name: "SetFaceBox",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				return db.SetFaceBox(ctx, f.ref, image.Rect(1, 2, 30, 40), &domain.NewEmbedding{ModelID: "m", Vector: []float32{1}, FaceFound: true}, a)
			},
			done: func(db *DB, f *auditedFixture) bool {
				r, err := db.ReferenceByID(ctx, f.ref)
				return err == nil && r.ManualBox == image.Rect(1, 2, 30, 40)
			},
			missing: func(db *DB, a *Audited) error {
				return db.SetFaceBox(ctx, 999, image.Rect(1, 2, 30, 40), &domain.NewEmbedding{ModelID: "m", Vector: []float32{1}}, a)
			},
			want: domain.ErrNotFound},
		{name: "DeleteReference",
			change: func(db *DB, f *auditedFixture, a *Audited) error { return db.DeleteReference(ctx, f.ref2, a) },
			done: func(db *DB, f *auditedFixture) bool {
				_, err := db.ReferenceByID(ctx, f.ref2)
				return domain.IsNotFound(err)
			},
			missing: func(db *DB, a *Audited) error { return db.DeleteReference(ctx, 999, a) },
			want:    domain.ErrNotFound},
		{name: "UpdateSubject",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				return db.UpdateSubject(ctx, f.subj, "R-0001", "", a)
			},
			done: func(db *DB, f *auditedFixture) bool {
				s, err := db.SubjectByID(ctx, f.subj)
				return err == nil && s.Name == "R-0001"
			},
			missing: func(db *DB, a *Audited) error { return db.UpdateSubject(ctx, 999, "x", "", a) },
			want:    domain.ErrNotFound},
		{name: "MoveReference",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				_, err := db.MoveReference(ctx, f.ref2, f.subj, a)
				return err
			},
			done: func(db *DB, f *auditedFixture) bool {
				r, err := db.ReferenceByID(ctx, f.ref2)
				return err == nil && r.SubjectID == f.subj
			},
			missing: func(db *DB, a *Audited) error {
				_, err := db.MoveReference(ctx, 999, 1, a)
				return err
			},
			want: domain.ErrNotFound},
		{name: "MergeSubjects",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				_, err := db.MergeSubjects(ctx, f.subj2, f.subj, a)
				return err
			},
			done: func(db *DB, f *auditedFixture) bool {
				s, err := db.SubjectByID(ctx, f.subj2)
				return err == nil && s.MergedInto == f.subj
			},
			missing: func(db *DB, a *Audited) error {
				_, err := db.MergeSubjects(ctx, 998, 999, a)
				return err
			},
			want: domain.ErrNotFound},
		{name: "UpdateSubjectMetadata",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				return db.UpdateSubjectMetadata(ctx, f.subj, domain.Metadata{Sex: "female", BirthYear: 1980}, a)
			},
			done: func(db *DB, f *auditedFixture) bool {
				m, err := db.SubjectMetadata(ctx, f.subj)
				return err == nil && m.Sex == "female" && m.BirthYear == 1980
			},
			missing: func(db *DB, a *Audited) error {
				return db.UpdateSubjectMetadata(ctx, 999, domain.Metadata{Sex: "male"}, a)
			},
			want: domain.ErrNotFound},
		{name: "CreateUser",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				return db.CreateUser(ctx, &domain.User{Username: "carol", PasswordHash: "!", Role: "officer"}, a)
			},
			done: func(db *DB, f *auditedFixture) bool {
				_, err := db.UserByUsername(ctx, "carol")
				return err == nil
			},
			missing: func(db *DB, a *Audited) error { // taken, rather
				return db.CreateUser(ctx, &domain.User{Username: "BOB", PasswordHash: "!", Role: "officer"}, a)
			},
			want: domain.ErrConflict},
		{name: "ChangeUserPassword",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				n, err := db.ChangeUserPassword(ctx, f.bob.ID, "new-hash", db.Now(), a)
				if err == nil && n != int64(f.sessionsOfBob) {
					t.Errorf("%d sessions ended, want %d", n, f.sessionsOfBob)
				}
				return err
			},
			done: func(db *DB, f *auditedFixture) bool {
				u, err := db.UserByID(ctx, f.bob.ID)
				return err == nil && u.PasswordHash == "new-hash"
			},
			missing: func(db *DB, a *Audited) error {
				_, err := db.ChangeUserPassword(ctx, 999, "x", time.Now(), a)
				return err
			},
			want: domain.ErrNotFound,
			filled: func(t *testing.T, db *DB, f *auditedFixture, r *domain.AuditRow) {
				if want := fmt.Sprintf("sessions ended: %d", f.sessionsOfBob); r.Details != want || r.Target != "x" {
					t.Fatalf("audit row %+v, want details %q", r, want)
				}
			}},
		{name: "DisableUser",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				ok, err := db.DisableUser(ctx, f.bob.ID, a)
				if err == nil && !ok {
					t.Error("bob was taken for the last admin")
				}
				return err
			},
			done: func(db *DB, f *auditedFixture) bool {
				u, err := db.UserByID(ctx, f.bob.ID)
				return err == nil && u.Disabled
			},
			missing: func(db *DB, a *Audited) error {
				_, err := db.DisableUser(ctx, 999, a)
				return err
			},
			want: domain.ErrNotFound,
			filled: func(t *testing.T, db *DB, f *auditedFixture, r *domain.AuditRow) {
				if want := fmt.Sprintf("sessions ended: %d", f.sessionsOfBob); r.Details != want || r.Target != "x" {
					t.Fatalf("audit row %+v, want details %q", r, want)
				}
			}},
		{name: "EnableUser",
			change: func(db *DB, f *auditedFixture, a *Audited) error { return db.EnableUser(ctx, f.dave.ID, a) },
			done: func(db *DB, f *auditedFixture) bool {
				u, err := db.UserByID(ctx, f.dave.ID)
				return err == nil && !u.Disabled
			},
			missing: func(db *DB, a *Audited) error { return db.EnableUser(ctx, 999, a) },
			want:    domain.ErrNotFound},
		{name: "UnlockUser",
			change: func(db *DB, f *auditedFixture, a *Audited) error { return db.UnlockUser(ctx, f.dave.ID, a) },
			done: func(db *DB, f *auditedFixture) bool {
				u, err := db.UserByID(ctx, f.dave.ID)
				return err == nil && u.LockedUntil.IsZero() && u.FailedLogins == 0
			},
			missing: func(db *DB, a *Audited) error { return db.UnlockUser(ctx, 999, a) },
			want:    domain.ErrNotFound},
		{name: "CreateToken",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				tok := &domain.Token{Name: "bot2", Scopes: []string{"search"}, CreatedBy: "alice", CreatedAt: db.Now().Unix()}
				return db.CreateToken(ctx, tok, "hash2", &domain.User{Username: "token:bot2", PasswordHash: "!", Role: "officer"}, a)
			},
			done: func(db *DB, f *auditedFixture) bool {
				_, err := db.TokenByName(ctx, "bot2")
				return err == nil
			},
			missing: func(db *DB, a *Audited) error { // taken, rather
				tok := &domain.Token{Name: "bot", Scopes: []string{"search"}, CreatedBy: "alice"}
				return db.CreateToken(ctx, tok, "hash3", &domain.User{Username: "token:bot", PasswordHash: "!", Role: "officer"}, a)
			},
			want: errTaken},
		{name: "RevokeToken",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				return db.RevokeToken(ctx, f.tokenName, db.Now().Unix(), a)
			},
			done: func(db *DB, f *auditedFixture) bool {
				tok, err := db.TokenByName(ctx, f.tokenName)
				return err == nil && tok.RevokedAt != 0
			},
			missing: func(db *DB, a *Audited) error { return db.RevokeToken(ctx, "nobody", 1, a) },
			want:    domain.ErrNotFound},
		{name: "InsertCalibration",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				return db.InsertCalibration(ctx, &domain.Calibration{ModelID: "m", NPairs: 2, PhotoMean: []float32{1}, SketchMean: []float32{2}}, a)
			},
			done: func(db *DB, f *auditedFixture) bool {
				_, err := db.LatestCalibration(ctx, "m")
				return err == nil
			},
			filled: func(t *testing.T, db *DB, f *auditedFixture, r *domain.AuditRow) {
				c, err := db.LatestCalibration(ctx, "m")
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf("calibration:%d", c.ID); r.Target != want || r.Details != "d" {
					t.Fatalf("audit row %+v, want target %q", r, want)
				}
			}},
		{name: "PurgeSearches",
			change: func(db *DB, f *auditedFixture, a *Audited) error {
				_, err := db.PurgeSearches(ctx, db.Now().Add(time.Hour), false, a)
				return err
			},
			done: func(db *DB, f *auditedFixture) bool {
				_, err := db.SearchByID(ctx, f.open.ID)
				return domain.IsNotFound(err)
			},
			filled: func(t *testing.T, db *DB, f *auditedFixture, r *domain.AuditRow) {
				if want := "searches=2 results=1 sketch_files=2 held_kept=0"; r.Details != want || r.Target != "x" {
					t.Fatalf("audit row %+v, want details %q", r, want)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpenDB(t)
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			db.Now = func() time.Time { return now }
			f := newAuditedFixture(t, db)
			failAuditAppends(t, db)
			entry := func(action string) *Audited {
				return &Audited{Row: &domain.AuditRow{At: "2026-01-02T03:04:05Z", Username: "alice", ClientIP: "192.0.2.1",
					Action: action, Target: "x", Outcome: "success", Details: "d"}, Seal: testSeal}
			}
			rows := func() []domain.AuditRow {
				var out []domain.AuditRow
				if err := db.EachAudit(ctx, func(r *domain.AuditRow) error { out = append(out, *r); return nil }); err != nil {
					t.Fatal(err)
				}
				return out
			}

			if tc.missing != nil {
				if err := tc.missing(db, entry(tc.name)); !errors.Is(err, tc.want) {
					t.Fatalf("change of something missing: %v, want %v", err, tc.want)
				}
				if n := len(rows()); n != 0 {
					t.Fatalf("a failed change left %d audit rows", n)
				}
			}

			err := tc.change(db, f, entry("boom"))
			if !errors.Is(err, domain.ErrAuditAppend) {
				t.Fatalf("change with a refused audit row: %v, want ErrAuditAppend", err)
			}
			if tc.done(db, f) {
				t.Fatal("the change committed without its audit row")
			}
			if n := len(rows()); n != 0 {
				t.Fatalf("%d audit rows after a refused append", n)
			}

			a := entry(tc.name)
			if err := tc.change(db, f, a); err != nil {
				t.Fatal(err)
			}
			if !tc.done(db, f) {
				t.Fatal("the change is not in the database")
			}
			got := rows()
			if len(got) != 1 || got[0] != *a.Row {
				t.Fatalf("audit rows %+v, want the one given %+v", got, *a.Row)
			}
			r := got[0]
			if r.ID == 0 || r.PrevHash != AuditGenesisHash || r.Hash != testSeal(&r) || r.Username != "alice" || r.Action != tc.name {
				t.Fatalf("audit row %+v: not chained or sealed", r)
			}
			if tc.filled != nil {
				tc.filled(t, db, f, &r)
			} else if r.Target != "x" || r.Details != "d" {
				t.Fatalf("audit row %+v: the store changed the caller's fields", r)
			}
		})
	}
}

// A nil entry (or one without a row) makes the change alone; a dry-run
// purge changes nothing and appends no row.
func TestAuditedNoRow(t *testing.T) { forEachBackend(t, testAuditedNoRow) }

func testAuditedNoRow(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	f := newAuditedFixture(t, db)
	if err := db.ReopenSearch(ctx, f.closed.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSearchHold(ctx, f.open.ID, true, &Audited{}); err != nil {
		t.Fatal(err)
	}
	a := &Audited{Row: &domain.AuditRow{At: "t", Action: "purge", Outcome: "success"}, Seal: testSeal}
	if c, err := db.PurgeSearches(ctx, time.Now().Add(time.Hour), true, a); err != nil || c.Searches != 1 || c.Held != 1 {
		t.Fatalf("dry run: %+v, %v", c, err)
	}
	if _, err := db.SearchByID(ctx, f.closed.ID); err != nil {
		t.Fatalf("the dry run purged: %v", err)
	}
	n := 0
	if err := db.EachAudit(ctx, func(*domain.AuditRow) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("%d audit rows, err %v", n, err)
	}
}
