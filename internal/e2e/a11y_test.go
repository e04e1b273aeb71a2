package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/chromedp/chromedp"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// axe-core is a test-only tool: `make axe` fetches the npm package (its
// checksum pinned) into .cache/axe; the app never serves it. The browser
// tests inject it into each page through DevTools (which the page's CSP
// does not govern) and fail on serious or critical violations.
var (
	axeOnce sync.Once
	axeJS   string
)

func axeSource() string {
	axeOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(testenv.Root(), ".cache", "axe", "axe.min.js"))
		if err == nil {
			axeJS = string(b)
		}
	})
	return axeJS
}

// accessibility checks the page at desktop width and at 390 px: no
// horizontal scrolling on the narrow screen, and no serious or critical
// axe-core violation at either width.
func (b *browser) accessibility(step string) {
	b.t.Helper()
	src := axeSource()
	if src == "" {
		if !b.axeWarned {
			b.axeWarned = true
			b.t.Logf("accessibility checks skipped: axe-core is not installed (make axe; make test installs it)")
		}
		return
	}
	defer b.do("restore the desktop viewport", chromedp.EmulateViewport(1280, 800))
	for _, width := range []int64{1280, 390} {
		b.do(fmt.Sprintf("viewport %d", width), chromedp.EmulateViewport(width, 800))
		if width < 1280 {
			over := evaluate[float64](b, `document.documentElement.scrollWidth - window.innerWidth`)
			if over > 0 {
				wide := evaluate[[]string](b, `Array.from(document.querySelectorAll("body *")).filter(function (e) { var r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1; }).slice(0, 5).map(function (e) { return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined ? "." + String(e.className).trim().split(/\s+/).join(".") : ""); })`)
				b.t.Errorf("step %s at %d px: the page scrolls sideways by %.0f px (too wide: %v)", step, width, over, wide)
			}
		}
		if !evaluate[bool](b, `typeof window.axe !== "undefined"`) {
			run(b, "inject axe-core", chromedp.Evaluate[bool](src+";true"))
		}
		found := run(b, "run axe-core", chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(function (r) {
  return r.violations.filter(function (v) { return v.impact === "serious" || v.impact === "critical"; }).map(function (v) {
    return v.impact + " " + v.id + ": " + v.help + " — " + v.nodes.slice(0, 3).map(function (n) { return n.target.join(" "); }).join(", ");
  });
})`, chromedp.EvalAwaitPromise))
		for _, v := range found {
			b.t.Errorf("step %s at %d px: axe-core: %s", step, width, v)
		}
	}
}
