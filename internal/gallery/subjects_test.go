package gallery_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/quality/qualitytest"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

func auditActions(t *testing.T, db *store.DB, action string) []domain.AuditRow {
	t.Helper()
	rows, _, err := db.ListAuditFiltered(context.Background(), domain.AuditFilter{Action: action}, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestPersonScore(t *testing.T) {
	for _, c := range []struct {
		name   string
		scores []float64
		alpha  float64
		want   float64
	}{
		{"BestOnly", []float64{0.8, 0.6}, 0, 0.8},
		{"BestPlusSecond", []float64{0.8, 0.6}, 0.5, (0.8 + 0.3) / 1.5},
		{"OnePhotoIsItsOwnSecond", []float64{0.8}, 0.5, 0.8},
		{"None", nil, 0.5, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := gallery.PersonScore(c.scores, c.alpha); got < c.want-1e-12 || got > c.want+1e-12 {
				t.Fatalf("PersonScore(%v, %g)=%g, want %g", c.scores, c.alpha, got, c.want)
			}
		})
	}
}

// TestSearchRanksPeople: a person with several photos takes one place in
// the results, best photo first, with the others listed; k counts people;
// moves and merges change the next search at once.
func TestSearchRanksPeople(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, qualitytest.Encoder{ID: "fake@1"}, 0)
	mustUser(t, f.db)
	// Person "R-0" has photos of synthetic people 0, 10 and 11 (so a
	// sketch of 0 ranks one of them first and the others somewhere below);
	// people 1..4 have one photo each, as a gallery imported before subjects.
	ups := []gallery.Upload{
		{Name: "a.png", Data: fakePhoto(t, 0), Subject: "R-0", Label: "front"},
		{Name: "b.png", Data: fakePhoto(t, 10), Subject: "R-0", Label: "2019"},
		{Name: "c.png", Data: fakePhoto(t, 11), Subject: "R-0"},
	}
	for i := 1; i <= 4; i++ {
		ups = append(ups, gallery.Upload{Name: "p.png", Data: fakePhoto(t, i)})
	}
	res := f.svc.Add(ctx, admin, ups)
	var refs []int64
	for _, r := range res {
		if r.Outcome != gallery.Added {
			t.Fatalf("%s: %s %s", r.Name, r.Outcome, r.Reason)
		}
		refs = append(refs, r.Reference.ID)
	}
	r0 := res[0].Reference.SubjectID
	if res[1].Reference.SubjectID != r0 || res[2].Reference.SubjectID != r0 {
		t.Fatal("photos named with one subject went to different subjects")
	}
	if res[3].Reference.SubjectID == r0 || res[3].Reference.SubjectID == res[4].Reference.SubjectID {
		t.Fatal("a photo imported without a subject must get its own")
	}
	if s, _ := f.db.SubjectByID(ctx, res[3].Reference.SubjectID); s.Name != res[3].Reference.Label {
		t.Fatalf("own subject named %q, want the label", s.Name)
	}

	t.Run("OneCardPerPerson", func(t *testing.T) {
		out := search(t, f.svc, fakeSketch(t, 0), 5)
		if got, want := len(out.Candidates), 5; got != want {
			t.Fatalf("%d candidates, want %d people", got, want)
		}
		seen := map[int64]bool{}
		for _, c := range out.Candidates {
			if seen[c.SubjectID] || c.SubjectID == 0 {
				t.Fatalf("subject %d listed twice or unknown: %+v", c.SubjectID, out.Candidates)
			}
			seen[c.SubjectID] = true
			if c.ReferenceIDs[0] != c.ReferenceID {
				t.Fatalf("best photo %d not first in %v", c.ReferenceID, c.ReferenceIDs)
			}
		}
		top := out.Candidates[0]
		if top.SubjectID != r0 || top.ReferenceID != refs[0] || top.SubjectName != "R-0" {
			t.Fatalf("top %+v, want subject R-0 with photo %d", top, refs[0])
		}
		if got := len(top.ReferenceIDs); got != 3 {
			t.Fatalf("R-0 lists %v, want all 3 photos", top.ReferenceIDs)
		}
		// The record keeps the people.
		rec, _ := f.db.SearchByID(ctx, out.Search.ID)
		if !reflect.DeepEqual(rec.Results[0].ReferenceIDs, top.ReferenceIDs) || rec.Results[0].SubjectName != "R-0" {
			t.Fatalf("recorded %+v", rec.Results[0])
		}
		// Bands speak of the photos searched.
		if rec.GallerySize != 7 {
			t.Fatalf("gallery size %d, want 7 photos", rec.GallerySize)
		}
	})
	t.Run("KCountsPeople", func(t *testing.T) {
		out := search(t, f.svc, fakeSketch(t, 3), 2)
		if len(out.Candidates) != 2 || out.Candidates[0].SubjectID == out.Candidates[1].SubjectID {
			t.Fatalf("%+v", out.Candidates)
		}
	})
	t.Run("MoveFollowsAtOnce", func(t *testing.T) {
		// Photo of person 1 moved to R-0: its own subject drops out.
		if err := f.svc.MoveReference(ctx, admin, refs[3], r0); err != nil {
			t.Fatal(err)
		}
		out := search(t, f.svc, fakeSketch(t, 1), 5)
		if out.Candidates[0].SubjectID != r0 || out.Candidates[0].ReferenceID != refs[3] {
			t.Fatalf("after the move the sketch of 1 finds %+v", out.Candidates[0])
		}
		if len(out.Candidates) != 4 {
			t.Fatalf("%d people after the move, want 4", len(out.Candidates))
		}
		if n := len(auditActions(t, f.db, "reference_move")); n != 1 {
			t.Fatalf("%d reference_move audit rows", n)
		}
		if err := f.svc.MoveReference(ctx, admin, refs[3], 999); apperr.Code(err) != apperr.ENOTFOUND {
			t.Fatalf("move to a missing subject: %v", err)
		}
	})
	t.Run("MergeFollowsAtOnce", func(t *testing.T) {
		s4 := res[6].Reference.SubjectID
		if err := f.svc.MergeSubjects(ctx, admin, s4, r0); err != nil {
			t.Fatal(err)
		}
		out := search(t, f.svc, fakeSketch(t, 4), 5)
		if out.Candidates[0].SubjectID != r0 {
			t.Fatalf("after the merge the sketch of 4 finds subject %d", out.Candidates[0].SubjectID)
		}
		if err := f.svc.MergeSubjects(ctx, admin, r0, r0); apperr.Code(err) != apperr.EINVALID {
			t.Fatalf("merge into itself: %v", err)
		}
		if err := f.svc.MergeSubjects(ctx, admin, s4, r0); apperr.Code(err) != apperr.ECONFLICT {
			t.Fatalf("merge a merged subject: %v", err)
		}
		if n := len(auditActions(t, f.db, "subject_merge")); n != 1 {
			t.Fatalf("%d subject_merge audit rows", n)
		}
	})
	t.Run("AddToExistingSubject", func(t *testing.T) {
		r := f.svc.Add(ctx, admin, []gallery.Upload{{Name: "x.png", Data: fakePhoto(t, 20), SubjectID: r0}})
		if r[0].Outcome != gallery.Added || r[0].Reference.SubjectID != r0 {
			t.Fatalf("%+v", r[0])
		}
		r = f.svc.Add(ctx, admin, []gallery.Upload{{Name: "y.png", Data: fakePhoto(t, 21), SubjectID: 12345}})
		if r[0].Outcome != gallery.Rejected {
			t.Fatalf("added to a missing subject: %+v", r[0])
		}
	})
}

func TestReview(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, qualitytest.Encoder{ID: "fake@1"}, 0)
	mustUser(t, f.db)
	if err := f.db.CreateUser(ctx, &domain.User{Username: "bob", PasswordHash: "!", Role: "officer"}, nil); err != nil {
		t.Fatal(err)
	}
	bobU, _ := f.db.UserByUsername(ctx, "bob")
	bob := gallery.Actor{UserID: bobU.ID, Username: "bob"}
	carol := gallery.Actor{UserID: 99, Username: "carol"}
	addPeople(t, f.svc, 4)
	out, err := f.svc.Search(ctx, bob, gallery.Query{Sketch: fakeSketch(t, 0), K: 3})
	if err != nil {
		t.Fatal(err)
	}
	id := out.Search.ID
	first, second := out.Candidates[0].SubjectID, out.Candidates[1].SubjectID

	for _, c := range []struct {
		name    string
		who     gallery.Actor
		subject int64
		mark    string
		code    string
	}{
		{"Possible", bob, first, "possible", ""},
		{"ChangedToReferred", bob, first, "referred", ""},
		{"Excluded", bob, second, "Excluded", ""},
		{"ErrBadMark", bob, first, "maybe", apperr.EINVALID},
		{"ErrNotACandidate", bob, 424242, "possible", apperr.ENOTFOUND},
		{"ErrAnotherOfficersSearch", carol, first, "possible", apperr.EFORBIDDEN},
		{"ErrAdminDoesNotReviewOthers", admin, first, "possible", apperr.EFORBIDDEN},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.Review(ctx, c.who, id, c.subject, c.mark, "note "+c.name)
			if got := apperr.Code(err); (c.code == "" && err != nil) || (c.code != "" && got != c.code) {
				t.Fatalf("err=%v, want code %q", err, c.code)
			}
		})
	}
	reviews, _ := f.db.ReviewsOf(ctx, id)
	if reviews[first].Mark != "referred" || reviews[first].Note != "note ChangedToReferred" || reviews[second].Mark != "excluded" {
		t.Fatalf("reviews %+v", reviews)
	}
	if rows := auditActions(t, f.db, "review_mark"); len(rows) != 3 || rows[0].Username != "bob" {
		t.Fatalf("review_mark audit rows: %+v", rows)
	}

	t.Run("Close", func(t *testing.T) {
		if err := f.svc.CloseSearch(ctx, carol, id, "x"); apperr.Code(err) != apperr.EFORBIDDEN {
			t.Fatalf("another officer closes: %v", err)
		}
		if err := f.svc.CloseSearch(ctx, bob, id, "Referred the top candidate."); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Review(ctx, bob, id, first, "excluded", ""); apperr.Code(err) != apperr.ECONFLICT {
			t.Fatalf("mark on a closed search: %v", err)
		}
		if err := f.svc.CloseSearch(ctx, bob, id, "again"); apperr.Code(err) != apperr.ECONFLICT {
			t.Fatalf("close twice: %v", err)
		}
		rows := auditActions(t, f.db, "search_close")
		if len(rows) != 1 || rows[0].Username != "bob" {
			t.Fatalf("search_close rows %+v", rows)
		}
		if want := `case="" unreviewed=1 conclusion="Referred the top candidate."`; rows[0].Details != want {
			t.Fatalf("details %q, want %q", rows[0].Details, want)
		}
	})
	t.Run("Reopen", func(t *testing.T) {
		if err := f.svc.ReopenSearch(ctx, bob, id); apperr.Code(err) != apperr.EFORBIDDEN {
			t.Fatalf("officer reopens: %v", err)
		}
		adm := admin
		adm.Admin = true
		if err := f.svc.ReopenSearch(ctx, adm, id); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Review(ctx, bob, id, first, "possible", ""); err != nil {
			t.Fatalf("mark after reopen: %v", err)
		}
		if rows := auditActions(t, f.db, "search_reopen"); len(rows) != 1 || rows[0].Username != "alice" {
			t.Fatalf("search_reopen rows %+v", rows)
		}
	})
}

// TestMetadataIsThePersons: witness metadata set on one photo is the
// person's, so the filter keeps every photo of theirs, and a photo moved
// to the person takes it.
func TestMetadataIsThePersons(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, qualitytest.Encoder{ID: "fake@1"}, 0)
	mustUser(t, f.db)
	res := f.svc.Add(ctx, admin, []gallery.Upload{
		{Name: "a.png", Data: fakePhoto(t, 0), Subject: "R-0"},
		{Name: "b.png", Data: fakePhoto(t, 1), Subject: "R-0"},
		{Name: "c.png", Data: fakePhoto(t, 2)},
	})
	for _, r := range res {
		if r.Outcome != gallery.Added {
			t.Fatalf("%+v", r)
		}
	}
	if err := f.svc.SetMetadata(ctx, admin, res[0].Reference.ID, nil, domain.Metadata{Sex: "female"}); err != nil {
		t.Fatal(err)
	}
	filter, err := gallery.ParseFilter(gallery.FilterInput{Sex: "female"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kept := func() int {
		out, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: fakeSketch(t, 1), K: 5, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		return out.Filter.Kept
	}
	if got := kept(); got != 2 {
		t.Fatalf("the filter kept %d photos, want both of R-0's", got)
	}
	if m, _ := f.svc.Metadata(ctx, res[1].Reference.ID); m.Sex != "female" {
		t.Fatalf("R-0's second photo has %+v", m)
	}
	if err := f.svc.MoveReference(ctx, admin, res[2].Reference.ID, res[0].Reference.SubjectID); err != nil {
		t.Fatal(err)
	}
	if got := kept(); got != 3 {
		t.Fatalf("after the move the filter kept %d photos, want 3", got)
	}
}

// TestSearchRefusedWhenIndexUnreadable: when the index's float32 rows
// cannot be read, a search is refused (503), never answered with an empty
// or partial ranking.
func TestSearchRefusedWhenIndexUnreadable(t *testing.T) {
	ctx := context.Background()
	f := newFixtureIn(t, qualitytest.Encoder{ID: "fake@1"}, t.TempDir())
	mustUser(t, f.db)
	addPeople(t, f.svc, 3)
	if out := search(t, f.svc, fakeSketch(t, 1), 3); len(out.Candidates) != 3 {
		t.Fatalf("%d candidates before the fault", len(out.Candidates))
	}
	f.svc.BreakIndexForTest()
	_, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: fakeSketch(t, 1), K: 3})
	if apperr.Code(err) != apperr.EUNAVAILABLE {
		t.Fatalf("search on an unreadable index: %v, want EUNAVAILABLE", err)
	}
	if f.svc.IndexErr() == nil {
		t.Fatal("IndexErr does not report the fault")
	}
}

// TestSetSubjectMetadata: the person's witness description is set on the
// person (every photo has it, the filter sees it at once), validated as
// the reference form's, audited with what it was; a merged or unknown
// person is refused.
func TestSetSubjectMetadata(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, qualitytest.Encoder{ID: "fake@1"}, 0)
	mustUser(t, f.db)
	res := f.svc.Add(ctx, admin, []gallery.Upload{
		{Name: "a.png", Data: fakePhoto(t, 0), Subject: "R-0"},
		{Name: "b.png", Data: fakePhoto(t, 1), Subject: "R-0"},
		{Name: "c.png", Data: fakePhoto(t, 2)},
	})
	for _, r := range res {
		if r.Outcome != gallery.Added {
			t.Fatalf("%+v", r)
		}
	}
	person, other := res[0].Reference.SubjectID, res[2].Reference.SubjectID
	m := domain.Metadata{Sex: "male", BirthYear: 1984, Tags: []string{"beard"}}
	if err := f.svc.SetSubjectMetadata(ctx, admin, person, m); err != nil {
		t.Fatal(err)
	}
	for _, r := range res[:2] {
		if got, _ := f.svc.Metadata(ctx, r.Reference.ID); !reflect.DeepEqual(got, m) {
			t.Fatalf("photo %d has %+v", r.Reference.ID, got)
		}
	}
	filter, err := gallery.ParseFilter(gallery.FilterInput{Sex: "male", Tags: "beard"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: fakeSketch(t, 1), K: 5, Filter: filter})
	if err != nil || out.Filter.Kept != 2 {
		t.Fatalf("the filter kept %+v (%v), want the person's 2 photos", out.Filter, err)
	}
	rows := auditActions(t, f.db, "subject_update")
	if len(rows) != 1 || rows[0].Target != "subject:"+itoa(person) || rows[0].Details != `description: sex=male birth_year=1984 tags="beard" (was sex=unknown birth_year=unknown tags="")` {
		t.Fatalf("audit %+v", rows)
	}
	for _, c := range []struct {
		name string
		id   int64
		m    domain.Metadata
		code string
	}{
		{"ErrSex", person, domain.Metadata{Sex: "x"}, apperr.EINVALID},
		{"ErrYear", person, domain.Metadata{BirthYear: 1200}, apperr.EINVALID},
		{"ErrUnknownPerson", 999999, m, apperr.ENOTFOUND},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := f.svc.SetSubjectMetadata(ctx, admin, c.id, c.m); apperr.Code(err) != c.code {
				t.Fatalf("err %v (%s), want %s", err, apperr.Code(err), c.code)
			}
		})
	}
	if err := f.svc.MergeSubjects(ctx, admin, other, person); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetSubjectMetadata(ctx, admin, other, m); apperr.Code(err) != apperr.ECONFLICT {
		t.Fatalf("a merged person's description: %v", err)
	}
	if n := len(auditActions(t, f.db, "subject_update")); n != 1 {
		t.Fatalf("%d subject_update rows after refusals, want 1", n)
	}
}

// TestLabelEditRenamesSolePerson: editing the label of a photo whose
// person has that photo only and is named after the old label renames the
// person too (two audit rows); otherwise the person keeps their name.
func TestLabelEditRenamesSolePerson(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, qualitytest.Encoder{ID: "fake@1"}, 0)
	mustUser(t, f.db)
	res := f.svc.Add(ctx, admin, []gallery.Upload{
		{Name: "alone.png", Data: fakePhoto(t, 0), Label: "old label"},
		{Name: "two-a.png", Data: fakePhoto(t, 1), Subject: "R-2", Label: "R-2"},
		{Name: "two-b.png", Data: fakePhoto(t, 2), Subject: "R-2", Label: "2023"},
		{Name: "renamed.png", Data: fakePhoto(t, 3), Label: "photo label"},
		{Name: "meta.png", Data: fakePhoto(t, 4), Label: "meta old"},
	})
	for _, r := range res {
		if r.Outcome != gallery.Added {
			t.Fatalf("%+v", r)
		}
	}
	ref := func(i int) int64 { return res[i].Reference.ID }
	subj := func(i int) int64 { return res[i].Reference.SubjectID }
	if err := f.svc.UpdateSubject(ctx, admin, subj(3), "R-0003", ""); err != nil {
		t.Fatal(err)
	}
	name := func(i int) string {
		s, err := f.db.SubjectByID(ctx, subj(i))
		if err != nil {
			t.Fatal(err)
		}
		return s.Name
	}
	renames := func() int { return len(auditActions(t, f.db, "subject_update")) - 1 } // less UpdateSubject's row
	for _, c := range []struct {
		name    string
		edit    func() error
		photo   int
		want    string
		renamed bool
	}{
		{"SolePhotoNamedAfterLabel", func() error { return f.svc.Update(ctx, admin, ref(0), "new label", "") }, 0, "new label", true},
		{"AgainFollows", func() error { return f.svc.Update(ctx, admin, ref(0), "newer label", "") }, 0, "newer label", true},
		{"UnchangedLabel", func() error { return f.svc.Update(ctx, admin, ref(0), "newer label", "a note") }, 0, "newer label", false},
		{"PersonWithTwoPhotos", func() error { return f.svc.Update(ctx, admin, ref(1), "2019", "") }, 1, "R-2", false},
		{"PersonNamedOtherwise", func() error { return f.svc.Update(ctx, admin, ref(3), "another label", "") }, 3, "R-0003", false},
		{"WithMetadataForm", func() error {
			return f.svc.UpdateWithMetadata(ctx, admin, ref(4), "meta new", "", domain.Metadata{Sex: "female"})
		}, 4, "meta new", true},
		{"ImportMetadataLabel", func() error {
			l := "imported"
			return f.svc.SetMetadata(ctx, admin, ref(4), &l, domain.Metadata{Sex: "female"})
		}, 4, "imported", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := renames()
			if err := c.edit(); err != nil {
				t.Fatal(err)
			}
			if got := name(c.photo); got != c.want {
				t.Fatalf("the person is named %q, want %q", got, c.want)
			}
			if got := renames() - before; got != map[bool]int{true: 1, false: 0}[c.renamed] {
				t.Fatalf("%d subject_update rows for the rename", got)
			}
		})
	}
	rows := auditActions(t, f.db, "subject_update")
	want := `name="new label" (was "old label"; follows the label of its only photo, reference:` + itoa(ref(0)) + `)`
	found := false
	for _, r := range rows {
		found = found || (r.Target == "subject:"+itoa(subj(0)) && r.Details == want)
	}
	if !found {
		t.Fatalf("no audit row %q among %+v", want, rows)
	}
	// A refused label changes nothing: neither the photo nor the person.
	if err := f.svc.Update(ctx, admin, ref(0), string(make([]byte, 300)), ""); apperr.Code(err) != apperr.EINVALID {
		t.Fatalf("a refused label: %v", err)
	}
	if name(0) != "newer label" {
		t.Fatal("a refused label renamed the person")
	}
	if err := f.svc.Update(ctx, admin, 999999, "x", ""); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("an unknown photo: %v", err)
	}
}
