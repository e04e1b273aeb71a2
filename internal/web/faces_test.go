package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

type apiRefJSON struct {
	ID         int64
	Searchable bool
	Flags      []string
	Face       *struct {
		Found         bool
		Manual        bool
		Confidence    float64
		Box           []int
		InterocularPx float64 `json:"interocular_px"`
		Faces         int
	}
}

type apiSearchJSON struct {
	SearchID    int64  `json:"search_id"`
	FaceFound   bool   `json:"face_found"`
	FaceSource  string `json:"face_source"`
	GallerySize int    `json:"gallery_size"`
	Candidates  []struct {
		ReferenceID int64   `json:"reference_id"`
		Band        *string `json:"band"`
		BandText    string  `json:"band_text"`
	}
}

// Face gates through the browser form and the API with the real model:
// non-faces and a photo of two people are stored and flagged, the
// non-faces never come back from a search, a sketch without a face is
// refused unless searched anyway (then without any band), and a box drawn
// by an admin makes a reference searchable.
func TestFaceGates(t *testing.T) {
	enc := testenv.Encoder(t)
	pairs := testenv.DevPairs(t)
	e := newEnvWith(t, nil, enc)
	admin := mustLogin(t, e, "alice")
	nonFaces := testenv.NonFaces(t)

	// Through the browser form: the per-file outcome says "not searchable".
	files := map[string][]byte{"two-people.jpg": testenv.TwoFaces(t)}
	for _, n := range []string{"gradient.png", "text.png", "landscape.png"} {
		files[n] = nonFaces[n]
	}
	for i, p := range pairs[2:8] {
		data, err := os.ReadFile(p.Photo)
		if err != nil {
			t.Fatal(err)
		}
		files[fmt.Sprintf("person-%d.jpg", i)] = data
	}
	resp, body := admin.postMultipart("/references", nil, "photos", files)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if n := strings.Count(body, "No face was detected: this photo is stored but not searched"); n != 3 {
		t.Fatalf("upload outcome names %d photos without a face, want 3", n)
	}
	if !strings.Contains(body, "2 faces were detected") {
		t.Fatal("upload outcome does not flag the photo of two people")
	}

	// The API says the same per reference.
	_, body = admin.get("/api/v1/references?limit=100")
	var list struct{ References []apiRefJSON }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	noFace := map[int64]bool{}
	searchable := 0
	for _, r := range list.References {
		if r.Face == nil {
			t.Fatalf("reference %d has no face record", r.ID)
		}
		switch {
		case !r.Face.Found:
			noFace[r.ID] = true
			if r.Searchable || len(r.Flags) != 1 || r.Flags[0] != "no-face" || len(r.Face.Box) != 0 {
				t.Errorf("non-face %d: %+v", r.ID, r)
			}
		case r.Face.Faces == 2:
			if !r.Searchable || !strings.Contains(strings.Join(r.Flags, ","), "several-faces") {
				t.Errorf("two people %d: %+v", r.ID, r)
			}
			searchable++
		default:
			if !r.Searchable || len(r.Face.Box) != 4 || r.Face.InterocularPx < 30 || r.Face.Confidence < 0.5 {
				t.Errorf("face %d: %+v", r.ID, r.Face)
			}
			searchable++
		}
	}
	if len(noFace) != 3 || searchable != 7 {
		t.Fatalf("%d without a face and %d searchable, want 3 and 7", len(noFace), searchable)
	}
	_, body = admin.get("/references")
	if n := strings.Count(body, "no face: not searchable"); n != 3 {
		t.Fatalf("the gallery page badges %d references as not searchable, want 3", n)
	}

	search := func(sketch []byte, fields map[string]string) (*http.Response, apiSearchJSON, string) {
		resp, body := admin.postMultipart("/api/v1/search", fields, "sketch", map[string][]byte{"s.png": sketch})
		var out apiSearchJSON
		json.Unmarshal([]byte(body), &out)
		return resp, out, body
	}

	// A probe without a face: refused with a clear message, nothing recorded.
	resp, _, body = search(nonFaces["gradient2.png"], map[string]string{"k": "20"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No face was detected in the sketch") {
		t.Fatalf("no-face sketch without consent: %d %s", resp.StatusCode, body)
	}
	// The browser form answers 422 and the header the page's script reads.
	resp, body = admin.postMultipart("/search", map[string]string{"k": "20"}, "sketch", map[string][]byte{"s.png": nonFaces["gradient2.png"]})
	if resp.StatusCode != http.StatusUnprocessableEntity || resp.Header.Get("X-Sketch-No-Face") != "1" ||
		!strings.Contains(body, "Search without a detected face") {
		t.Fatalf("form: %d %q", resp.StatusCode, resp.Header.Get("X-Sketch-No-Face"))
	}
	// Searched anyway: no band at all, recorded as such.
	resp, out, body := search(nonFaces["gradient2.png"], map[string]string{"k": "20", "allow_no_face": "true"})
	if resp.StatusCode != http.StatusOK || out.FaceFound || out.FaceSource != "none" || out.GallerySize != 7 {
		t.Fatalf("searched anyway: %d %s", resp.StatusCode, body)
	}
	for _, c := range out.Candidates {
		if noFace[c.ReferenceID] {
			t.Fatalf("a reference without a face was returned: %d", c.ReferenceID)
		}
		if c.Band != nil || !strings.Contains(c.BandText, "No confidence can be given") {
			t.Fatalf("candidate of a faceless sketch has band %v %q", c.Band, c.BandText)
		}
	}
	_, page := admin.get(fmt.Sprintf("/searches/%d", out.SearchID))
	if !strings.Contains(page, "no confidence can be given") || strings.Contains(page, "band-high") {
		t.Fatal("the result page of a faceless search shows a band or lacks the warning")
	}
	if acts := strings.Join(auditDetails(t, e), "\n"); !strings.Contains(acts, "face=none") {
		t.Fatal("the audit row does not record the search ran without a face")
	}

	// A real sketch: a face, and still never a non-face reference.
	sk, _ := os.ReadFile(pairs[2].Sketch)
	_, out, body = search(sk, map[string]string{"k": "20"})
	if !out.FaceFound || out.FaceSource != "detected" || len(out.Candidates) != 7 {
		t.Fatalf("dev sketch: %s", body)
	}
	for _, c := range out.Candidates {
		if noFace[c.ReferenceID] {
			t.Fatalf("a reference without a face was returned: %d", c.ReferenceID)
		}
	}

	// A box drawn by an admin makes a reference searchable.
	var grad int64
	for id := range noFace {
		grad = id
		break
	}
	resp, _ = admin.postForm(fmt.Sprintf("/references/%d/face", grad), url.Values{"face_box": {"900,900,1000,1000"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a box outside the photo: %d", resp.StatusCode)
	}
	resp, _ = admin.postForm(fmt.Sprintf("/references/%d/face", grad), url.Values{"face_box": {"1,2,3"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed box: %d", resp.StatusCode)
	}
	resp, _ = admin.postForm(fmt.Sprintf("/references/%d/face", grad), url.Values{"face_box": {"20,20,200,200"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("marking the face: %d", resp.StatusCode)
	}
	_, body = admin.get(resp.Header.Get("Location"))
	if !strings.Contains(body, "searchable now") || !strings.Contains(body, "marked by hand") {
		t.Fatal("the reference page does not confirm the hand-marked face")
	}
	_, body = admin.get("/api/v1/references?limit=100")
	json.Unmarshal([]byte(body), &list)
	for _, r := range list.References {
		if r.ID == grad && (!r.Searchable || !r.Face.Manual || fmt.Sprint(r.Face.Box) != "[20 20 200 200]") {
			t.Fatalf("after marking: %+v %+v", r, r.Face)
		}
	}
	_, out, _ = search(sk, map[string]string{"k": "20"})
	if len(out.Candidates) != 8 {
		t.Fatalf("%d candidates after marking a face, want 8", len(out.Candidates))
	}
	// An officer cannot mark faces.
	officer := mustLogin(t, e, "bob")
	if resp, _ := officer.postForm(fmt.Sprintf("/references/%d/face", grad), url.Values{"face_box": {"20,20,200,200"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("officer marking a face: %d", resp.StatusCode)
	}
}

func auditDetails(t *testing.T, e *testEnv) []string {
	t.Helper()
	rows, _, err := e.db.ListAudit(t.Context(), 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Action+" "+r.Details)
	}
	return out
}
