package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// dragBox drags the mouse across the image in sel from (fx0,fy0) to
// (fx1,fy1), given as fractions of the image's displayed size, as a person
// draws a face box.
func (b *browser) dragBox(sel string, fx0, fy0, fx1, fy1 float64) {
	b.t.Helper()
	r := evaluate[[]float64](b, fmt.Sprintf(`(function () { var r = document.querySelector(%q).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`, sel))
	x0, y0 := r[0]+fx0*r[2], r[1]+fy0*r[3]
	x1, y1 := r[0]+fx1*r[2], r[1]+fy1*r[3]
	ev := func(typ input.DispatchMouseEventType, x, y float64, buttons int64) input.DispatchMouseEventParams {
		p := input.DispatchMouseEventParams{Type: typ, X: x, Y: y, Buttons: buttons}
		if typ != input.DispatchMouseEventTypeMouseMoved {
			p.Button, p.ClickCount = input.MouseButtonLeft, 1
		}
		return p
	}
	steps := []input.DispatchMouseEventParams{
		ev(input.DispatchMouseEventTypeMouseMoved, x0, y0, 0),
		ev(input.DispatchMouseEventTypeMousePressed, x0, y0, 1),
	}
	for k := 1; k <= 8; k++ {
		f := float64(k) / 8
		steps = append(steps, ev(input.DispatchMouseEventTypeMouseMoved, x0+(x1-x0)*f, y0+(y1-y0)*f, 1))
	}
	steps = append(steps, ev(input.DispatchMouseEventTypeMouseReleased, x1, y1, 0))
	run(b, "drag a box over "+sel, chromedp.Action[bool](func(ctx context.Context, t *chromedp.Target) (bool, error) {
		for _, s := range steps {
			if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, s); err != nil {
				return false, err
			}
		}
		return true, nil
	}))
}

// TestBrowserFaceGates: an admin uploads a photo with no face and a real
// (synthetic) face; the outcome says which is not searchable; the admin
// draws the face box on the reference page and it becomes searchable. An
// officer searching with a faceless image is asked, on the same page and
// with the file still chosen, to draw the face or to search anyway; a
// search run anyway shows no confidence band at all.
func TestBrowserFaceGates(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser journey in -short mode")
	}
	ortLib := testenv.ORTLibrary(t)
	modelDir := testenv.ModelDir(t)
	chromiumPath(t)
	srv := startServer(t, ortLib, filepath.Dir(modelDir))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log (tail):\n%s", srv.logTail(60))
		}
	})
	srv.cli(t, adminPass+"\n", "user", "add", "--username", adminUser, "--role", "admin", "--password-stdin")
	dir := t.TempDir()
	photos, _ := testenv.SynthSet(t, dir, 3, testenv.SynthSeed)
	nonFaces := testenv.NonFaces(t)
	grad := filepath.Join(dir, "gradient.png")
	probe := filepath.Join(dir, "not-a-face.png")
	os.WriteFile(grad, nonFaces["gradient.png"], 0o644)
	os.WriteFile(probe, nonFaces["gradient2.png"], 0o644)

	shots := shotDir(t, "faces")
	docs := os.Getenv("SKETCHMATCH_SCREENSHOTS")
	if docs != "" && !filepath.IsAbs(docs) {
		docs = filepath.Join(testenv.Root(), docs)
	}
	b := newBrowser(t, srv.URL, shots)
	b.expectPage(b.navigate("/login"), 200, "/login")
	signIn(b, adminUser, adminPass)

	// Upload: the non-face is stored and flagged, the faces are searchable.
	b.expectPage(b.navigate("/references"), 200, "/references")
	b.do("choose photos", chromedp.SetUploadFiles(chromedp.CSS("#photos"), append([]string{grad}, photos...)))
	b.expectPage(b.click(`form[action="/references"] button[type=submit]`), 200, "/references")
	outcomes := b.text("table.outcomes")
	if !strings.Contains(outcomes, "gradient.png") || !strings.Contains(outcomes, "No face was detected: this photo is stored but not searched") {
		b.fatalf("upload outcome does not flag the non-face:\n%s", outcomes)
	}
	if n := evaluate[int](b, `document.querySelectorAll("ul.gallery .tag.bad").length`); n != 1 {
		b.fatalf("%d gallery entries badged not searchable, want 1", n)
	}
	b.checkpoint("upload-with-a-non-face")
	href := evaluate[string](b, `(function () { var li = Array.from(document.querySelectorAll("table.outcomes tbody tr")).find(function (l) { return l.textContent.indexOf("gradient.png") >= 0; }); return li.querySelector("a").getAttribute("href"); })()`)

	// The admin marks the face by hand on the reference page.
	b.expectPage(b.navigate(href), 200, href)
	b.imagesLoaded(".facebox img")
	if !strings.Contains(b.text(".flash.err"), "Not searchable") {
		b.fatalf("the reference page does not say the photo is not searchable")
	}
	b.dragBox(".facebox img", 0.2, 0.15, 0.8, 0.85)
	box := evaluate[string](b, `document.getElementById("face_box").value`)
	if !regexp.MustCompile(`^\d+,\d+,\d+,\d+$`).MatchString(box) {
		b.fatalf("drawing a box left face_box = %q", box)
	}
	b.checkpoint("reference-box-drawn")
	if docs != "" {
		b.docShot(filepath.Join(docs, "reference-face.png"))
	}
	b.expectPage(b.click(`form[action$="/face"] button[type=submit]`), 200, href)
	if got := b.text(".flash.ok"); !strings.Contains(got, "searchable now") {
		b.fatalf("after saving the box: %q", got)
	}
	if !strings.Contains(b.text("dl.meta"), "marked by hand") {
		b.fatalf("the face record does not say the face was marked by hand")
	}
	b.checkpoint("reference-face-marked")

	// A faceless sketch: the page asks, without losing the chosen file.
	b.expectPage(b.navigate("/"), 200, "/")
	b.do("choose the sketch", chromedp.SetUploadFiles(chromedp.CSS("#sketch"), []string{probe}))
	run(b, "wait for the preview", chromedp.Poll[bool](`(function () { var i = document.getElementById("sketch-preview"); return !i.hidden && i.complete && i.naturalWidth > 0; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond)))
	b.do("search", chromedp.Click(`form[action="/search"] button[type=submit]`, chromedp.NodeVisible))
	b.waitVisible("#noface-prompt")
	if n := evaluate[int](b, `document.getElementById("sketch").files.length`); n != 1 {
		b.fatalf("the chosen sketch was lost (%d files)", n)
	}
	b.checkpoint("search-no-face-prompt", allowStatus(422, "/search"))
	if docs != "" {
		b.docShot(filepath.Join(docs, "search-no-face.png"))
	}

	// Searched anyway: the results carry no band, and say why.
	b.do("tick search anyway", chromedp.Click(`input[name="allow_no_face"]`, chromedp.NodeVisible))
	resp := b.click(`form[action="/search"] button[type=submit]`)
	b.expectPage(resp, 200, "")
	if !regexp.MustCompile(`/searches/\d+$`).MatchString(resp.URL) {
		b.fatalf("search anyway landed on %s", resp.URL)
	}
	b.waitVisible("ol.candidates li.candidate")
	if got := b.text(".flash.warn"); !strings.Contains(got, "no confidence can be given") {
		b.fatalf("the faceless result lacks the warning: %q", got)
	}
	if n := evaluate[int](b, `document.querySelectorAll(".band-high, .band-mid, .band-low").length`); n != 0 {
		b.fatalf("%d bands shown for a faceless search", n)
	}
	b.checkpoint("results-no-face")

	// With a box drawn on the sketch instead, the face is "marked by hand".
	b.expectPage(b.navigate("/"), 200, "/")
	b.do("choose the sketch", chromedp.SetUploadFiles(chromedp.CSS("#sketch"), []string{probe}))
	run(b, "wait for the preview", chromedp.Poll[bool](`(function () { var i = document.getElementById("sketch-preview"); return !i.hidden && i.complete && i.naturalWidth > 0; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond)))
	b.dragBox("#sketch-preview", 0.25, 0.2, 0.75, 0.8)
	resp = b.click(`form[action="/search"] button[type=submit]`)
	b.expectPage(resp, 200, "")
	b.waitVisible("ol.candidates li.candidate")
	if got := b.text("dl.meta"); !strings.Contains(got, "marked by hand") {
		b.fatalf("the result does not say the face was marked by hand:\n%s", got)
	}
	b.checkpoint("results-box-on-sketch")
}
