package sectest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/faulttest"
)

// bombPNG is a 1-bit PNG of w×h black pixels: a few KB on the wire, w×h
// pixels (and several bytes each) once decoded.
func bombPNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Finding 2 of issue 12: a 4.9 KB 1-bit PNG of 6324×6324 (inside the 40 MP
// limit) cost ~313 MB per search, 12 at once reached 3.36 GB, and the 503
// came only after decoding. Sketches now have their own, lower pixel limit
// (checked on the header), and every decode first takes its pixels from a
// process-wide budget.
func TestSketchBombsBounded(t *testing.T) {
	for _, tc := range []struct {
		name       string
		w, h, n    int
		wantStatus int
		maxGrowth  int64
	}{
		// Over the sketch limit: refused from the header, nothing decoded.
		{"OverSketchLimit", 6324, 6324, 12, http.StatusBadRequest, 48 << 20},
		// Just under it: decoded, but never more than the budget at once.
		// (No gallery: each search is refused after the decode, 400.)
		{"UnderSketchLimit", 3460, 3460, 12, http.StatusBadRequest, 400 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A server per case: VmHWM is a high-water mark.
			env := faulttest.NewEnv(t)
			env.AddUser(t, "officer1", "officer")
			srv := env.Start(t)
			c := faulttest.NewClient()
			faulttest.Login(t, c, srv.URL, "officer1")
			bomb := bombPNG(t, tc.w, tc.h)
			before := srv.PeakRSS(t)
			var wg sync.WaitGroup
			var mu sync.Mutex
			statuses := map[int]int{}
			for range tc.n {
				wg.Go(func() {
					status, _, body, err := faulttest.SearchAPI(c, srv.URL, bomb, 5)
					if err != nil {
						t.Errorf("search: %v", err)
						return
					}
					if status >= 500 && status != http.StatusServiceUnavailable {
						t.Errorf("status %d: %s", status, body)
					}
					mu.Lock()
					statuses[status]++
					mu.Unlock()
				})
			}
			wg.Wait()
			after := srv.PeakRSS(t)
			t.Logf("%d×%d PNG of %d bytes, %d at once: VmHWM %d → %d MiB (+%d MiB); statuses %v",
				tc.w, tc.h, len(bomb), tc.n, before>>20, after>>20, (after-before)>>20, statuses)
			if statuses[tc.wantStatus] == 0 {
				t.Errorf("no answer had status %d: %v", tc.wantStatus, statuses)
			}
			if after-before > tc.maxGrowth {
				t.Errorf("peak memory grew by %d MiB, want at most %d MiB", (after-before)>>20, tc.maxGrowth>>20)
			}
			env.CheckNoPanic(t, srv)
		})
	}
}
