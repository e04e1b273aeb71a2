package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Issue 13: the outcome table of a web upload shows each file's label in an
// input, and the admin corrects it right there (a plain form: no script).
func TestUploadOutcomeLabelsEditable(t *testing.T) {
	e := newEnv(t, nil)
	admin := mustLogin(t, e, "alice")
	files := map[string][]byte{"record-0412.png": testenvPNG(t, 1), "record-0413.png": testenvPNG(t, 2), "notes.txt": []byte("not an image")}
	resp, body := admin.postMultipart("/references", map[string]string{"label_from_filename": "1"}, "photos", files)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	if !strings.Contains(body, `action="/references/labels"`) {
		t.Fatal("the outcome has no labels form")
	}
	inputs := regexp.MustCompile(`<input type="hidden" name="ref" value="(\d+)">\s*<input id="label-\d+" name="label" type="text" maxlength="200" value="([^"]*)" aria-label="Label of ([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(inputs) != 2 {
		t.Fatalf("want 2 editable labels (the text file is not stored), got %d", len(inputs))
	}
	ids := map[string]string{} // label → reference id
	for _, m := range inputs {
		if want := strings.TrimSuffix(m[3], ".png"); m[2] != want {
			t.Errorf("row %s: label %q, want %q", m[3], m[2], want)
		}
		ids[m[2]] = m[1]
	}
	if !strings.Contains(body, "not stored") {
		t.Error("the rejected file's row does not say it was not stored")
	}
	ref0412, ref0413 := ids["record-0412"], ids["record-0413"]
	labelOf := func(id string) string {
		t.Helper()
		ref, err := e.db.ReferenceByID(context.Background(), int64(atoi(id)))
		if err != nil {
			t.Fatal(err)
		}
		return ref.Label
	}
	save := func(c *client, labels map[string]string) (*http.Response, string) {
		f := url.Values{}
		for _, id := range []string{ref0412, ref0413} {
			f.Add("ref", id)
			f.Add("label", labels[id])
		}
		return c.postForm("/references/labels", f)
	}

	t.Run("Corrected", func(t *testing.T) {
		before := len(auditActions(t, e.db))
		resp, body := save(admin, map[string]string{ref0412: "Jane Roe (record 412)", ref0413: "record-0413"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("save: %d", resp.StatusCode)
		}
		if got := labelOf(ref0412); got != "Jane Roe (record 412)" {
			t.Fatalf("label %q after the correction", got)
		}
		body = html.UnescapeString(body)
		for _, want := range []string{"1 label saved.", "label saved", "unchanged", `value="Jane Roe (record 412)"`, "record-0412.png"} {
			if !strings.Contains(body, want) {
				t.Errorf("the page after saving lacks %q", want)
			}
		}
		// One audit row: for the label that changed.
		acts := auditActions(t, e.db)[before:]
		n := 0
		for _, a := range acts {
			if strings.HasPrefix(a, "reference_update") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("audit rows after the save: %v, want one reference_update", acts)
		}
	})

	t.Run("InvalidLabelShownInItsRow", func(t *testing.T) {
		resp, body := save(admin, map[string]string{ref0412: "Jane Roe", ref0413: strings.Repeat("x", 201)})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("save: %d, want 400", resp.StatusCode)
		}
		if !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "too long") || !strings.Contains(body, "1 label was not saved") {
			t.Fatal("the refused label is not marked in its row")
		}
		if got := labelOf(ref0413); got != "record-0413" {
			t.Fatalf("an invalid label was stored: %q", got)
		}
		if got := labelOf(ref0412); got != "Jane Roe" {
			t.Fatalf("the valid label beside an invalid one was not saved: %q", got)
		}
	})

	t.Run("ControlCharacters", func(t *testing.T) {
		resp, _ := save(admin, map[string]string{ref0412: "a\x01b", ref0413: "record-0413"})
		if resp.StatusCode != http.StatusBadRequest || labelOf(ref0412) != "Jane Roe" {
			t.Fatalf("a label with control characters: %d, stored %q", resp.StatusCode, labelOf(ref0412))
		}
	})

	t.Run("MalformedForm", func(t *testing.T) {
		for name, f := range map[string]url.Values{
			"Unpaired": {"ref": {ref0412, ref0413}, "label": {"x"}},
			"Empty":    {},
			"BadID":    {"ref": {"abc"}, "label": {"x"}},
		} {
			if resp, _ := admin.postForm("/references/labels", f); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", name, resp.StatusCode)
			}
		}
	})

	t.Run("DeletedSince", func(t *testing.T) {
		resp, body := admin.postForm("/references/labels", url.Values{"ref": {"999"}, "label": {"x"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "deleted since the upload") {
			t.Fatalf("a deleted reference: %d", resp.StatusCode)
		}
	})

	t.Run("OfficerRefused", func(t *testing.T) {
		resp, _ := save(mustLogin(t, e, "bob"), map[string]string{ref0412: "mallory", ref0413: "x"})
		if resp.StatusCode != http.StatusForbidden || labelOf(ref0412) == "mallory" {
			t.Fatalf("an officer changed a label: %d", resp.StatusCode)
		}
	})
}

// A too-large gallery upload answers with the gallery form and the message
// on the page, not an error page that loses the form.
func TestGalleryFormTooLarge(t *testing.T) {
	e := newEnv(t, map[string]string{"MAX_UPLOAD_SIZE": "64K"})
	admin := mustLogin(t, e, "alice")
	big := map[string][]byte{"p.jpg": []byte(strings.Repeat("x", 200<<10))}
	resp, body := admin.postMultipart("/references", map[string]string{"notes": "n"}, "photos", big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, `action="/references"`) || !strings.Contains(body, "larger than the 64 KiB limit") {
		t.Fatalf("413: %d, form on the page %v", resp.StatusCode, strings.Contains(body, `action="/references"`))
	}
	if !strings.Contains(body, `role="alert"`) {
		t.Fatal("the message is not announced")
	}
	var n int
	e.db.QueryRow(`SELECT COUNT(*) FROM "references"`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d references stored from a refused upload", n)
	}
}
