package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// TestSubjectsAPI: the people routes of the integration API, for an admin,
// an officer (refused), bad ids, bad bodies, merging into oneself and
// merging a merged person; every request and answer is checked against
// openapi.yaml by the test server.
func TestSubjectsAPI(t *testing.T) {
	e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "1000"})
	p := seedPeopleSearch(t, e)
	alice, bob := mustLogin(t, e, "alice"), mustLogin(t, e, "bob")
	sa, sb := itoa(p.subjectA), itoa(p.subjectB)

	t.Run("List", func(t *testing.T) {
		resp, body := alice.get("/api/v1/subjects")
		var page struct {
			Subjects []struct {
				ID               int64
				Name             string
				Photos           int
				FirstReferenceID int64 `json:"first_reference_id"`
			}
			Total int
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &page) != nil {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
		if page.Total != 2 || len(page.Subjects) != 2 || page.Subjects[0].ID != p.subjectB || page.Subjects[1].Name != "R-1" ||
			page.Subjects[1].Photos != 2 || page.Subjects[1].FirstReferenceID != p.a1 {
			t.Fatalf("list: %s", body)
		}
		_, body = alice.get("/api/v1/subjects?q=r-1")
		if !strings.Contains(body, `"total": 1`) || !strings.Contains(body, `"R-1"`) {
			t.Fatalf("name filter: %s", body)
		}
	})
	t.Run("CursorPages", func(t *testing.T) {
		var seen []int64
		cursor := ""
		for i := 0; i < 5; i++ {
			path := "/api/v1/subjects?limit=1"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			resp, body := alice.get(path)
			var page struct {
				Subjects   []struct{ ID int64 }
				NextCursor string `json:"next_cursor"`
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &page) != nil {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
			for _, s := range page.Subjects {
				seen = append(seen, s.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if fmt.Sprint(seen) != fmt.Sprint([]int64{p.subjectB, p.subjectA}) {
			t.Fatalf("pages gave %v", seen)
		}
	})
	t.Run("Show", func(t *testing.T) {
		resp, body := alice.get("/api/v1/subjects/" + sa)
		var s struct {
			ID         int64
			Name       string
			Photos     int
			MergedInto *int64 `json:"merged_into"`
			Sex        string
			References []struct{ ID int64 }
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &s) != nil {
			t.Fatalf("show: %d %s", resp.StatusCode, body)
		}
		if s.ID != p.subjectA || s.Name != "R-1" || s.Photos != 2 || s.MergedInto != nil || s.Sex != "unknown" ||
			len(s.References) != 2 || s.References[0].ID != p.a1 || s.References[1].ID != p.a2 {
			t.Fatalf("show: %s", body)
		}
	})

	for _, c := range []struct {
		name   string
		who    *client
		method string
		path   string
		body   any
		status int
	}{
		{"ErrOfficerList", bob, http.MethodGet, "/api/v1/subjects", nil, http.StatusForbidden},
		{"ErrOfficerShow", bob, http.MethodGet, "/api/v1/subjects/" + sa, nil, http.StatusForbidden},
		{"ErrOfficerMerge", bob, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", map[string]any{"into": p.subjectA}, http.StatusForbidden},
		{"ErrOfficerMove", bob, http.MethodPost, "/api/v1/references/" + itoa(p.a2) + "/move", map[string]any{"subject_id": p.subjectB}, http.StatusForbidden},
		{"ErrBadLimit", alice, http.MethodGet, "/api/v1/subjects?limit=0", nil, http.StatusBadRequest},
		{"ErrBadCursor", alice, http.MethodGet, "/api/v1/subjects?cursor=abc", nil, http.StatusBadRequest},
		{"ErrShowNotANumber", alice, http.MethodGet, "/api/v1/subjects/x", nil, http.StatusNotFound},
		{"ErrShowMissing", alice, http.MethodGet, "/api/v1/subjects/999999", nil, http.StatusNotFound},
		{"ErrMergeBadID", alice, http.MethodPost, "/api/v1/subjects/0/merge", map[string]any{"into": p.subjectA}, http.StatusNotFound},
		{"ErrMergeMissing", alice, http.MethodPost, "/api/v1/subjects/999999/merge", map[string]any{"into": p.subjectA}, http.StatusNotFound},
		{"ErrMergeIntoMissing", alice, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", map[string]any{"into": 999999}, http.StatusNotFound},
		{"ErrMergeNoInto", alice, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", map[string]any{}, http.StatusBadRequest},
		{"ErrMergeIntoString", alice, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", map[string]any{"into": sa}, http.StatusBadRequest},
		{"ErrMergeIntoNegative", alice, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", map[string]any{"into": -1}, http.StatusBadRequest},
		{"ErrMergeIntoFraction", alice, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", map[string]any{"into": 1.5}, http.StatusBadRequest},
		{"ErrMergeNotJSON", alice, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", "into=1", http.StatusBadRequest},
		{"ErrMergeIntoItself", alice, http.MethodPost, "/api/v1/subjects/" + sa + "/merge", map[string]any{"into": p.subjectA}, http.StatusBadRequest},
		{"ErrMoveBadID", alice, http.MethodPost, "/api/v1/references/x/move", map[string]any{"subject_id": p.subjectB}, http.StatusNotFound},
		{"ErrMoveMissingRef", alice, http.MethodPost, "/api/v1/references/999999/move", map[string]any{"subject_id": p.subjectB}, http.StatusNotFound},
		{"ErrMoveToMissing", alice, http.MethodPost, "/api/v1/references/" + itoa(p.a2) + "/move", map[string]any{"subject_id": 999999}, http.StatusNotFound},
		{"ErrMoveNoSubject", alice, http.MethodPost, "/api/v1/references/" + itoa(p.a2) + "/move", map[string]any{"into": p.subjectB}, http.StatusBadRequest},
		{"Move", alice, http.MethodPost, "/api/v1/references/" + itoa(p.a2) + "/move", map[string]any{"subject_id": p.subjectB}, http.StatusOK},
		{"Merge", alice, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", map[string]any{"into": p.subjectA}, http.StatusOK},
		{"ErrMergeMergedAgain", alice, http.MethodPost, "/api/v1/subjects/" + sb + "/merge", map[string]any{"into": p.subjectA}, http.StatusConflict},
		{"ErrMergeIntoMerged", alice, http.MethodPost, "/api/v1/subjects/" + sa + "/merge", map[string]any{"into": p.subjectB}, http.StatusConflict},
		{"ErrMoveToMerged", alice, http.MethodPost, "/api/v1/references/" + itoa(p.a2) + "/move", map[string]any{"subject_id": p.subjectB}, http.StatusConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			var resp *http.Response
			var body string
			switch b := c.body.(type) {
			case nil:
				resp, body = c.who.get(c.path)
			case string:
				req, _ := http.NewRequest(c.method, e.ts.URL+c.path, strings.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				resp, body = c.who.do(req)
			default:
				resp, body = c.who.sendJSON(c.method, c.path, b)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.status, body)
			}
			if c.status >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("error as %q", resp.Header.Get("Content-Type"))
			}
		})
	}
	// The changes went through the gallery: audited, and the map of people
	// the search uses follows.
	for _, a := range []string{"reference_move", "subject_merge"} {
		if n := countActions(t, e, a); n != 1 {
			t.Errorf("%d %s audit rows, want 1", n, a)
		}
	}
	refs, err := e.db.ReferencesOfSubject(context.Background(), p.subjectA)
	if err != nil || len(refs) != 3 {
		t.Fatalf("after the merge person A has %d photos (%v), want 3", len(refs), err)
	}
	_, body := alice.get("/api/v1/subjects/" + sb)
	if !strings.Contains(body, fmt.Sprintf(`"merged_into": %d`, p.subjectA)) || !strings.Contains(body, `"photos": 0`) {
		t.Fatalf("the merged person: %s", body)
	}
}

// TestSubjectsAPITokens: reading people needs references:read, merging
// and moving references:write.
func TestSubjectsAPITokens(t *testing.T) {
	e := newEnv(t, nil)
	p := seedPeopleSearch(t, e)
	alice := mustLogin(t, e, "alice")
	read := createToken(t, alice, "people-read", "30", "references:read")
	write := createToken(t, alice, "people-write", "30", "references:read", "references:write")
	merge := fmt.Sprintf(`{"into": %d}`, p.subjectA)
	for _, c := range []struct {
		name, token, method, path, body string
		status                          int
	}{
		{"ReadList", read, http.MethodGet, "/api/v1/subjects", "", http.StatusOK},
		{"ReadShow", read, http.MethodGet, "/api/v1/subjects/" + itoa(p.subjectA), "", http.StatusOK},
		{"ErrReadMerge", read, http.MethodPost, "/api/v1/subjects/" + itoa(p.subjectB) + "/merge", merge, http.StatusForbidden},
		{"ErrReadMove", read, http.MethodPost, "/api/v1/references/" + itoa(p.b) + "/move", merge, http.StatusForbidden},
		{"WriteMove", write, http.MethodPost, "/api/v1/references/" + itoa(p.a2) + "/move", fmt.Sprintf(`{"subject_id": %d}`, p.subjectB), http.StatusOK},
		{"WriteMerge", write, http.MethodPost, "/api/v1/subjects/" + itoa(p.subjectB) + "/merge", merge, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.ts.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+c.token)
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if resp, body := e.client().do(req); resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.status, body)
			}
		})
	}
}

// TestSubjectsPage: the admin's list of people, linked from the gallery:
// a row per live person (name, photo count, thumbnail), a name filter,
// pages; officers are refused.
func TestSubjectsPage(t *testing.T) {
	e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "1000"})
	p := seedPeopleSearch(t, e)
	alice, bob := mustLogin(t, e, "alice"), mustLogin(t, e, "bob")
	if resp, _ := bob.get("/subjects"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("officer on the people list: %d", resp.StatusCode)
	}
	if _, body := alice.get("/references"); !strings.Contains(body, `href="/subjects"`) {
		t.Fatal("the gallery does not link to the people list")
	}
	for _, c := range []struct {
		name, path string
		want       []string
		not        []string
	}{
		{"All", "/subjects", []string{"2 people", `href="/subjects/` + itoa(p.subjectA) + `"`, "R-1", "2 photos", "1 photo<",
			`src="/references/` + itoa(p.a1) + `/thumb"`, `src="/references/` + itoa(p.b) + `/thumb"`, "Page 1 of 1"}, nil},
		{"Filter", "/subjects?q=r-1", []string{"1 person matching", "R-1"}, []string{"other person"}},
		{"NoMatch", "/subjects?q=nobody", []string{"Nobody’s name or record number contains"}, []string{"R-1"}},
		{"PageBeyond", "/subjects?page=9", []string{"Page 9 of 1", "Newer"}, []string{"R-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := alice.get(c.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", c.path, resp.StatusCode)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q", c.path, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(body, w) {
					t.Errorf("%s shows %q", c.path, w)
				}
			}
		})
	}
	// Merged people are not listed.
	if err := e.gal.MergeSubjects(context.Background(), gallery.Actor{Username: "alice"}, p.subjectB, p.subjectA); err != nil {
		t.Fatal(err)
	}
	if _, body := alice.get("/subjects"); !strings.Contains(body, "1 person.") || !strings.Contains(body, "3 photos") {
		t.Fatal("the list after a merge")
	}
}

// TestSubjectDescriptionForm: the person page edits the person's witness
// description (audited, validated as the reference form's, refused for an
// officer, an unknown or a merged person).
func TestSubjectDescriptionForm(t *testing.T) {
	e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "1000"})
	p := seedPeopleSearch(t, e)
	alice, bob := mustLogin(t, e, "alice"), mustLogin(t, e, "bob")
	sa, sb := itoa(p.subjectA), itoa(p.subjectB)
	if _, body := alice.get("/subjects/" + sa); !strings.Contains(body, `action="/subjects/`+sa+`/metadata"`) {
		t.Fatal("the person page has no description form")
	}
	good := url.Values{"sex": {"female"}, "birth_year": {"1984"}, "tags": {"Scar left cheek, tattoo"}}
	for _, c := range []struct {
		name   string
		who    *client
		path   string
		form   url.Values
		status int
		want   string
	}{
		{"ErrOfficer", bob, "/subjects/" + sa + "/metadata", good, http.StatusForbidden, ""},
		{"ErrNotANumber", alice, "/subjects/x/metadata", good, http.StatusNotFound, ""},
		{"ErrUnknownPerson", alice, "/subjects/999999/metadata", good, http.StatusNotFound, ""},
		{"ErrYear", alice, "/subjects/" + sa + "/metadata", url.Values{"sex": {"male"}, "birth_year": {"19x4"}, "tags": {"kept as typed"}}, http.StatusBadRequest, `value="kept as typed"`},
		{"ErrSex", alice, "/subjects/" + sa + "/metadata", url.Values{"sex": {"robot"}}, http.StatusBadRequest, ""},
		{"Save", alice, "/subjects/" + sa + "/metadata", good, http.StatusSeeOther, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := c.who.postForm(c.path, c.form)
			if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("status %d, want %d (and %q): %.300s", resp.StatusCode, c.status, c.want, body)
			}
		})
	}
	if n := countActions(t, e, "subject_update"); n != 1 {
		t.Fatalf("%d subject_update rows, want 1", n)
	}
	for _, ref := range []int64{p.a1, p.a2} {
		m, err := e.gal.Metadata(context.Background(), ref)
		if err != nil || m.Sex != "female" || m.BirthYear != 1984 || strings.Join(m.Tags, ",") != "scar left cheek,tattoo" {
			t.Fatalf("photo %d has %+v %v", ref, m, err)
		}
	}
	_, body := alice.get("/subjects/" + sa + "?done=described")
	if !strings.Contains(body, `value="1984"`) || !strings.Contains(body, "born 1984") {
		t.Fatal("the person page does not show the saved description")
	}
	// The API shows it too.
	if _, body := alice.get("/api/v1/subjects/" + sa); !strings.Contains(body, `"birth_year": 1984`) || !strings.Contains(body, `"sex": "female"`) {
		t.Fatalf("API: %s", body)
	}
	if err := e.gal.MergeSubjects(context.Background(), gallery.Actor{Username: "alice"}, p.subjectB, p.subjectA); err != nil {
		t.Fatal(err)
	}
	if resp, _ := alice.postForm("/subjects/"+sb+"/metadata", good); resp.StatusCode != http.StatusConflict {
		t.Fatalf("a merged person's description: %d", resp.StatusCode)
	}
}

// TestLabelEditAndPersonName: through the reference form, a photo that is
// its person's only one, with the person named after its label, takes the
// person's name along; a photo of a person with two photos does not.
func TestLabelEditAndPersonName(t *testing.T) {
	e := newEnv(t, nil)
	p := seedPeopleSearch(t, e)
	alice := mustLogin(t, e, "alice")
	for _, c := range []struct {
		name    string
		ref     int64
		subject int64
		want    string
	}{
		{"SolePhoto", p.b, p.subjectB, "renamed person"},
		{"OneOfTwo", p.a2, p.subjectA, "R-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := alice.postForm("/references/"+itoa(c.ref), url.Values{"label": {"renamed person"}, "notes": {""}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("label edit: %d %.300s", resp.StatusCode, body)
			}
			s, err := e.db.SubjectByID(context.Background(), c.subject)
			if err != nil || s.Name != c.want {
				t.Fatalf("the person is named %q (%v), want %q", s.Name, err, c.want)
			}
		})
	}
	if n := countActions(t, e, "subject_update"); n != 1 {
		t.Fatalf("%d subject_update rows, want 1 (the sole photo's person)", n)
	}
}
