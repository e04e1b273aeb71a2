package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// galleryBatch is one submission of the gallery upload form.
type galleryBatch struct {
	Files        []string // paths; the server sees only the base names
	Label, Notes string
	// FromFileName ticks "label each photo with its file name"; Relabel
	// then corrects some of them in the outcome table (base name → label).
	FromFileName bool
	Relabel      map[string]string
}

// journey is what one run of the browser journey uses.
type journey struct {
	Gallery []galleryBatch
	Target  string // base name of the gallery file showing the sketched person
	Sketch  string // path of the sketch
	CaseNo  string
	K       int
	TopN    int    // the true photo must rank within the first TopN
	Shots   string // where the step screenshots go
	Docs    string // if set, the published screenshots go here
}

const (
	adminUser, adminPass     = "admin", "amber falcon meadow 4419"
	officerUser, officerPass = "officer.jones", "quiet river lantern 7781"
)

type candidate struct {
	Rank  int     `json:"rank"`
	Label string  `json:"label"`
	Ref   int64   `json:"ref"`
	Score float64 `json:"score"`
}

// runJourney drives the admin's and the officer's journey through a fresh
// server: sign-in, users, gallery upload, a person's page, search, compare,
// the review (a mark, the unreviewed filter, closing), history, the 403
// page, sign-out and the back button, with no console errors and no CSP
// violations on any page.
func runJourney(t *testing.T, j journey) {
	ortLib := testenv.ORTLibrary(t)
	modelDir := testenv.ModelDir(t)
	chromiumPath(t) // skip before building anything when there is no browser
	began := time.Now()
	srv := startServer(t, ortLib, filepath.Dir(modelDir))
	t.Logf("server ready at %s in %v (log: %s)", srv.URL, time.Since(began).Round(time.Millisecond), srv.logPath)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log (tail):\n%s", srv.logTail(60))
		}
	})
	srv.cli(t, adminPass+"\n", "user", "add", "--username", adminUser, "--role", "admin", "--password-stdin")

	b := newBrowser(t, srv.URL, j.Shots)
	t.Logf("step screenshots: %s", j.Shots)
	docShot := func(name string) {
		if j.Docs != "" {
			b.docShot(filepath.Join(j.Docs, name+".png"))
			switch name {
			case "search", "results", "history", "upload-labels", "login-failed", "users", "audit", "not-found":
				b.docShotMobile(filepath.Join(j.Docs, name+".png"))
			}
		}
	}

	// 1. The admin signs in, creates an officer, fills the gallery.
	b.expectPage(b.navigate("/login"), 200, "/login")
	b.checkpoint("login")
	// A wrong password: the same answer for every failure, the lockout
	// policy beside the form, and the focus in the password field.
	b.setValue("#username", adminUser)
	b.setValue("#password", "not the password")
	b.expectPage(b.click(`form[action="/login"] button[type=submit]`), 401, "/login")
	if got := b.text(".login .flash.err"); !strings.Contains(got, "Invalid username or password.") || !strings.Contains(got, "After 5 failed attempts an account is locked for 15 minutes; an administrator can unlock it.") {
		b.fatalf("after a failed sign-in the page says %q", got)
	}
	if got := evaluate[string](b, `document.activeElement ? document.activeElement.id : ""`); got != "password" {
		b.t.Errorf("after a failed sign-in the focus is on %q, want the password field", got)
	}
	b.checkpoint("login-failed", allowStatus(401, "/login"))
	docShot("login-failed")
	signIn(b, adminUser, adminPass)
	b.checkpoint("admin-home")

	b.expectPage(b.navigate("/admin/users"), 200, "/admin/users")
	b.setValue("#new-username", officerUser)
	b.setValue("#new-role", "officer")
	b.setValue("#new-password", officerPass)
	b.setValue("#new-password2", officerPass)
	b.expectPage(b.click(`form[action="/admin/users"] button`), 200, "/admin/users")
	if got := b.text("table.table tbody"); !strings.Contains(got, officerUser) || !strings.Contains(got, "officer") {
		b.fatalf("users table after creating %s:\n%s", officerUser, got)
	}
	b.checkpoint("officer-created")

	// A second officer mistypes the password five times and is locked.
	srv.cli(t, officerPass+"\n", "user", "add", "--username", lockedUser, "--role", "officer", "--password-stdin")
	for i := 0; i < 5; i++ {
		if st := srv.postLogin(t, lockedUser, "wrong password "+strconv.Itoa(i)); st != 401 {
			t.Fatalf("failed sign-in %d of %s: status %d, want 401", i+1, lockedUser, st)
		}
	}

	refIDs := map[string]int64{} // base name → reference id
	var total int
	b.expectPage(b.navigate("/references"), 200, "/references")
	for i, batch := range j.Gallery {
		b.do("choose photos", chromedp.SetUploadFiles(chromedp.CSS("#photos"), batch.Files))
		if batch.Label != "" {
			b.setValue("#label", batch.Label)
		}
		b.setValue("#notes", batch.Notes)
		if batch.FromFileName {
			evaluate[bool](b, `document.querySelector("input[name=label_from_filename]").checked = true`)
		}
		b.expectPage(b.click(`form[action="/references"] button[type=submit]`), 200, "/references")
		outs := outcomeRows(b)
		if len(outs) != len(batch.Files) {
			b.fatalf("upload %d: %d outcomes listed for %d files", i+1, len(outs), len(batch.Files))
		}
		for _, f := range batch.Files {
			name := filepath.Base(f)
			found := false
			for _, o := range outs {
				if !strings.Contains(o.Text, name) {
					continue
				}
				found = true
				id, err := strconv.ParseInt(strings.TrimPrefix(o.Href, "/references/"), 10, 64)
				if o.Outcome != "added" || err != nil {
					b.fatalf("upload of %s: outcome %q, link %q: %s", name, o.Outcome, o.Href, strings.Join(strings.Fields(o.Text), " "))
				}
				refIDs[name] = id
			}
			if !found {
				b.fatalf("upload of %s: not in the outcome list", name)
			}
		}
		total += len(batch.Files)
		if batch.FromFileName {
			for _, o := range outs {
				if want := strings.TrimSuffix(o.File, filepath.Ext(o.File)); o.Label != want {
					b.t.Errorf("upload of %s: label %q in the outcome table, want %q (from the file name)", o.File, o.Label, want)
				}
			}
		}
		b.checkpoint(fmt.Sprintf("gallery-upload-%d", i+1))
		if len(batch.Relabel) > 0 {
			// The admin corrects labels right in the outcome table.
			for name, label := range batch.Relabel {
				sel := fmt.Sprintf(`table.outcomes input[name=label][aria-label=%q]`, "Label of "+name)
				if !b.exists(sel) {
					b.fatalf("no label field for %s in the outcome table", name)
				}
				b.setValue(sel, label)
			}
			b.expectPage(b.click(`form[action="/references/labels"] button[type=submit]`), 200, "/references/labels")
			for _, o := range outcomeRows(b) {
				if want, ok := batch.Relabel[o.File]; ok && (o.Label != want || o.Outcome != "label saved") {
					b.t.Errorf("after correcting %s: outcome %q, label %q, want %q saved", o.File, o.Outcome, o.Label, want)
				}
			}
			b.checkpoint(fmt.Sprintf("gallery-labels-%d", i+1))
			docShot("upload-labels")
		}
	}
	if got := evaluate[int](b, `document.querySelectorAll("ul.gallery li .tag.good").length`); got != total {
		b.fatalf("gallery lists %d searchable references, want %d", got, total)
	}
	// The gallery as an admin finds it later (not the upload's outcome).
	b.expectPage(b.navigate("/references"), 200, "/references")
	b.imagesLoaded("ul.gallery li img")
	docShot("gallery")
	b.expectPage(b.navigate("/references?q=nobody-by-this-name"), 200, "/references")
	if got := b.text("ul.gallery"); !strings.Contains(got, "No reference matches") {
		b.t.Errorf("a gallery filter without a match says %q", got)
	}
	b.checkpoint("gallery-no-match")

	// Each photo is a person of its own; the person page lists their
	// photos and offers rename, merge and move (issue 16).
	b.expectPage(b.navigate("/references"), 200, "/references")
	person := evaluate[string](b, `(function () { var a = document.querySelector("ul.gallery a[href^='/subjects/']"); return a ? a.getAttribute("href") : ""; })()`)
	if person == "" {
		b.fatalf("the gallery does not link photos to their person")
	}
	b.expectPage(b.navigate(person), 200, person)
	b.imagesLoaded("ul.gallery li img")
	if !b.exists(`form[action="` + person + `/merge"]`) {
		b.fatalf("the person page %s offers no merge", person)
	}
	b.checkpoint("person")

	// The list of people, from the gallery's link: every person with a
	// thumbnail, found by name (issue 16).
	b.expectPage(b.navigate("/references"), 200, "/references")
	b.expectPage(b.click(`main a[href="/subjects"]`), 200, "/subjects")
	b.imagesLoaded("ul.gallery li img")
	if got := evaluate[int](b, `document.querySelectorAll("ul.gallery.people li a[href^='/subjects/']").length`); got == 0 {
		b.fatalf("the people list shows no person")
	}
	if !b.exists(`ul.gallery.people a[href="` + person + `"]`) {
		b.t.Errorf("the people list lacks %s", person)
	}
	b.checkpoint("people")
	b.expectPage(b.navigate("/subjects?q=nobody-by-this-name"), 200, "/subjects")
	if got := b.text("ul.gallery"); !strings.Contains(got, "Nobody") {
		b.t.Errorf("a people filter without a match says %q", got)
	}
	b.checkpoint("people-no-match")

	// Every page the admin's navigation offers loads cleanly.
	links := evaluate[[]string](b, `Array.from(document.querySelectorAll("header nav a")).map(function (a) { return a.getAttribute("href"); })`)
	for _, href := range links {
		if href == "/references" {
			continue // the gallery, just seen
		}
		b.expectPage(b.navigate(href), 200, href)
		if got := evaluate[string](b, `(function () { var a = document.querySelector("header nav a[aria-current=page]"); return a ? a.getAttribute("href") : ""; })()`); got != href {
			b.t.Errorf("on %s the navigation highlights %q", href, got)
		}
		b.checkpoint("admin-nav" + strings.ReplaceAll(href, "/", "-"))
		switch href {
		case "/admin/users":
			row := evaluate[string](b, fmt.Sprintf(`(function () { var tr = Array.from(document.querySelectorAll("table.table tbody tr")).find(function (r) { return r.textContent.indexOf(%q) >= 0; }); return tr ? tr.textContent : ""; })()`, lockedUser))
			if !strings.Contains(row, "locked") || !strings.Contains(row, "until") || !strings.Contains(row, "Unlock") {
				b.t.Errorf("users page row of the locked %s: %q, want locked until … and Unlock", lockedUser, strings.Join(strings.Fields(row), " "))
			}
			docShot("users")
			b.expectPage(b.click(`form[action$="/unlock"] button`), 200, "/admin/users")
			b.checkpoint("user-unlocked")
		case "/admin/audit":
			docShot("audit")
		}
	}
	signOut(b)
	b.checkpoint("admin-signed-out")

	// 2. The officer signs in and searches with the sketch.
	b.setValue("#username", officerUser)
	b.setValue("#password", officerPass)
	evaluate[bool](b, `document.activeElement.blur(), true`) // no caret in the picture
	docShot("login")
	signIn(b, officerUser, officerPass)
	if b.exists(`nav a[href="/references"]`) || b.exists(`nav a[href="/admin/users"]`) {
		b.fatalf("an officer's navigation links to admin pages")
	}
	b.checkpoint("officer-home")

	b.do("choose the sketch", chromedp.SetUploadFiles(chromedp.CSS("#sketch"), []string{j.Sketch}))
	b.setValue("#case_number", j.CaseNo)
	b.setValue("#k", strconv.Itoa(j.K))
	// The page previews the chosen file (app.js, through a blob: URL); wait
	// until the preview has loaded or failed. A preview the CSP blocks shows
	// up at the checkpoint as a violation.
	run(b, "wait for the sketch preview", chromedp.Poll[bool](
		`(function () { var i = document.getElementById("sketch-preview"); return !!i && !i.hidden && i.complete; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond)))
	if !evaluate[bool](b, `document.getElementById("sketch-preview").naturalWidth > 0`) {
		t.Errorf("the preview of the chosen sketch (#sketch-preview) did not render")
	}
	b.checkpoint("search-form")
	docShot("search")

	resp := b.click(`form[action="/search"] button[type=submit]`)
	b.expectPage(resp, 200, "")
	m := regexp.MustCompile(`/searches/(\d+)$`).FindStringSubmatch(resp.URL)
	if m == nil {
		b.fatalf("search landed on %s, want /searches/{id}", resp.URL)
	}
	searchPath := "/searches/" + m[1]
	if cc, _ := resp.Headers["Cache-Control"].(string); !strings.Contains(cc, "no-store") {
		b.t.Errorf("%s: Cache-Control %q, want no-store", searchPath, cc)
	}
	b.waitVisible("ol.candidates li.candidate")
	cands := evaluate[[]candidate](b, `Array.from(document.querySelectorAll("ol.candidates li.candidate")).map(function (li) {
  var img = li.querySelector("img"), m = img ? /\/references\/(\d+)\//.exec(img.getAttribute("src")) : null;
  return {rank: parseInt(li.querySelector(".rank").textContent.replace("#", ""), 10),
    label: li.querySelector(".label").textContent.trim(),
    ref: m ? parseInt(m[1], 10) : 0,
    score: parseFloat(li.querySelector(".score").textContent.replace(/[^0-9.\-]/g, ""))};
})`)
	want := refIDs[j.Target]
	var hit *candidate
	for i := range cands {
		t.Logf("candidate #%d: ref %d %q similarity %.3f", cands[i].Rank, cands[i].Ref, cands[i].Label, cands[i].Score)
		if cands[i].Ref == want && hit == nil {
			hit = &cands[i]
		}
	}
	if len(cands) != min(j.K, total) {
		b.t.Errorf("%d candidates shown, want %d", len(cands), min(j.K, total))
	}
	if hit == nil || hit.Rank > j.TopN {
		b.fatalf("the sketched person (%s, reference %d) is not in the top %d: %+v", j.Target, want, j.TopN, cands)
	}
	t.Logf("the sketched person is candidate #%d of %d", hit.Rank, len(cands))
	b.imagesLoaded("figure.probe img")
	b.imagesLoaded("ol.candidates li.candidate img")
	// A search just run is the officer's current (latest) search: the
	// navigation highlights Search, not History.
	if got := currentNav(b); got != "/" {
		b.t.Errorf("after a new search the navigation highlights %q, want Search (/)", got)
	}
	b.checkpoint("results")
	docShot("results")

	cmp := fmt.Sprintf("%s/compare/%d", searchPath, hit.Rank)
	b.expectPage(b.click(fmt.Sprintf(`li.candidate .body a[href=%q]`, cmp)), 200, cmp)
	b.imagesLoaded(".compare figure img")
	if got := b.text(".compare"); !strings.Contains(got, hit.Label) {
		b.t.Errorf("compare view does not name the candidate %q:\n%s", hit.Label, got)
	}
	b.checkpoint("compare")
	docShot("compare")

	// The officer reviews: the sketched person is referred with a note,
	// the unreviewed filter hides them, and the search is closed with a
	// conclusion, after which the marks are read-only (issue 16).
	b.expectPage(b.navigate(searchPath), 200, searchPath)
	sid := evaluate[string](b, fmt.Sprintf(`(function () {
  var img = document.querySelector('li.candidate img[src^="/references/%d/"]'), li = img && img.closest("li.candidate");
  return li ? li.id.replace("person-", "") : "";
})()`, want))
	if sid == "" {
		b.fatalf("the sketched person's card carries no person id")
	}
	form := fmt.Sprintf(`form[action="%s/reviews/%s"]`, searchPath, sid)
	// The mark's form is folded under each card until asked for.
	if evaluate[bool](b, fmt.Sprintf(`document.querySelector(%q).closest("details").open`, form)) {
		b.t.Errorf("the review form of person %s is open before it is asked for", sid)
	}
	b.do("open the review form", chromedp.Click(chromedp.CSS("#person-"+sid+" details.review-details summary"), chromedp.NodeVisible))
	evaluate[bool](b, fmt.Sprintf(`(function () { document.querySelector(%q).checked = true; return true; })()`, form+` input[value="referred"]`))
	b.setValue(form+` input[name="note"]`, "Passed to CID for the alibi check")
	b.expectPage(b.click(form+` button`), 200, searchPath)
	if got := b.text("#person-" + sid + " .review"); !strings.Contains(got, "referred") || !strings.Contains(got, "alibi check") {
		b.fatalf("the referred mark is not shown: %q", got)
	}
	b.checkpoint("review-marked")
	b.expectPage(b.navigate(searchPath+"?unreviewed=1"), 200, searchPath)
	if b.exists("#person-" + sid) {
		b.fatalf("the unreviewed filter still lists the referred person")
	}
	b.checkpoint("review-unreviewed")
	b.expectPage(b.navigate(searchPath), 200, searchPath)
	b.setValue("#conclusion", "Candidate referred to CID; the others do not match the witness account.")
	b.expectPage(b.click(`form.close-review button`), 200, searchPath)
	if got := b.text(".review-closed"); !strings.Contains(got, "Candidate referred to CID") {
		b.fatalf("the closed search does not show its conclusion: %q", got)
	}
	if b.exists("form.review-form") || b.exists("form.close-review") {
		b.fatalf("a closed search still offers review forms")
	}
	b.checkpoint("review-closed")

	b.expectPage(b.click(`nav a[href="/searches"]`), 200, "/searches")
	row := evaluate[string](b, fmt.Sprintf(`(function () { var a = document.querySelector('table a[href=%q]'); return a ? a.closest("tr").textContent : ""; })()`, searchPath))
	if !strings.Contains(row, j.CaseNo) {
		b.t.Errorf("history row of %s does not show case %q: %q", searchPath, j.CaseNo, row)
	}
	if got := currentNav(b); got != "/searches" {
		b.t.Errorf("on the history page the navigation highlights %q", got)
	}
	b.imagesLoaded("img.history-thumb")
	if !strings.Contains(row, "1 referred") || !strings.Contains(row, "closed") {
		b.t.Errorf("history row of %s does not show the review (1 referred, closed): %q", searchPath, row)
	}
	b.checkpoint("history")
	docShot("history")
	b.expectPage(b.click(fmt.Sprintf(`table a[href=%q]`, searchPath)), 200, searchPath)
	b.waitVisible("ol.candidates li.candidate")
	b.checkpoint("history-open")

	// 3. An admin URL is refused; after sign-out, Back shows nothing protected.
	for _, p := range []string{"/admin/users", "/references"} {
		b.expectPage(b.navigate(p), 403, p)
		if got := b.text(".error-page .status-code"); got != "403" {
			b.t.Errorf("%s as an officer: status code on the page %q, want 403", p, got)
		}
		if b.exists("#new-username") || b.exists("#photos") {
			b.fatalf("%s as an officer shows the admin form", p)
		}
		b.checkpoint("forbidden"+strings.ReplaceAll(p, "/", "-"), allowStatus(403, p))
	}

	// An unknown address: the 404 page keeps the navigation.
	b.expectPage(b.navigate("/no-such-page"), 404, "/no-such-page")
	if !b.exists(`header nav a[href="/searches"]`) || !b.exists(`form[action="/logout"]`) {
		b.t.Errorf("the 404 page of a signed-in officer lost the navigation")
	}
	b.checkpoint("not-found", allowStatus(404, "/no-such-page"))
	docShot("not-found")

	b.expectPage(b.navigate(searchPath), 200, searchPath)
	b.waitVisible("ol.candidates li.candidate")
	signOut(b)
	b.checkpoint("officer-signed-out")
	backAfterSignOut(b, searchPath)
	b.checkpoint("back-after-sign-out")

	b.mu.Lock()
	for _, w := range b.warnings {
		t.Logf("browser warning: %s", w)
	}
	b.mu.Unlock()
	t.Logf("journey done in %v; step screenshots in %s", time.Since(began).Round(time.Millisecond), j.Shots)
}

// lockedUser is the officer the journey locks out with wrong passwords.
const lockedUser = "officer.smith"

// outcomeRow is one row of the gallery upload's outcome table.
type outcomeRow struct {
	File    string `json:"file"`
	Outcome string `json:"outcome"`
	Label   string `json:"label"`
	Text    string `json:"text"`
	Href    string `json:"href"`
}

func outcomeRows(b *browser) []outcomeRow {
	b.t.Helper()
	return evaluate[[]outcomeRow](b, `Array.from(document.querySelectorAll("table.outcomes tbody tr")).map(function (tr) {
  var a = tr.querySelector("a[href^='/references/']"), tag = tr.querySelector(".tag"), in_ = tr.querySelector("input[name=label]");
  return {file: tr.querySelector("td.file").firstChild.textContent.trim(), outcome: tag ? tag.textContent.trim() : "",
    label: in_ ? in_.value : "", text: tr.textContent, href: a ? a.getAttribute("href") : ""};
})`)
}

// currentNav is the href of the navigation entry marked as the current page.
func currentNav(b *browser) string {
	b.t.Helper()
	return evaluate[string](b, `(function () { var a = document.querySelector("header nav a[aria-current=page]"); return a ? a.getAttribute("href") : ""; })()`)
}

func signIn(b *browser, user, pass string) {
	b.t.Helper()
	b.setValue("#username", user)
	b.setValue("#password", pass)
	b.expectPage(b.click(`form[action="/login"] button[type=submit]`), 200, "/")
	if got := b.text(".who .username"); got != user {
		b.fatalf("signed in as %q, the top bar says %q", user, got)
	}
}

func signOut(b *browser) {
	b.t.Helper()
	b.expectPage(b.click(`form[action="/logout"] button`), 200, "/login")
	b.waitVisible(`form[action="/login"]`)
}

// backAfterSignOut presses Back after signing out from protectedPath: the
// page shown must be the sign-in page, or at least not the candidates.
func backAfterSignOut(b *browser, protectedPath string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	// A page restored from the back/forward cache fires no load event, so
	// a timeout here is not yet a failure: what the page shows decides.
	if err := chromedp.Do(ctx, chromedp.NavigateBack()); err != nil {
		b.t.Logf("Back: %v (checking what the page shows anyway)", err)
	}
	loc := evaluate[string](b, "String(document.location)")
	grid := b.exists("ol.candidates")
	login := b.exists(`form[action="/login"]`)
	b.t.Logf("after sign-out, Back shows %s (sign-in form: %v, candidates: %v)", loc, login, grid)
	if grid || !login {
		b.fatalf("after sign-out, Back from the sign-in page shows %s with protected content (candidates: %v, sign-in form: %v); %s must not be served from a cache",
			loc, grid, login, protectedPath)
	}
}

// devJourney picks the gallery and the probe from ../shared/eval/dev: 8
// people across the three sources, copied under opaque names (the ids give
// the answer away and must not reach the server).
func devJourney(t *testing.T) journey {
	pairs := testenv.DevPairs(t)
	bySource := map[string][]testenv.DevPair{}
	for _, p := range pairs {
		src, _, _ := strings.Cut(p.ID, "-")
		bySource[src] = append(bySource[src], p)
	}
	var chosen []testenv.DevPair
	for _, pick := range []struct {
		src string
		n   int
	}{{"cuhk", 3}, {"ar", 2}, {"xm2vts", 3}} {
		ps := bySource[pick.src]
		if len(ps) < pick.n {
			t.Skipf("skipping: ../shared/eval/dev has %d %s pairs, need %d", len(ps), pick.src, pick.n)
		}
		// Spread over the set rather than the first few ids.
		for i := 0; i < pick.n; i++ {
			chosen = append(chosen, ps[i*len(ps)/pick.n])
		}
	}
	dir := t.TempDir()
	var files []string
	for i, p := range chosen {
		dst := filepath.Join(dir, fmt.Sprintf("ref-%02d.jpg", i+1))
		testenv.CopyFile(t, p.Photo, dst)
		files = append(files, dst)
	}
	// The probe is the second person: a cuhk sketch.
	sketch := filepath.Join(dir, "probe.jpg")
	testenv.CopyFile(t, chosen[1].Sketch, sketch)
	t.Logf("gallery: %d dev photos as ref-01..ref-%02d.jpg; the probe is the sketch of ref-02.jpg", len(files), len(files))
	return journey{
		// One submission with every file: the multi-file path of the form.
		Gallery: []galleryBatch{{Files: files, Label: "E2E dev gallery", Notes: "browser journey test"}},
		Target:  "ref-02.jpg",
		Sketch:  sketch,
		CaseNo:  "E2E-2026-0001",
		K:       len(files),
		TopN:    5,
	}
}

// shotDir is where a run's step screenshots go: kept after the test (the
// point is to look at them), under $SKETCHMATCH_E2E_SHOTS or the temp dir.
func shotDir(t *testing.T, name string) string {
	t.Helper()
	root := os.Getenv("SKETCHMATCH_E2E_SHOTS")
	if root == "" {
		root = os.TempDir()
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(root, "sketchmatch-e2e-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserJourney is the real-browser journey on real dev faces (which
// may not be published: its screenshots stay in a temp dir).
func TestBrowserJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser journey in -short mode")
	}
	j := devJourney(t)
	j.Shots = shotDir(t, "journey")
	// These screenshots show dev faces, which may only be used for research:
	// they must never land in the repository.
	if rel, err := filepath.Rel(testenv.Root(), j.Shots); err == nil && !strings.HasPrefix(rel, "..") {
		t.Fatalf("SKETCHMATCH_E2E_SHOTS=%s is inside the repository; the journey's screenshots show dev faces and must stay outside it", os.Getenv("SKETCHMATCH_E2E_SHOTS"))
	}
	runJourney(t, j)
}

// TestBrowserScreenshots runs the same journey on synthetic faces drawn by
// testenv/synthface.go, which may be published: login, search, results, compare and
// gallery PNGs go to $SKETCHMATCH_SCREENSHOTS (relative to the repository
// root; docs/screenshots is what the README links), else to a temp dir.
//
//	SKETCHMATCH_SCREENSHOTS=docs/screenshots go test -count=1 -run TestBrowserScreenshots ./internal/e2e
func TestBrowserScreenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser journey in -short mode")
	}
	// Without SKETCHMATCH_SCREENSHOTS the pictures go to a temp dir: the
	// journey still runs (it needs no ../shared), the repo is left alone.
	docs := os.Getenv("SKETCHMATCH_SCREENSHOTS")
	switch {
	case docs == "":
		docs = t.TempDir()
	case !filepath.IsAbs(docs):
		docs = filepath.Join(testenv.Root(), docs)
	}
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	photos, sketches := testenv.SynthSet(t, dir, 8, testenv.SynthSeed)
	// One upload of every photo, each labelled with its file name; the
	// admin then corrects one label in the outcome table.
	var files []string
	for i, p := range photos {
		dst := filepath.Join(dir, fmt.Sprintf("synthetic-person-%02d.jpg", i+1))
		testenv.CopyFile(t, p, dst)
		files = append(files, dst)
	}
	const probe = 2 // the third person
	batches := []galleryBatch{{Files: files, FromFileName: true, Notes: "Drawn by the test suite; not a real person.",
		Relabel: map[string]string{filepath.Base(files[probe]): "Synthetic person 03 (record 0412)"}}}
	runJourney(t, journey{
		Gallery: batches,
		Target:  filepath.Base(files[probe]),
		Sketch:  sketches[probe],
		CaseNo:  "DEMO-2026-0042",
		K:       6, // one row of candidates: the whole page fits the picture
		TopN:    5,
		Shots:   shotDir(t, "screenshots"),
		Docs:    docs,
	})
	t.Logf("published screenshots written to %s", docs)
}
