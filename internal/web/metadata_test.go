package web

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/quality/qualitytest"
)

// addPhotos uploads qualitytest photos 0..n-1 through the API and returns
// their reference ids in upload order of their names (p00, p01, ...).
func addPhotos(t *testing.T, admin *client, n int) []int64 {
	t.Helper()
	files := map[string][]byte{}
	for i := range n {
		files[fmt.Sprintf("p%02d.png", i)] = qualitytest.Photo(i)
	}
	resp, body := admin.postMultipart("/api/v1/references", nil, "photos", files)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var out struct {
		Results []struct {
			File      string
			Reference struct{ ID int64 }
		}
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, n)
	for _, r := range out.Results {
		var i int
		fmt.Sscanf(r.File, "p%02d.png", &i)
		ids[i] = r.Reference.ID
	}
	return ids
}

func TestReferenceMetadataForm(t *testing.T) {
	e := newEnv(t, nil)
	admin := mustLogin(t, e, "alice")
	id := addPhotos(t, admin, 1)[0]
	path := fmt.Sprintf("/references/%d", id)

	resp, body := admin.postForm(path, url.Values{"label": {"Suspect A"}, "notes": {"n"}, "sex": {"female"}, "birth_year": {"1984"}, "tags": {"Beard, scar  left cheek"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	want := domain.Metadata{Sex: "female", BirthYear: 1984, Tags: []string{"beard", "scar left cheek"}}
	check := func(t *testing.T) {
		t.Helper()
		got, err := e.db.MetadataByID(t.Context(), id)
		if err != nil || got.Sex != want.Sex || got.BirthYear != want.BirthYear || strings.Join(got.Tags, "|") != strings.Join(want.Tags, "|") {
			t.Fatalf("stored %+v (%v), want %+v", got, err, want)
		}
		if ref, _ := e.db.ReferenceByID(t.Context(), id); ref.Label != "Suspect A" {
			t.Fatalf("label %q", ref.Label)
		}
	}
	check(t)
	t.Run("PageShowsIt", func(t *testing.T) {
		_, body := admin.get(path)
		for _, w := range []string{`<option value="female" selected>`, `value="1984"`, `value="beard, scar left cheek"`} {
			if !strings.Contains(body, w) {
				t.Errorf("page lacks %s", w)
			}
		}
	})
	t.Run("Audited", func(t *testing.T) {
		var details string
		e.db.EachAudit(t.Context(), func(r *domain.AuditRow) error {
			if r.Action == "reference_update" && r.Username == "alice" {
				details = r.Details
			}
			return nil
		})
		if !strings.Contains(details, `sex=female birth_year=1984 tags="beard,scar left cheek" (was sex=unknown birth_year=unknown tags="")`) {
			t.Fatalf("audit details %q", details)
		}
	})
	for _, tc := range []struct {
		name  string
		form  url.Values
		msg   string
		shown string // the typed value is shown back
	}{
		{"ErrSex", url.Values{"label": {"x"}, "sex": {"other"}}, "is not female, male or unknown", ""},
		{"ErrYearText", url.Values{"label": {"x"}, "birth_year": {"19x4"}}, "not a four-digit year", `value="19x4"`},
		{"ErrYearFuture", url.Values{"label": {"x"}, "birth_year": {"2099"}}, "in the future", `value="2099"`},
		{"ErrYearEarly", url.Values{"label": {"x"}, "birth_year": {"1066"}}, "before 1900", ""},
		{"ErrTag", url.Values{"label": {"x"}, "tags": {"<script>"}}, "letters, digits", ""},
		{"ErrTooManyTags", url.Values{"label": {"x"}, "tags": {strings.Repeat("t,", 5) + "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,u"}}, "Too many tags", ""},
		{"ErrLabel", url.Values{"label": {"a\x00b"}, "sex": {"male"}}, "control characters", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := admin.postForm(path, tc.form)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), tc.msg) {
				t.Fatalf("status %d, body has %q: %v", resp.StatusCode, tc.msg, strings.Contains(html.UnescapeString(body), tc.msg))
			}
			if tc.shown != "" && !strings.Contains(body, tc.shown) {
				t.Errorf("typed value not shown back (%s)", tc.shown)
			}
			check(t) // nothing changed
		})
	}
	t.Run("LabelOnlyFormKeepsMetadata", func(t *testing.T) {
		if resp, _ := admin.postForm(path, url.Values{"label": {"Suspect A"}, "notes": {"other"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		check(t)
	})
	t.Run("OfficerForbidden", func(t *testing.T) {
		officer := mustLogin(t, e, "bob")
		if resp, _ := officer.postForm(path, url.Values{"label": {"x"}, "sex": {"male"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("officer edit: %d", resp.StatusCode)
		}
		check(t)
	})
	t.Run("API", func(t *testing.T) {
		_, body := admin.get("/api/v1/references")
		var out struct {
			References []struct {
				ID        int64
				Sex       string
				BirthYear *int `json:"birth_year"`
				Tags      []string
			}
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.References) != 1 {
			t.Fatalf("%v %s", err, body)
		}
		r := out.References[0]
		if r.Sex != "female" || r.BirthYear == nil || *r.BirthYear != 1984 || len(r.Tags) != 2 {
			t.Fatalf("API reference %+v", r)
		}
		id2 := addPhotos(t, admin, 2)[1]
		_, body = admin.get("/api/v1/references")
		var raw struct{ References []map[string]any }
		json.Unmarshal([]byte(body), &raw)
		found := false
		for _, r := range raw.References {
			if r["id"] == float64(id2) {
				found = true
				if tags, ok := r["tags"].([]any); r["sex"] != "unknown" || r["birth_year"] != nil || !ok || len(tags) != 0 {
					t.Fatalf("a reference without metadata: %v", r)
				}
			}
		}
		if !found {
			t.Fatalf("reference %d not listed", id2)
		}
	})
}

type apiFilterResp struct {
	SearchID   int64 `json:"search_id"`
	Candidates []struct {
		ReferenceID int64 `json:"reference_id"`
	}
	Filter *struct {
		Sex            string
		Tags           []string
		AgeAt          string `json:"age_at"`
		IncludeUnknown bool   `json:"include_unknown"`
		Description    string
		Kept, Total    int
	}
}

// Filters through the API and the browser: bad parameters are 400 with a
// clear message before anything runs; a filtered search ranks only the
// references that pass and says how many the filter kept.
func TestSearchFilterHTTP(t *testing.T) {
	e := newEnvWith(t, nil, qualitytest.Encoder{ID: "fake"})
	admin := mustLogin(t, e, "alice")
	ids := addPhotos(t, admin, 10)
	// 0–3 female (2 and 3 with a beard tag), 4–6 male, 7–9 unknown.
	for i, id := range ids {
		f := url.Values{"label": {fmt.Sprintf("ref %d", i)}}
		switch {
		case i < 4:
			f.Set("sex", "female")
			f.Set("birth_year", fmt.Sprint(1980+i))
			if i >= 2 {
				f.Set("tags", "beard")
			}
		case i < 7:
			f.Set("sex", "male")
		}
		if resp, body := admin.postForm(fmt.Sprintf("/references/%d", id), f); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("metadata of %d: %d %s", i, resp.StatusCode, body)
		}
	}
	officer := mustLogin(t, e, "bob")
	sketch := map[string][]byte{"s.png": qualitytest.Sketch(2)}

	t.Run("BadParameters", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			fields map[string]string
			msg    string
		}{
			{"Sex", map[string]string{"sex": "yes"}, "female, male or any"},
			{"AgeText", map[string]string{"min_age": "old"}, "whole number"},
			{"AgeNegative", map[string]string{"max_age": "-3"}, "whole number"},
			{"AgeHuge", map[string]string{"max_age": "99999999999999999999"}, "whole number"},
			{"AgeOrder", map[string]string{"min_age": "50", "max_age": "20"}, "above the highest"},
			{"Date", map[string]string{"min_age": "20", "age_at": "yesterday"}, "YYYY-MM-DD"},
			{"DateFuture", map[string]string{"min_age": "20", "age_at": "2999-01-01"}, "between"},
			{"DateAlone", map[string]string{"sex": "f", "age_at": "2020-01-01"}, "without an age range"},
			{"Tag", map[string]string{"tags": "a{b}"}, "letters, digits"},
			{"IncludeUnknown", map[string]string{"sex": "m", "include_unknown": "perhaps"}, "true or false"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := officer.postMultipart("/api/v1/search", tc.fields, "sketch", sketch)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.msg) || !strings.Contains(body, `"invalid"`) {
					t.Fatalf("API: %d %s", resp.StatusCode, body)
				}
				resp, body = officer.postMultipart("/search", tc.fields, "sketch", sketch)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), tc.msg) {
					t.Fatalf("form: %d", resp.StatusCode)
				}
			})
		}
		var n int
		e.db.QueryRow(`SELECT COUNT(*) FROM searches`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d searches recorded from refused requests", n)
		}
	})

	search := func(t *testing.T, fields map[string]string) apiFilterResp {
		t.Helper()
		resp, body := officer.postMultipart("/api/v1/search", fields, "sketch", sketch)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("search: %d %s", resp.StatusCode, body)
		}
		var out apiFilterResp
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	inSet := func(id int64, idx ...int) bool {
		for _, i := range idx {
			if ids[i] == id {
				return true
			}
		}
		return false
	}
	t.Run("API", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			fields map[string]string
			pass   []int
		}{
			{"Female", map[string]string{"sex": "female", "k": "10"}, []int{0, 1, 2, 3}},
			{"MaleOrUnknown", map[string]string{"sex": "male", "include_unknown": "on", "k": "10"}, []int{4, 5, 6, 7, 8, 9}},
			{"BeardTopTwo", map[string]string{"tags": "Beard", "k": "2"}, []int{2, 3}},
			{"AgeAtDate", map[string]string{"min_age": "40", "max_age": "40", "age_at": "2022-06-01", "k": "10"}, []int{1, 2}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out := search(t, tc.fields)
				if len(out.Candidates) != len(tc.pass) {
					t.Fatalf("%d candidates, want %d", len(out.Candidates), len(tc.pass))
				}
				for _, c := range out.Candidates {
					if !inSet(c.ReferenceID, tc.pass...) {
						t.Fatalf("candidate %d fails the filter", c.ReferenceID)
					}
				}
				if out.Filter == nil || out.Filter.Kept != len(tc.pass) || out.Filter.Total != 10 {
					t.Fatalf("filter in the response: %+v", out.Filter)
				}
				_, body := officer.get(fmt.Sprintf("/api/v1/searches/%d", out.SearchID))
				var again apiFilterResp
				json.Unmarshal([]byte(body), &again)
				if again.Filter == nil || !reflect.DeepEqual(again.Filter, out.Filter) {
					t.Fatalf("stored search's filter %+v, want %+v", again.Filter, out.Filter)
				}
			})
		}
		if out := search(t, map[string]string{"k": "3"}); out.Filter != nil || len(out.Candidates) != 3 {
			t.Fatalf("unfiltered search: %+v", out)
		}
	})
	t.Run("ErrNothingPasses", func(t *testing.T) {
		resp, body := officer.postMultipart("/api/v1/search", map[string]string{"tags": "tattoo"}, "sketch", sketch)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No searchable reference fits the filter") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("Browser", func(t *testing.T) {
		_, body := officer.get("/")
		for _, w := range []string{`name="sex"`, `name="min_age"`, `name="max_age"`, `name="age_at"`, `name="tags"`, `name="include_unknown"`} {
			if !strings.Contains(body, w) {
				t.Fatalf("search form lacks %s", w)
			}
		}
		resp, _ := officer.postMultipart("/search", map[string]string{"sex": "female", "tags": "beard", "k": "5"}, "sketch", sketch)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("search: %d", resp.StatusCode)
		}
		loc := resp.Header.Get("Location")
		_, body = officer.get(loc)
		if !strings.Contains(body, "sex female; tags beard; references without this information excluded: the filter kept 2 of 10 references") {
			t.Fatalf("result page does not say what the filter kept")
		}
		if n := strings.Count(body, `class="candidate"`); n != 2 {
			t.Fatalf("%d candidates shown, want 2", n)
		}
		if !strings.Contains(body, "female · born 1982 · beard") || !strings.Contains(body, "female · born 1983 · beard") {
			t.Fatal("candidates do not show their metadata")
		}
		_, body = officer.get("/searches")
		if !strings.Contains(body, "filtered: sex female; tags beard") {
			t.Fatal("history does not mention the filter")
		}
		_, body = officer.get("/searches.csv")
		if !strings.Contains(body, ",witness_filter,filter_kept") || !strings.Contains(body, "sex female; tags beard; references without this information excluded,2/10") {
			t.Fatalf("history export lacks the filter:\n%s", body)
		}
		if resp, _ := officer.get(loc + "/report.pdf"); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("case report of a filtered search: %d", resp.StatusCode)
		}
		// A refused search keeps what was typed.
		_, body = officer.postMultipart("/search", map[string]string{"sex": "male", "min_age": "30", "max_age": "x", "tags": "glasses"}, "sketch", sketch)
		for _, w := range []string{`<option value="male" selected>`, `name="min_age" type="number" min="0" max="130" value="30"`, `value="glasses"`} {
			if !strings.Contains(body, w) {
				t.Errorf("refused form lost %s", w)
			}
		}
	})
}

func TestGroupThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1 000", 3120: "3 120", 10400: "10 400", 1234567: "1 234 567", -4500: "-4 500"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d)=%q, want %q", n, got, want)
		}
	}
}
