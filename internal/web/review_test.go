package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// peopleSearch is a recorded search of bob's over two people: R-1 with
// two photos (a1 best) and a person with one photo (b).
type peopleSearch struct {
	searchID, subjectA, subjectB, a1, a2, b int64
}

func seedPeopleSearch(t *testing.T, e *testEnv) peopleSearch {
	t.Helper()
	ctx := context.Background()
	res := e.gal.Add(ctx, gallery.Actor{Username: "alice"}, []gallery.Upload{
		{Name: "a1.jpg", Data: testJPEG(t, 40), Subject: "R-1", Label: "2019 arrest"},
		{Name: "a2.jpg", Data: testJPEG(t, 41), Subject: "R-1", Label: "2023 arrest"},
		{Name: "b.jpg", Data: testJPEG(t, 42), Label: "other person"},
	})
	for _, r := range res {
		if r.Outcome != gallery.Added {
			t.Fatalf("seed %s: %s %s", r.Name, r.Outcome, r.Reason)
		}
	}
	p := peopleSearch{a1: res[0].Reference.ID, a2: res[1].Reference.ID, b: res[2].Reference.ID,
		subjectA: res[0].Reference.SubjectID, subjectB: res[2].Reference.SubjectID}
	if res[1].Reference.SubjectID != p.subjectA {
		t.Fatal("the two photos of R-1 are not one person")
	}
	sketch := testJPEG(t, 90)
	sum := sha256.Sum256(sketch)
	sha := hex.EncodeToString(sum[:])
	path := gallery.SketchPath(sha, ".jpg")
	if err := e.gal.Files().Write(path, sketch); err != nil {
		t.Fatal(err)
	}
	bob, err := e.srv.auth.GetUserByUsername(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	sr := &domain.Search{UserID: bob.ID, Username: bob.Username, CaseNumber: "C-16", SketchSHA256: sha, SketchPath: path,
		ModelID: "test", K: 2, GallerySize: 3, Results: []domain.SearchResult{
			{Rank: 1, ReferenceID: p.a1, Label: "2019 arrest", Score: 0.6, SubjectID: p.subjectA, SubjectName: "R-1", ReferenceIDs: []int64{p.a1, p.a2}},
			{Rank: 2, ReferenceID: p.b, Label: "other person", Score: 0.4, SubjectID: p.subjectB, SubjectName: "other person", ReferenceIDs: []int64{p.b}},
		}}
	if err := e.db.InsertSearch(ctx, sr, nil); err != nil {
		t.Fatal(err)
	}
	p.searchID = sr.ID
	return p
}

func (c *client) sendJSON(method, path string, body any) (*http.Response, string) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.e.ts.URL+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

func countActions(t *testing.T, e *testEnv, action string) int {
	n := 0
	for _, a := range auditActions(t, e.db) {
		if a == action+":success" {
			n++
		}
	}
	return n
}

// TestReviewJourney: the officer who searched marks candidates (API and
// form), filters to the unreviewed, closes with a conclusion; closed is
// read-only; an admin reopens; everything is audited and in the report.
func TestReviewJourney(t *testing.T) {
	e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "1000"})
	p := seedPeopleSearch(t, e)
	id := itoa(p.searchID)
	bob, carol, alice := mustLogin(t, e, "bob"), mustLogin(t, e, "carol"), mustLogin(t, e, "alice")

	t.Run("ResultShowsPeople", func(t *testing.T) {
		resp, body := bob.get("/searches/" + id)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d", resp.StatusCode)
		}
		for _, want := range []string{"R-1", "2 photos", "/searches/" + id + "/compare/1?photo=1", "/searches/" + id + "/reviews/" + itoa(p.subjectA),
			"Close the review", "0 referred"} {
			if !strings.Contains(body, want) {
				t.Errorf("the result page lacks %q", want)
			}
		}
		resp, body = bob.get("/searches/" + id + "/compare/1?photo=1")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "photo 2 of 2") || !strings.Contains(body, "/references/"+itoa(p.a2)+"/image") {
			t.Fatalf("compare photo 2: %d", resp.StatusCode)
		}
		if resp, _ := bob.get("/searches/" + id + "/compare/1?photo=2"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("compare past the last photo: %d", resp.StatusCode)
		}
		// An admin sees the search but is not offered the marks.
		if _, body := alice.get("/searches/" + id); strings.Contains(body, "Save the mark") {
			t.Fatal("an admin is offered review marks on another officer's search")
		}
	})

	reviewPath := func(subject int64) string { return "/api/v1/searches/" + id + "/reviews/" + itoa(subject) }
	for _, c := range []struct {
		name   string
		who    *client
		path   string
		body   map[string]any
		status int
	}{
		{"Possible", bob, reviewPath(p.subjectA), map[string]any{"mark": "possible", "note": "similar ears"}, http.StatusOK},
		{"ChangedToReferred", bob, reviewPath(p.subjectA), map[string]any{"mark": "referred", "note": "passed to CID"}, http.StatusOK},
		{"ErrBadMark", bob, reviewPath(p.subjectA), map[string]any{"mark": "maybe"}, http.StatusBadRequest},
		{"ErrNoteNotText", bob, reviewPath(p.subjectA), map[string]any{"mark": "possible", "note": 3}, http.StatusBadRequest},
		{"ErrNotACandidate", bob, reviewPath(987654), map[string]any{"mark": "possible"}, http.StatusNotFound},
		{"ErrAnotherOfficer", carol, reviewPath(p.subjectA), map[string]any{"mark": "excluded"}, http.StatusNotFound},
		{"ErrAdminOnAnothersSearch", alice, reviewPath(p.subjectA), map[string]any{"mark": "excluded"}, http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := c.who.sendJSON(http.MethodPut, c.path, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.status, body)
			}
		})
	}
	if got := countActions(t, e, "review_mark"); got != 2 {
		t.Fatalf("%d review_mark audit rows, want 2", got)
	}

	t.Run("FormMarkAndUnreviewedFilter", func(t *testing.T) {
		_, body := bob.get("/searches/" + id + "?unreviewed=1")
		if !strings.Contains(body, "other person") || strings.Contains(body, ">R-1<") {
			t.Fatal("the unreviewed filter does not hide the reviewed candidate")
		}
		resp, _ := bob.postForm("/searches/"+id+"/reviews/"+itoa(p.subjectB), url.Values{"mark": {"excluded"}, "note": {"different nose"}, "unreviewed": {"1"}})
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/searches/"+id+"?unreviewed=1") {
			t.Fatalf("form mark: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, body = bob.get("/searches/" + id + "?unreviewed=1")
		if !strings.Contains(body, "Every candidate has been reviewed.") {
			t.Fatal("the unreviewed filter still lists candidates")
		}
		resp, body = bob.postForm("/searches/"+id+"/reviews/"+itoa(p.subjectB), url.Values{"mark": {"bogus"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "excluded, possible or referred") {
			t.Fatalf("bad form mark: %d", resp.StatusCode)
		}
	})

	t.Run("APIShowsReviews", func(t *testing.T) {
		resp, body := bob.get("/api/v1/searches/" + id)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var out struct {
			Candidates []struct {
				SubjectID    *int64  `json:"subject_id"`
				SubjectName  string  `json:"subject_name"`
				ReferenceIDs []int64 `json:"reference_ids"`
				Review       *struct{ Mark, Note string }
			}
			ReviewState struct{ Closed bool } `json:"review_state"`
		}
		json.Unmarshal([]byte(body), &out)
		c := out.Candidates[0]
		if c.SubjectID == nil || *c.SubjectID != p.subjectA || c.SubjectName != "R-1" || fmt.Sprint(c.ReferenceIDs) != fmt.Sprint([]int64{p.a1, p.a2}) {
			t.Fatalf("candidate %+v", c)
		}
		if c.Review == nil || c.Review.Mark != "referred" || c.Review.Note != "passed to CID" || out.ReviewState.Closed {
			t.Fatalf("review %+v closed=%v", c.Review, out.ReviewState.Closed)
		}
	})

	t.Run("HistoryCounts", func(t *testing.T) {
		if _, body := bob.get("/searches"); !strings.Contains(body, "1 referred · 0 possible") {
			t.Fatal("history does not count the marks")
		}
		if _, body := bob.get("/searches.csv"); !strings.Contains(body, ",review,referred,possible,excluded") || !strings.Contains(body, ",open,1,0,1") {
			t.Fatalf("the history export lacks the review columns:\n%s", body)
		}
	})

	t.Run("Close", func(t *testing.T) {
		if resp, _ := carol.sendJSON(http.MethodPost, "/api/v1/searches/"+id+"/close", map[string]any{"conclusion": "x"}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("another officer closes: %d", resp.StatusCode)
		}
		resp, body := bob.sendJSON(http.MethodPost, "/api/v1/searches/"+id+"/close", map[string]any{"conclusion": "R-1 referred to CID."})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"closed": true`) {
			t.Fatalf("close: %d %s", resp.StatusCode, body)
		}
		resp, body = bob.sendJSON(http.MethodPut, reviewPath(p.subjectB), map[string]any{"mark": "possible"})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "closed") {
			t.Fatalf("mark on a closed search: %d %s", resp.StatusCode, body)
		}
		resp, _ = bob.postForm("/searches/"+id+"/close", url.Values{"conclusion": {"again"}})
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("close twice through the form: %d", resp.StatusCode)
		}
		_, body = bob.get("/searches/" + id)
		if !strings.Contains(body, "Review closed") || !strings.Contains(body, "R-1 referred to CID.") || strings.Contains(body, "Save the mark") {
			t.Fatal("the closed result page still offers marks or lacks the conclusion")
		}
		if countActions(t, e, "search_close") != 1 {
			t.Fatal("no search_close audit row")
		}
	})

	t.Run("Report", func(t *testing.T) {
		resp, body := bob.get("/searches/" + id + "/report.pdf")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF-") {
			t.Fatalf("report: %d", resp.StatusCode)
		}
		pdftotext, err := exec.LookPath("pdftotext")
		if err != nil {
			t.Skip("pdftotext not installed")
		}
		path := filepath.Join(t.TempDir(), "r.pdf")
		os.WriteFile(path, []byte(body), 0o644)
		out, err := exec.Command(pdftotext, "-layout", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(out)), " ")
		for _, want := range []string{"R-1", "REFERRED", "passed to CID", "EXCLUDED", "Conclusion: R-1 referred to CID.", "Every listed candidate was reviewed."} {
			if !strings.Contains(text, want) {
				t.Errorf("the report lacks %q", want)
			}
		}
	})

	t.Run("Supervision", func(t *testing.T) {
		if resp, _ := bob.get("/admin/reviews"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("officer on the supervision list: %d", resp.StatusCode)
		}
		_, body := alice.get("/admin/reviews?state=referred")
		if !strings.Contains(body, `href="/searches/`+id+`"`) {
			t.Fatal("the referred list lacks the search")
		}
		_, body = alice.get("/admin/reviews?state=open")
		if strings.Contains(body, `href="/searches/`+id+`"`) {
			t.Fatal("a closed search is listed as open")
		}
	})

	t.Run("Reopen", func(t *testing.T) {
		if resp, _ := bob.postForm("/searches/"+id+"/reopen", nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("officer reopens: %d", resp.StatusCode)
		}
		resp, body := alice.sendJSON(http.MethodPost, "/api/v1/searches/"+id+"/reopen", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"closed": false`) {
			t.Fatalf("reopen: %d %s", resp.StatusCode, body)
		}
		if resp, _ := alice.postForm("/searches/"+id+"/reopen", nil); resp.StatusCode != http.StatusConflict {
			t.Fatalf("reopen an open search: %d", resp.StatusCode)
		}
		if resp, body := bob.sendJSON(http.MethodPut, reviewPath(p.subjectB), map[string]any{"mark": "possible"}); resp.StatusCode != http.StatusOK {
			t.Fatalf("mark after reopen: %d %s", resp.StatusCode, body)
		}
		if countActions(t, e, "search_reopen") != 1 {
			t.Fatal("no search_reopen audit row")
		}
	})
}

// TestSubjectPages: an admin merges two people and moves a photo; each is
// audited; officers cannot.
func TestSubjectPages(t *testing.T) {
	e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "1000"})
	p := seedPeopleSearch(t, e)
	alice, bob := mustLogin(t, e, "alice"), mustLogin(t, e, "bob")
	sa, sb := itoa(p.subjectA), itoa(p.subjectB)
	if resp, _ := bob.get("/subjects/" + sa); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("officer on a person page: %d", resp.StatusCode)
	}
	resp, body := alice.get("/subjects/" + sa)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "2019 arrest") || !strings.Contains(body, "2023 arrest") {
		t.Fatalf("person page: %d", resp.StatusCode)
	}
	for _, c := range []struct {
		name, path string
		form       url.Values
		status     int
	}{
		{"ErrMergeIntoItself", "/subjects/" + sa + "/merge", url.Values{"into": {sa}}, http.StatusBadRequest},
		{"ErrMergeNotANumber", "/subjects/" + sa + "/merge", url.Values{"into": {"x"}}, http.StatusBadRequest},
		{"ErrMoveToMissing", "/references/" + itoa(p.a2) + "/subject", url.Values{"subject_id": {"999999"}}, http.StatusNotFound},
		{"Rename", "/subjects/" + sa, url.Values{"name": {"R-0001"}}, http.StatusSeeOther},
		{"Move", "/references/" + itoa(p.a2) + "/subject", url.Values{"subject_id": {sb}}, http.StatusSeeOther},
		{"Merge", "/subjects/" + sb + "/merge", url.Values{"into": {sa}}, http.StatusSeeOther},
		{"ErrMergeAgain", "/subjects/" + sb + "/merge", url.Values{"into": {sa}}, http.StatusConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := alice.postForm(c.path, c.form)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.status, body)
			}
		})
	}
	for _, a := range []string{"subject_update", "reference_move", "subject_merge"} {
		if countActions(t, e, a) != 1 {
			t.Errorf("want one %s audit row", a)
		}
	}
	refs, _ := e.db.ReferencesOfSubject(context.Background(), p.subjectA)
	if len(refs) != 3 {
		t.Fatalf("after the merge person A has %d photos, want 3", len(refs))
	}
	_, body = alice.get("/subjects/" + sb)
	if !strings.Contains(body, "was merged into") {
		t.Fatal("the merged person's page does not say so")
	}
	// The old search still names the people as they were.
	_, body = bob.get("/searches/" + itoa(p.searchID))
	if !strings.Contains(body, "R-1") || !strings.Contains(body, "other person") {
		t.Fatal("the recorded search lost its names")
	}
}

// TestUploadToSubject: the web upload adds photos to an existing person.
func TestUploadToSubject(t *testing.T) {
	e := newEnv(t, nil)
	p := seedPeopleSearch(t, e)
	alice := mustLogin(t, e, "alice")
	resp, body := alice.postMultipart("/api/v1/references", map[string]string{"subject_id": itoa(p.subjectB)}, "photos",
		map[string][]byte{"new.jpg": testJPEG(t, 77)})
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, fmt.Sprintf(`"subject_id": %d`, p.subjectB)) {
		t.Fatalf("upload to a person: %d %s", resp.StatusCode, body)
	}
	resp, body = alice.postMultipart("/api/v1/references", map[string]string{"subject": "R-1"}, "photos",
		map[string][]byte{"new2.jpg": testJPEG(t, 78)})
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, fmt.Sprintf(`"subject_id": %d`, p.subjectA)) {
		t.Fatalf("upload by record number: %d %s", resp.StatusCode, body)
	}
}
