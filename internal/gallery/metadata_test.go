package gallery_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

var now = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

func TestParseMetadataCSV(t *testing.T) {
	rows, err := gallery.ParseMetadataCSV(strings.NewReader("\uFEFFfile,label,sex,birth_year,tags\n"+
		"a.jpg,Alice A,F,1984,\"Beard; scar  left cheek\"\n"+
		"\n"+ // blank lines are skipped
		"b.png,,unknown,,\n"+
		"c.jpg,Carl,male,2026,glasses\n"), now)
	if err != nil {
		t.Fatal(err)
	}
	want := []gallery.MetadataRow{
		{Line: 2, File: "a.jpg", Label: "Alice A", Meta: domain.Metadata{Sex: "female", BirthYear: 1984, Tags: []string{"beard", "scar left cheek"}}},
		{Line: 4, File: "b.png", Meta: domain.Metadata{Sex: "unknown"}},
		{Line: 5, File: "c.jpg", Label: "Carl", Meta: domain.Metadata{Sex: "male", BirthYear: 2026, Tags: []string{"glasses"}}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows:\n got %+v\nwant %+v", rows, want)
	}
	t.Run("ColumnsInAnyOrderOrLeftOut", func(t *testing.T) {
		rows, err := gallery.ParseMetadataCSV(strings.NewReader("sex,FILE\nm,x.jpg\n"), now)
		if err != nil || len(rows) != 1 || rows[0].File != "x.jpg" || rows[0].Meta.Sex != "male" {
			t.Fatalf("%+v %v", rows, err)
		}
	})
}

func TestParseMetadataCSVErrors(t *testing.T) {
	const head = "file,label,sex,birth_year,tags\n"
	for _, tc := range []struct {
		name string
		csv  string
		want []string // each must appear in the error
	}{
		{"ErrBadSex", head + "a.jpg,A,female,1980,\nb.jpg,B,woman,1980,\n", []string{"line 3:", `"woman" is not female, male or unknown`}},
		{"ErrBadYear", head + "a.jpg,A,f,nineteen,\n", []string{"line 2:", `"nineteen" is not a four-digit year`}},
		{"ErrYearTooEarly", head + "a.jpg,A,f,1850,\n", []string{"line 2:", "before 1900"}},
		{"ErrFutureYear", head + "a.jpg,A,f,2027,\n", []string{"line 2:", "2027 is in the future"}},
		{"ErrDuplicateFile", head + "a.jpg,A,f,,\nb.jpg,,,,\na.jpg,A2,m,,\n", []string{"line 4:", `"a.jpg" is listed twice (first on line 2)`}},
		{"ErrUnknownColumn", "file,label,age\na.jpg,A,30\n", []string{"line 1:", `unknown column "age"`}},
		{"ErrMissingHeader", "a.jpg,Alice,female,1980,\n", []string{"line 1:", "missing header"}},
		{"ErrNoFileColumn", "label,sex\nA,f\n", []string{"line 1:", "no file column"}},
		{"ErrDuplicateColumn", "file,sex,sex\na.jpg,f,f\n", []string{"line 1:", `"sex" appears twice`}},
		{"ErrEmpty", "", []string{"line 1:", "empty"}},
		{"ErrFieldCount", head + "a.jpg,A,f\n", []string{"line 2:", "3 fields, the header has 5"}},
		{"ErrPathNotName", head + "../x/a.jpg,,,,\n", []string{"line 2:", "not a path"}},
		{"ErrEmptyFile", head + ",A,f,,\n", []string{"line 2:", "file name is empty"}},
		{"ErrBadTag", head + "a.jpg,,,,\"<script>\"\n", []string{"line 2:", "letters, digits"}},
		{"ErrLabelControl", head + "a.jpg,\"a\x1bb\",,,\n", []string{"line 2:", "control characters"}},
		{"ErrBadQuote", head + "a.jpg,\"unterminated,,,\n", []string{"line 2:", "not valid CSV"}},
		{"ErrBadQuoteFirstField", head + "a.jpg,,,,\n\"b\"x.jpg,,,,\n", []string{"line 3:", "not valid CSV"}},
		{"ErrFieldCountAfterMultiline", head + "a.jpg,\"two\nlines\",f,,\nb.jpg,B\n", []string{"line 4:", "2 fields"}},
		{"ErrSeveralLinesAllNamed", head + "a.jpg,,x,,\nb.jpg,,,3000,\nc.jpg,,,,\n", []string{"line 2:", "line 3:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := gallery.ParseMetadataCSV(strings.NewReader(tc.csv), now)
			var ce *gallery.CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("err=%v (rows %+v), want a *CSVError", err, rows)
			}
			if rows != nil {
				t.Fatalf("rows returned with an error: %+v", rows)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func intp(n int) *int { return &n }

func TestParseFilter(t *testing.T) {
	f, err := gallery.ParseFilter(gallery.FilterInput{Sex: "Female", MinAge: "20", MaxAge: " 35", Tags: "Beard;glasses", IncludeUnknown: "on"}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := &gallery.Filter{Sex: "female", MinAge: intp(20), MaxAge: intp(35), At: "2026-11-30", Tags: []string{"beard", "glasses"}, IncludeUnknown: true}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got %+v, want %+v", f, want)
	}
	if got := f.Describe(); got != "sex female; age 20–35 on 2026-11-30; tags beard, glasses; references without this information included" {
		t.Fatalf("Describe=%q", got)
	}
	if f, err := gallery.ParseFilter(gallery.FilterInput{Sex: "any", IncludeUnknown: "on"}, now); f != nil || err != nil {
		t.Fatalf("no criterion: %+v %v, want nil, nil", f, err)
	}
	for _, tc := range []struct {
		name string
		in   gallery.FilterInput
		want string
	}{
		{"ErrSex", gallery.FilterInput{Sex: "unknown"}, "female, male or any"},
		{"ErrAgeText", gallery.FilterInput{MinAge: "twenty"}, "whole number"},
		{"ErrAgeNegative", gallery.FilterInput{MinAge: "-1"}, "whole number"},
		{"ErrAgeTooHigh", gallery.FilterInput{MaxAge: "131"}, "0 to 130"},
		{"ErrAgeOrder", gallery.FilterInput{MinAge: "40", MaxAge: "30"}, "above the highest"},
		{"ErrDate", gallery.FilterInput{MinAge: "20", At: "30/11/2026"}, "YYYY-MM-DD"},
		{"ErrFutureDate", gallery.FilterInput{MinAge: "20", At: "2027-01-01"}, "between"},
		{"ErrDateWithoutAge", gallery.FilterInput{Sex: "m", At: "2020-01-01"}, "without an age range"},
		{"ErrTag", gallery.FilterInput{Tags: "a|b"}, "letters, digits"},
		{"ErrIncludeUnknown", gallery.FilterInput{Sex: "m", IncludeUnknown: "maybe"}, "true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gallery.ParseFilter(tc.in, now)
			if apperr.Code(err) != apperr.EINVALID || !strings.Contains(apperr.Message(err), tc.want) {
				t.Fatalf("err=%v, want EINVALID with %q", err, tc.want)
			}
		})
	}
}

// Ages from a birth year alone: on a date in year Y someone born in B is
// Y−B−1 or Y−B, and a reference passes when either age fits; on 31
// December only Y−B is possible.
func TestFilterAgeAtDate(t *testing.T) {
	born := func(y int) domain.Metadata { return domain.Metadata{BirthYear: y} }
	for _, tc := range []struct {
		name     string
		min, max *int
		at       string
		pass     []int
		fail     []int
	}{
		{"MidYear", intp(20), intp(20), "2026-06-15", []int{2005, 2006}, []int{2004, 2007}},
		{"FirstOfJanuary", intp(20), intp(20), "2026-01-01", []int{2005, 2006}, []int{2004, 2007}},
		{"ThirtyFirstOfDecember", intp(20), intp(20), "2026-12-31", []int{2006}, []int{2005, 2007}},
		{"Range", intp(20), intp(35), "2020-03-01", []int{1984, 1990, 2000}, []int{1983, 2001}},
		{"MinOnly", intp(60), nil, "2026-05-05", []int{1900, 1966}, []int{1967}},
		{"MaxOnly", nil, intp(17), "2026-05-05", []int{2008, 2026}, []int{2007}},
		{"NotYetBorn", intp(0), intp(5), "2010-05-05", []int{2004, 2010}, []int{2003, 2011}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &gallery.Filter{MinAge: tc.min, MaxAge: tc.max, At: tc.at}
			for _, y := range tc.pass {
				if !f.Matches(born(y)) {
					t.Errorf("born %d dropped by %s", y, f.Describe())
				}
			}
			for _, y := range tc.fail {
				if f.Matches(born(y)) {
					t.Errorf("born %d kept by %s", y, f.Describe())
				}
			}
		})
	}
}

func TestFilterIncludeUnknown(t *testing.T) {
	full := domain.Metadata{Sex: "female", BirthYear: 1990, Tags: []string{"beard", "glasses"}}
	for _, tc := range []struct {
		name    string
		f       gallery.Filter
		m       domain.Metadata
		exclude bool // result without include-unknown
		include bool // result with it
	}{
		{"SexKnownMatch", gallery.Filter{Sex: "female"}, full, true, true},
		{"SexKnownOther", gallery.Filter{Sex: "male"}, full, false, false},
		{"SexUnknown", gallery.Filter{Sex: "male"}, domain.Metadata{BirthYear: 1990}, false, true},
		{"SexNoRow", gallery.Filter{Sex: "male"}, domain.Metadata{}, false, true},
		{"AgeUnknown", gallery.Filter{MinAge: intp(30), At: "2026-01-01"}, domain.Metadata{Sex: "male"}, false, true},
		{"AgeKnownOutside", gallery.Filter{MaxAge: intp(20), At: "2026-01-01"}, full, false, false},
		{"TagsAllPresent", gallery.Filter{Tags: []string{"glasses", "beard"}}, full, true, true},
		{"TagsOneMissing", gallery.Filter{Tags: []string{"beard", "tattoo"}}, full, false, false},
		{"TagPrefixIsNotATag", gallery.Filter{Tags: []string{"glass"}}, full, false, false},
		{"TagsNone", gallery.Filter{Tags: []string{"beard"}}, domain.Metadata{Sex: "female"}, false, true},
		{"UnknownSexButOtherKnownFails", gallery.Filter{Sex: "male", Tags: []string{"tattoo"}}, domain.Metadata{Tags: []string{"beard"}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if got := f.Matches(tc.m); got != tc.exclude {
				t.Errorf("without include-unknown: %v, want %v", got, tc.exclude)
			}
			f.IncludeUnknown = true
			if got := f.Matches(tc.m); got != tc.include {
				t.Errorf("with include-unknown: %v, want %v", got, tc.include)
			}
		})
	}
}

// vecEncoder embeds an image as a unit vector derived from its pixels (so
// every distinct image has its own, stable vector). No face detection: the
// vectors are random directions, which is all the filter tests need.
type vecEncoder struct{ dim int }

func (v vecEncoder) ModelID() string { return "vec@000000000000" }
func (v vecEncoder) Dim() int        { return v.dim }
func (v vecEncoder) Embed(_ context.Context, img image.Image) (*embed.Embedding, error) {
	h := sha256.New()
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bb, _ := img.At(x, y).RGBA()
			fmt.Fprint(h, r, g, bb)
		}
	}
	seed := h.Sum(nil)
	vec := make([]float32, v.dim)
	var ss float64
	for i := range vec {
		vec[i] = float32(int(seed[i%len(seed)])-128) + float32(i%7)
		ss += float64(vec[i]) * float64(vec[i])
	}
	for i := range vec {
		vec[i] /= float32(math.Sqrt(ss))
	}
	return &embed.Embedding{Vector: vec, FaceFound: true}, nil
}
func (v vecEncoder) EmbedBatch(ctx context.Context, imgs []image.Image) ([]*embed.Embedding, error) {
	out := make([]*embed.Embedding, len(imgs))
	for i, img := range imgs {
		out[i], _ = v.Embed(ctx, img)
	}
	return out, nil
}

// The filter through the whole search: k candidates whenever k references
// pass, none that fail, the count on the record, the filter in history and
// the audit trail; the in-memory metadata follows edits and deletes.
func TestSearchWithFilter(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, vecEncoder{dim: 16}, 0)
	// Searches belong to a user (admin.UserID).
	if _, err := f.db.ExecContext(ctx, `INSERT INTO users (id, username, password_hash, role, created_at, password_changed_at) VALUES (?, ?, 'x', 'admin', 0, 0)`, admin.UserID, admin.Username); err != nil {
		t.Fatal(err)
	}
	// 40 references: sex alternates female/male/unknown, birth years 1950..,
	// every fourth tagged "beard".
	var ups []gallery.Upload
	metaOf := map[string]domain.Metadata{}
	for i := range 40 {
		m := domain.Metadata{Sex: []string{"female", "male", "unknown"}[i%3], BirthYear: 1950 + i}
		if i%4 == 0 {
			m.Tags = []string{"beard"}
		}
		if i%10 == 9 {
			m.BirthYear = 0
		}
		name := fmt.Sprintf("%02d.jpg", i)
		metaOf[name] = m
		ups = append(ups, gallery.Upload{Name: name, Data: testJPEG(t, uint64(100+i), 32, 40), Meta: &m})
	}
	byID := map[int64]domain.Metadata{}
	for _, r := range f.svc.Add(ctx, admin, ups) {
		if r.Outcome != gallery.Added {
			t.Fatalf("%s: %s %s", r.Name, r.Outcome, r.Reason)
		}
		byID[r.Reference.ID] = metaOf[r.Name]
	}
	sketch := testJPEG(t, 7, 32, 40)
	for _, tc := range []struct {
		name string
		f    gallery.Filter
		k    int
	}{
		{"Female", gallery.Filter{Sex: "female"}, 10},
		{"FemaleFewerThanK", gallery.Filter{Sex: "female"}, 30},
		{"MaleOrUnknown", gallery.Filter{Sex: "male", IncludeUnknown: true}, 40},
		{"Age", gallery.Filter{MinAge: intp(50), MaxAge: intp(60), At: "2026-11-30"}, 5},
		{"AgeWithUnknown", gallery.Filter{MinAge: intp(50), MaxAge: intp(60), At: "2026-11-30", IncludeUnknown: true}, 40},
		{"Beard", gallery.Filter{Tags: []string{"beard"}}, 3},
		{"FemaleBeard", gallery.Filter{Sex: "female", Tags: []string{"beard"}}, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pass := 0
			for _, m := range byID {
				if tc.f.Matches(m) {
					pass++
				}
			}
			out, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: sketch, K: tc.k, Filter: &tc.f})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(out.Candidates), min(tc.k, pass); got != want {
				t.Fatalf("%d candidates, want min(k=%d, passing=%d)", got, tc.k, pass)
			}
			for _, c := range out.Candidates {
				if !tc.f.Matches(byID[c.ReferenceID]) {
					t.Fatalf("candidate %d (%+v) fails %s", c.ReferenceID, byID[c.ReferenceID], tc.f.Describe())
				}
			}
			if out.Filter == nil || out.Filter.Kept != pass || out.Filter.Total != 40 {
				t.Fatalf("applied filter %+v, want kept %d of 40", out.Filter, pass)
			}
			// Bands and the record count the references the search ranked.
			if out.Search.GallerySize != pass {
				t.Fatalf("gallery size on the record %d, want the %d kept", out.Search.GallerySize, pass)
			}
			rec, err := f.svc.SearchFilter(ctx, out.Search.ID)
			if err != nil || rec == nil || rec.Kept != pass || rec.Description != tc.f.Describe() || !reflect.DeepEqual(rec.Filter, &tc.f) {
				t.Fatalf("recorded filter %+v %v", rec, err)
			}
		})
	}
	t.Run("UnfilteredIsUnchanged", func(t *testing.T) {
		out, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: sketch, K: 40})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Candidates) != 40 || out.Filter != nil {
			t.Fatalf("%d candidates, filter %+v", len(out.Candidates), out.Filter)
		}
		if rec, _ := f.svc.SearchFilter(ctx, out.Search.ID); rec != nil {
			t.Fatalf("unfiltered search recorded a filter: %+v", rec)
		}
	})
	t.Run("ErrNoneKept", func(t *testing.T) {
		var before int
		f.db.QueryRow(`SELECT COUNT(*) FROM searches`).Scan(&before)
		_, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: sketch, K: 5, Filter: &gallery.Filter{Tags: []string{"tattoo"}}})
		if apperr.Code(err) != apperr.EINVALID || !strings.Contains(apperr.Message(err), "No searchable reference fits") {
			t.Fatalf("err=%v", err)
		}
		var after int
		f.db.QueryRow(`SELECT COUNT(*) FROM searches`).Scan(&after)
		if after != before {
			t.Fatal("a search that no reference passed was recorded")
		}
	})
	t.Run("AuditMentionsFilter", func(t *testing.T) {
		found := false
		f.db.EachAudit(ctx, func(r *domain.AuditRow) error {
			if r.Action == "search" && strings.Contains(r.Details, `filter="sex female; references without this information excluded" kept=14/40`) {
				found = true
			}
			return nil
		})
		if !found {
			t.Fatal("no search audit row names the filter and its count")
		}
	})
	t.Run("EditIsSeenByTheNextSearch", func(t *testing.T) {
		var id int64
		for i, m := range byID {
			if m.Sex == "male" {
				id = i
				break
			}
		}
		tattoo := gallery.Filter{Tags: []string{"tattoo"}}
		if err := f.svc.UpdateWithMetadata(ctx, admin, id, "now tattooed", "", domain.Metadata{Sex: "male", Tags: []string{"tattoo"}}); err != nil {
			t.Fatal(err)
		}
		out, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: sketch, K: 5, Filter: &tattoo})
		if err != nil || len(out.Candidates) != 1 || out.Candidates[0].ReferenceID != id {
			t.Fatalf("after the edit: %v %+v", err, out)
		}
		// Another process (an import) changes metadata: the sync reloads it.
		tx, _ := f.db.BeginTx(ctx, nil)
		f.db.PutMetadataTx(ctx, tx, id, domain.Metadata{Sex: "male"})
		tx.Commit()
		if _, _, err := f.svc.SyncIndex(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: sketch, K: 5, Filter: &tattoo}); apperr.Code(err) != apperr.EINVALID {
			t.Fatalf("metadata changed by another process not seen: %v", err)
		}
		if err := f.svc.Delete(ctx, admin, id); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("LoadedWithTheIndex", func(t *testing.T) {
		if err := f.svc.LoadIndex(ctx); err != nil {
			t.Fatal(err)
		}
		out, err := f.svc.Search(ctx, admin, gallery.Query{Sketch: sketch, K: 40, Filter: &gallery.Filter{Sex: "female"}})
		if err != nil || len(out.Candidates) != 14 || out.Filter.Total != 39 {
			t.Fatalf("after a reload: %v %d candidates, %+v", err, len(out.Candidates), out.Filter)
		}
	})
}

func TestUpdateWithMetadata(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, 0)
	res := f.svc.Add(ctx, admin, []gallery.Upload{{Name: "1.jpg", Data: testJPEG(t, 1, 64, 80), Label: "one"}})
	id := res[0].Reference.ID
	m := domain.Metadata{Sex: "female", BirthYear: 1990, Tags: []string{"glasses"}}
	if err := f.svc.UpdateWithMetadata(ctx, admin, id, "One", "note", m); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Metadata(ctx, id); !reflect.DeepEqual(got, m) {
		t.Fatalf("stored %+v, want %+v", got, m)
	}
	// The label edit's row (the person, named "one" after the photo's
	// label, follows it with a subject_update row of its own).
	var last *domain.AuditRow
	f.db.EachAudit(ctx, func(r *domain.AuditRow) error {
		if r.Action == "reference_update" {
			c := *r
			last = &c
		}
		return nil
	})
	if last == nil || last.Username != "alice" ||
		!strings.Contains(last.Details, `sex=female birth_year=1990 tags="glasses" (was sex=unknown birth_year=unknown tags="")`) {
		t.Fatalf("audit row %+v", last)
	}
	for _, tc := range []struct {
		name string
		m    domain.Metadata
	}{
		{"ErrSex", domain.Metadata{Sex: "other"}},
		{"ErrFutureYear", domain.Metadata{BirthYear: time.Now().Year() + 1}},
		{"ErrTag", domain.Metadata{Tags: []string{"a,b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.svc.UpdateWithMetadata(ctx, admin, id, "changed", "", tc.m); apperr.Code(err) != apperr.EINVALID {
				t.Fatalf("err=%v", err)
			}
			ref, _ := f.db.ReferenceByID(ctx, id)
			got, _ := f.svc.Metadata(ctx, id)
			if ref.Label != "One" || !reflect.DeepEqual(got, m) {
				t.Fatalf("a refused edit changed the reference: %q %+v", ref.Label, got)
			}
		})
	}
	if err := f.svc.UpdateWithMetadata(ctx, admin, 999, "x", "", m); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("missing reference: %v", err)
	}
	label := "relabelled"
	if err := f.svc.SetMetadata(ctx, admin, id, &label, domain.Metadata{Sex: "male"}); err != nil {
		t.Fatal(err)
	}
	ref, _ := f.db.ReferenceByID(ctx, id)
	if got, _ := f.svc.Metadata(ctx, id); ref.Label != label || got.Sex != "male" || ref.Notes != "note" {
		t.Fatalf("SetMetadata: %q %q %+v", ref.Label, ref.Notes, got)
	}
}
