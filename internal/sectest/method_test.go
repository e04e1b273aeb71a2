package sectest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/faulttest"
)

// Finding 1 of issue 12: 8 000 requests with a 60 KB made-up method took the
// server from 217 MB to 1.1 GB and rotated every app.log away. Now the
// method is one label value (OTHER) and logged fields are cut, so the flood
// costs neither memory nor log space.
func TestMethodFloodBounded(t *testing.T) {
	env := faulttest.NewEnv(t)
	srv := env.Start(t)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	// Warm up: the first requests allocate the server's steady state.
	for range 20 {
		if resp, err := c.Get(srv.URL + "/login"); err == nil {
			resp.Body.Close()
		}
	}
	before := srv.PeakRSS(t)

	const requests, workers = 2000, 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for w := range workers {
		wg.Go(func() {
			for i := w; i < requests; i += workers {
				// Distinct per request, about 60 KB (within the 64 KiB header limit).
				method := fmt.Sprintf("M%06d", i) + strings.Repeat("X", 60<<10)
				req, _ := http.NewRequest(method, srv.URL+"/login", nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	after := srv.PeakRSS(t)
	growth := after - before
	t.Logf("VmHWM %d MiB before, %d MiB after %d requests (+%d MiB); statuses %v",
		before>>20, after>>20, requests, growth>>20, statuses)
	if statuses[http.StatusMethodNotAllowed] != requests {
		t.Errorf("statuses %v, want %d × 405", statuses, requests)
	}
	// Before the fix this flood added ~230 MiB (labels kept forever).
	if growth > 64<<20 {
		t.Errorf("peak memory grew by %d MiB, want at most 64 MiB", growth>>20)
	}

	resp, err := c.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	total := 0
	for {
		k, err := resp.Body.Read(buf)
		total += k
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if total > 256<<10 {
		t.Errorf("/metrics is %d KiB after the flood, want under 256 KiB", total>>10)
	}

	files, _ := filepath.Glob(filepath.Join(env.Logs, "*"))
	var logBytes int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			logBytes += fi.Size()
		}
	}
	if len(files) != 1 || logBytes > 4<<20 {
		t.Errorf("log folder holds %d files, %d KiB after the flood; want app.log alone, under 4 MiB", len(files), logBytes>>10)
	}
	env.CheckNoPanic(t, srv)
}
