package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Every wait has a generous limit: CI machines are slow and shared, and a
// search embeds the sketch on two cores. Nothing sleeps where a wait works.
const actionTimeout = 90 * time.Second

// chromiumPath finds the browser ($SKETCHMATCH_CHROMIUM, else Debian's
// chromium), skipping the test when there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SKETCHMATCH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Skip("skipping: no Chromium found (apt-get install chromium, or set SKETCHMATCH_CHROMIUM); .ci/run installs it")
	return ""
}

// problem is a console error, an uncaught exception, an error in the
// browser's log or a Content-Security-Policy violation.
type problem struct {
	Kind string // console, exception, log/<source>, csp
	Text string
	URL  string
}

func (p problem) String() string {
	if p.URL != "" {
		return fmt.Sprintf("[%s] %s (%s)", p.Kind, p.Text, p.URL)
	}
	return fmt.Sprintf("[%s] %s", p.Kind, p.Text)
}

// cspReport is what the page hands over on a securitypolicyviolation event.
type cspReport struct {
	Directive string `json:"directive"`
	Blocked   string `json:"blocked"`
	Source    string `json:"source"`
	Line      int    `json:"line"`
	Sample    string `json:"sample"`
	Doc       string `json:"doc"`
}

// cspListener is injected into every document through the DevTools protocol
// (which the page's CSP does not govern, unlike an inline script would be).
const cspListener = `document.addEventListener("securitypolicyviolation", function (e) {
  window.__e2eCSP({directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
    line: e.lineNumber, sample: e.sample, doc: String(document.location)});
});`

// browser is one headless Chromium tab with a fresh profile, recording every
// console error, exception, error log entry and CSP violation.
type browser struct {
	t       *testing.T
	ctx     context.Context
	base    string
	shotDir string
	step    int
	// axeWarned: the missing axe-core was reported once.
	axeWarned bool

	mu       sync.Mutex
	problems []problem
	checked  int
	warnings []problem
}

func newBrowser(t *testing.T, base, shotDir string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("headless", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	// chromedp logs from its own goroutines; t.Logf after the test has
	// ended panics, so the log is cut off when the browser is closed.
	var closed atomic.Bool
	logf := func(format string, args ...any) {
		if !closed.Load() {
			t.Logf("chromedp: "+format, args...)
		}
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		cancel()
		acancel()
		closed.Store(true)
	})
	b := &browser{t: t, ctx: ctx, base: base, shotDir: shotDir}
	// The first Run starts the browser; it must not carry a timeout (the
	// browser's life is bound to it), so start it plainly, bounded by a
	// watchdog instead.
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }()
	select {
	case err := <-start:
		if err != nil {
			t.Fatalf("starting %s: %v", exe, err)
		}
	case <-time.After(actionTimeout):
		t.Fatalf("starting %s: no tab after %v", exe, actionTimeout)
	}
	if err := chromedp.Listen(ctx, b.onEvent); err != nil {
		t.Fatal(err)
	}
	b.do("set up the CSP listener",
		chromedp.ExposeFunc("__e2eCSP", func(_ context.Context, r cspReport) (chromedp.Void, error) {
			b.record(problem{Kind: "csp", Text: fmt.Sprintf("%s blocked %q (sample %q, %s:%d)", r.Directive, r.Blocked, r.Sample, r.Source, r.Line), URL: r.Doc})
			return chromedp.Void{}, nil
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener})
			return err
		}),
		chromedp.EmulateViewport(1280, 800),
	)
	return b
}

// onEvent runs on the tab's message loop: it only records.
func (b *browser) onEvent(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if a.Value != nil {
					parts = append(parts, strings.Trim(string(a.Value), `"`))
				} else {
					parts = append(parts, a.Description)
				}
			}
			url := ""
			if ev.StackTrace != nil && len(ev.StackTrace.CallFrames) > 0 {
				url = ev.StackTrace.CallFrames[0].URL
			}
			b.record(problem{Kind: "console", Text: strings.Join(parts, " "), URL: url})
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.record(problem{Kind: "exception", Text: text, URL: d.URL})
	case *log.EventEntryAdded:
		e := ev.Entry
		p := problem{Kind: "log/" + string(e.Source), Text: e.Text, URL: e.URL}
		switch e.Level {
		case log.EntryLevelError:
			b.record(p)
		case log.EntryLevelWarning:
			b.mu.Lock()
			b.warnings = append(b.warnings, p)
			b.mu.Unlock()
		}
	}
}

func (b *browser) record(p problem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, p)
}

// run runs one action under the action timeout.
func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	run(b, what, chromedp.Steps(steps...))
}

// fatalf ends the test with a screenshot of where it stopped.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if b.shotDir != "" {
		ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
		defer cancel()
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			p := filepath.Join(b.shotDir, "FAILED.png")
			if os.WriteFile(p, png, 0o644) == nil {
				msg += "\n(screenshot of the page at the failure: " + p + ")"
			}
		}
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
			msg += "\n(page: " + loc + ")"
		}
	}
	b.t.Fatal(msg)
}

// navigate loads path and returns the document's response.
func (b *browser) navigate(path string) *network.Response {
	b.t.Helper()
	resp := run(b, "navigate to "+path, chromedp.NavigateResponse(b.base+path))
	if resp == nil {
		b.fatalf("navigate to %s: no response", path)
	}
	return resp
}

// click clicks the element sel matches and waits for the page it leads to.
func (b *browser) click(sel string) *network.Response {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.fatalf("click %s: %v", sel, err)
	}
	if resp == nil {
		b.fatalf("click %s: no document response", sel)
	}
	return resp
}

// expectPage checks a document response: its status and its path.
func (b *browser) expectPage(resp *network.Response, status int, path string) {
	b.t.Helper()
	u, err := url.Parse(resp.URL)
	if err != nil {
		b.fatalf("response URL %q: %v", resp.URL, err)
	}
	if int(resp.Status) != status || (path != "" && u.Path != path) {
		b.fatalf("got %d %s, want %d %s", resp.Status, resp.URL, status, path)
	}
}

func (b *browser) setValue(sel, v string) {
	b.t.Helper()
	b.do("set "+sel, chromedp.SetValue(chromedp.CSS(sel), v))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return run(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

func evaluate[T any](b *browser, js string) T {
	b.t.Helper()
	return run(b, "evaluate "+js, chromedp.Evaluate[T](js))
}

func (b *browser) exists(sel string) bool {
	b.t.Helper()
	return evaluate[bool](b, fmt.Sprintf("document.querySelector(%q) !== null", sel))
}

// imagesLoaded waits until every image sel matches has decoded pixels: a
// blocked or broken image fails.
func (b *browser) imagesLoaded(sel string) {
	b.t.Helper()
	js := fmt.Sprintf(`(function () {
  var imgs = Array.from(document.querySelectorAll(%q));
  imgs.forEach(function (i) { i.loading = "eager"; });
  return imgs.length > 0 && imgs.every(function (i) { return i.complete && i.naturalWidth > 0; });
})()`, sel)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		broken := evaluate[[]string](b, fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).map(function (i) { return i.src; })`, sel))
		b.fatalf("images %s did not load: %v (not loaded: %v)", sel, err, broken)
	}
}

// checkpoint saves a full-page screenshot of the step and fails the test for
// every console error, exception, error log entry or CSP violation since the
// last checkpoint that allow does not excuse.
func (b *browser) checkpoint(name string, allow ...func(problem) bool) {
	b.t.Helper()
	// A round trip through the page: events sent before it are handled.
	loc := evaluate[string](b, "String(document.location)")
	b.step++
	if b.shotDir != "" {
		png := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
		p := filepath.Join(b.shotDir, fmt.Sprintf("%02d-%s.png", b.step, name))
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.accessibility(name)
	b.mu.Lock()
	fresh := append([]problem(nil), b.problems[b.checked:]...)
	b.checked = len(b.problems)
	b.mu.Unlock()
next:
	for _, p := range fresh {
		for _, ok := range allow {
			if ok(p) {
				b.t.Logf("step %s: expected: %s", name, p)
				continue next
			}
		}
		b.t.Errorf("step %s (%s): %s", name, loc, p)
	}
}

// docShot saves the page as a 1280 px wide PNG for the docs: the whole page,
// cut at 1000 px, re-encoded at the best compression.
func (b *browser) docShot(path string) { b.docShotWidth(path, 1280) }

// docShotMobile is docShot at 390 px wide (a phone), as path with
// "-mobile" before the extension.
func (b *browser) docShotMobile(path string) {
	b.t.Helper()
	b.do("phone viewport", chromedp.EmulateViewport(390, 844))
	defer b.do("desktop viewport", chromedp.EmulateViewport(1280, 800))
	ext := filepath.Ext(path)
	b.docShotWidth(strings.TrimSuffix(path, ext)+"-mobile"+ext, 390)
}

func (b *browser) docShotWidth(path string, width float64) {
	b.t.Helper()
	h := evaluate[float64](b, `Math.max(document.documentElement.scrollHeight, window.innerHeight)`)
	raw := run(b, "screenshot for "+path, chromedp.Action[[]byte](func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			CaptureBeyondViewport: new(true),
			FromSurface:           new(true),
			Clip:                  &page.Viewport{X: 0, Y: 0, Width: width, Height: min(h, 1000), Scale: 1},
		})
		return r.Data, err
	}))
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatalf("screenshot for %s: %v", path, err)
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, img); err != nil {
		b.t.Fatal(err)
	}
	if out.Len() > len(raw) {
		out.Reset()
		out.Write(raw)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s (%dx%d, %d KB)", path, img.Bounds().Dx(), img.Bounds().Dy(), out.Len()/1024)
}

// allowStatus excuses the browser's own log line for a document it fetched
// with a non-2xx status on purpose (e.g. the 403 page).
func allowStatus(status int, path string) func(problem) bool {
	return func(p problem) bool {
		u, err := url.Parse(p.URL)
		return err == nil && p.Kind == "log/network" && u.Path == path &&
			strings.Contains(p.Text, fmt.Sprintf("status of %d", status))
	}
}
