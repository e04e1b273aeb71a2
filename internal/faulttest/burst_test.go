package faulttest

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// outcome is one request of a burst as the client saw it.
type outcome struct {
	Kind       string // "search" or "page"
	Path       string
	Start, End time.Time
	Status     int // 0: transport error
	RetryAfter string
	RequestID  string // X-Request-Id of the response
	Body       string
	Err        error
}

// burst is concurrent load on one signed-in client: searchers post sketches
// to the JSON API, viewers open the search form and the history. Every
// worker is bounded in iterations, and stops issuing requests as soon as
// Stop is called (requests already sent run to their end).
type burst struct {
	mu       sync.Mutex
	outcomes []outcome
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startBurst(c *http.Client, base string, sketches [][]byte, searchers, viewers, maxIter int) *burst {
	b := &burst{stop: make(chan struct{})}
	pages := []string{"/", "/searches"}
	for w := 0; w < searchers+viewers; w++ {
		b.wg.Add(1)
		go func(w int) {
			defer b.wg.Done()
			for i := 0; i < maxIter; i++ {
				select {
				case <-b.stop:
					return
				default:
				}
				var o outcome
				if w < searchers {
					o = doSearch(c, base, sketches[(w+i)%len(sketches)])
				} else {
					o = doGet(c, base, pages[(w+i)%len(pages)])
				}
				b.mu.Lock()
				b.outcomes = append(b.outcomes, o)
				b.mu.Unlock()
				switch {
				case o.Err != nil:
					// The server is going away: back off instead of spinning.
					time.Sleep(100 * time.Millisecond)
				case o.Status == http.StatusServiceUnavailable:
					time.Sleep(30 * time.Millisecond) // back-pressure: a short pause, not Retry-After's 5 s
				}
			}
		}(w)
	}
	return b
}

// Stop ends the burst and returns every outcome.
func (b *burst) Stop(tb testing.TB) []outcome {
	tb.Helper()
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second): // above the client timeout
		tb.Fatal("burst workers did not stop within 90s")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]outcome(nil), b.outcomes...)
}

// Outcomes is a snapshot while the burst runs.
func (b *burst) Outcomes() []outcome {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]outcome(nil), b.outcomes...)
}

func doSearch(c *http.Client, base string, sketch []byte) outcome {
	body, ct := Multipart(map[string]string{"k": "5", "case_number": "FT-LOAD"},
		map[string][]NamedFile{"sketch": {{Name: "sketch.jpg", Data: sketch}}})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/search", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	return send(c, req, "search")
}

func doGet(c *http.Client, base, path string) outcome {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	return send(c, req, "page")
}

func send(c *http.Client, req *http.Request, kind string) outcome {
	o := outcome{Kind: kind, Path: req.URL.Path, Start: time.Now()}
	resp, err := c.Do(req)
	if err != nil {
		o.End, o.Err = time.Now(), err
		return o
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	o.End = time.Now()
	o.Status, o.RetryAfter, o.RequestID = resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("X-Request-Id")
	if err != nil {
		// Headers arrived but the body was cut: as bad as no response.
		o.Err = err
	}
	if kind == "search" || resp.StatusCode >= 400 {
		o.Body = string(b)
	}
	return o
}

// summary counts outcomes by kind and status, for the test log.
func summary(os []outcome) string {
	m := map[string]int{}
	for _, o := range os {
		k := o.Kind + " "
		if o.Err != nil {
			k += "error"
		} else {
			k += strconv.Itoa(o.Status)
		}
		m[k]++
	}
	var buf bytes.Buffer
	for k, v := range m {
		buf.WriteString(k + "×" + strconv.Itoa(v) + "  ")
	}
	return buf.String()
}
