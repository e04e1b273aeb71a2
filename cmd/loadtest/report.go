package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// routeStats is one row of the latency table (milliseconds).
type routeStats struct {
	Route    string         `json:"route"`
	Count    int            `json:"count"`
	OK       int            `json:"ok"`
	RPS      float64        `json:"rps"`
	P50      float64        `json:"p50_ms"`
	P95      float64        `json:"p95_ms"`
	P99      float64        `json:"p99_ms"`
	Max      float64        `json:"max_ms"`
	Statuses map[string]int `json:"statuses"`
}

type target struct {
	Name    string `json:"name"`
	Pass    bool   `json:"pass"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
}

type report struct {
	URL             string         `json:"url"`
	Users           int            `json:"users"`
	DurationS       float64        `json:"duration_s"`
	Requests        int            `json:"requests"`
	RPS             float64        `json:"rps"`
	SearchOK        int            `json:"search_ok"`
	SearchRPS       float64        `json:"search_rps"`
	BackPressure    int            `json:"back_pressure_503"`
	SingleSearchMS  float64        `json:"single_search_ms"`
	Cores           int            `json:"cores"`
	SearchTargetRPS float64        `json:"search_target_rps"`
	Routes          []routeStats   `json:"routes"`
	Errors          map[string]int `json:"errors"` // "route status" (or transport error) → count; 503 excluded
	RSS             rssReport      `json:"rss"`
	Targets         []target       `json:"targets"`
	AllPass         bool           `json:"all_pass"`
}

// okStatus is the expected answer of each route in the load phase.
func okStatus(route string) int {
	if route == routeLogin {
		return http.StatusSeeOther
	}
	return http.StatusOK
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(rank, len(s)-1))]
}

func buildReport(o options, all []sample, elapsed time.Duration, single time.Duration, rss rssReport) *report {
	secs := elapsed.Seconds()
	r := &report{URL: o.url, Users: o.users, DurationS: secs, Requests: len(all), RPS: float64(len(all)) / secs,
		Cores: o.cores, Errors: map[string]int{}, RSS: rss}
	byRoute := map[string][]sample{}
	for _, s := range all {
		byRoute[s.route] = append(byRoute[s.route], s)
	}
	var pageDurs []time.Duration
	serverErrors, transportErrors, otherErrors := 0, 0, 0
	for _, route := range []string{routeHome, routeHistory, routeShow, routeSearch, routeLogin} {
		ss := byRoute[route]
		if len(ss) == 0 {
			continue
		}
		rs := routeStats{Route: route, Count: len(ss), RPS: float64(len(ss)) / secs, Statuses: map[string]int{}}
		var durs []time.Duration
		for _, s := range ss {
			key := strconv.Itoa(s.status)
			if s.status == 0 {
				key = "error: " + s.errKey
			}
			rs.Statuses[key]++
			switch {
			case s.status == okStatus(route):
				rs.OK++
				// Latency percentiles are of successful answers: a fast
				// 503 must not make the route look quick.
				durs = append(durs, s.dur)
			case s.status == http.StatusServiceUnavailable:
				r.BackPressure++
			case s.status == 0:
				transportErrors++
				r.Errors[route+" "+key]++
			case s.status >= 500:
				serverErrors++
				r.Errors[route+" "+key]++
			default:
				otherErrors++
				r.Errors[route+" "+key]++
			}
		}
		rs.P50, rs.P95, rs.P99 = ms(percentile(durs, 50)), ms(percentile(durs, 95)), ms(percentile(durs, 99))
		if len(durs) > 0 {
			rs.Max = ms(percentile(durs, 100))
		}
		if route == routeSearch {
			r.SearchOK = rs.OK
			r.SearchRPS = float64(rs.OK) / secs
		} else if route != routeLogin {
			pageDurs = append(pageDurs, durs...)
		}
		r.Routes = append(r.Routes, rs)
	}

	r.Targets = append(r.Targets, target{Name: "zero 5xx other than 503 back-pressure, no transport errors",
		Pass:   serverErrors == 0 && transportErrors == 0,
		Detail: fmt.Sprintf("%d 5xx (not 503), %d transport errors, %d deliberate 503s", serverErrors, transportErrors, r.BackPressure)})
	r.Targets = append(r.Targets, target{Name: "no other failed requests (4xx, lost sessions)",
		Pass: otherErrors == 0, Detail: fmt.Sprintf("%d", otherErrors)})
	pp99 := percentile(pageDurs, 99)
	r.Targets = append(r.Targets, target{Name: "non-search pages p99 ≤ 50 ms",
		Pass: len(pageDurs) > 0 && pp99 <= pagesP99Limit, Skipped: len(pageDurs) == 0,
		Detail: fmt.Sprintf("p99 %.1f ms over %d page and history views", ms(pp99), len(pageDurs))})
	if single > 0 && o.searchShare > 0 {
		r.SingleSearchMS = ms(single)
		r.SearchTargetRPS = float64(o.cores) / single.Seconds()
		ratio := r.SearchRPS / r.SearchTargetRPS
		r.Targets = append(r.Targets, target{Name: "search throughput within 15% of cores / single-search latency",
			Pass:   ratio >= 0.85,
			Detail: fmt.Sprintf("%.2f searches/s answered vs %d cores / %.0f ms = %.2f/s (%.0f%%)", r.SearchRPS, o.cores, r.SingleSearchMS, r.SearchTargetRPS, 100*ratio)})
	} else {
		r.Targets = append(r.Targets, target{Name: "search throughput within 15% of cores / single-search latency", Skipped: true, Pass: true,
			Detail: "no single-search latency measured (-calibrate 0 or no searches)"})
	}
	r.Targets = append(r.Targets, target{Name: "RSS flat over the last 30 s", Pass: rss.Flat, Skipped: len(rss.Samples) < 3,
		Detail: rss.Verdict})
	if len(rss.Samples) < 3 {
		r.Targets[len(r.Targets)-1].Pass = true
	}
	r.AllPass = true
	for _, t := range r.Targets {
		r.AllPass = r.AllPass && t.Pass
	}
	return r
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nload phase: %d requests in %.1f s = %.1f req/s; searches answered %d (%.2f/s), back-pressure 503s %d\n",
		r.Requests, r.DurationS, r.RPS, r.SearchOK, r.SearchRPS, r.BackPressure)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route\tcount\tok\treq/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tstatuses\t")
	for _, rs := range r.Routes {
		var st []string
		for k, v := range rs.Statuses {
			st = append(st, fmt.Sprintf("%s×%d", k, v))
		}
		sort.Strings(st)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", rs.Route, rs.Count, rs.OK, rs.RPS, rs.P50, rs.P95, rs.P99, rs.Max, strings.Join(st, " "))
	}
	tw.Flush()
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors: none (503 back-pressure counted apart)")
	} else {
		var es []string
		for k, v := range r.Errors {
			es = append(es, fmt.Sprintf("%s ×%d", k, v))
		}
		sort.Strings(es)
		fmt.Fprintf(w, "errors: %s\n", strings.Join(es, "; "))
	}
	fmt.Fprintf(w, "RSS (%s): ", r.RSS.Source)
	for _, s := range r.RSS.Samples {
		fmt.Fprintf(w, "%.0fs %.1f MiB  ", s.AtS, float64(s.Bytes)/(1<<20))
	}
	fmt.Fprintf(w, "\n  %s\n", r.RSS.Verdict)
	fmt.Fprintln(w, "targets:")
	for _, t := range r.Targets {
		mark := "PASS"
		switch {
		case t.Skipped:
			mark = "SKIP"
		case !t.Pass:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  [%s] %s: %s\n", mark, t.Name, t.Detail)
	}
}

func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// --- RSS sampling --------------------------------------------------------

type rssSample struct {
	AtS   float64 `json:"at_s"`
	Bytes int64   `json:"bytes"`
}

type rssReport struct {
	Source  string      `json:"source"`
	Samples []rssSample `json:"samples"`
	Flat    bool        `json:"flat"`
	Verdict string      `json:"verdict"`
}

type rssSampler struct {
	source string
	read   func() (int64, error)
	start  time.Time
	mu     sync.Mutex
	got    []rssSample
	errs   int
	done   chan struct{}
	wg     sync.WaitGroup
}

// startRSS samples the server's resident memory every o.rssEvery until stop.
func startRSS(ctx context.Context, o options, tr http.RoundTripper) *rssSampler {
	s := &rssSampler{start: time.Now(), done: make(chan struct{})}
	if o.pid > 0 {
		s.source = fmt.Sprintf("/proc/%d/status VmRSS", o.pid)
		s.read = func() (int64, error) { return procRSS(o.pid) }
	} else {
		s.source = o.url + "/metrics process_resident_memory_bytes"
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		s.read = func() (int64, error) { return metricsRSS(c, o.url+"/metrics") }
	}
	s.sample()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(o.rssEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	b, err := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs++
		return
	}
	s.got = append(s.got, rssSample{AtS: time.Since(s.start).Seconds(), Bytes: b})
}

// stop takes a last sample and judges flatness over the last 30 s: flat
// when neither the rise from the window's first to its last sample nor
// the least-squares trend over 30 s exceeds max(2 %, 8 MiB).
func (s *rssSampler) stop() rssReport {
	close(s.done)
	s.wg.Wait()
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return judgeRSS(s.source, s.got, s.errs)
}

func judgeRSS(source string, got []rssSample, errs int) rssReport {
	r := rssReport{Source: source, Samples: got}
	if len(got) < 3 {
		r.Verdict = fmt.Sprintf("not judged: %d samples (%d reads failed)", len(got), errs)
		return r
	}
	end := got[len(got)-1].AtS
	var win []rssSample
	for _, s := range got {
		if s.AtS >= end-30 {
			win = append(win, s)
		}
	}
	note := "last 30 s"
	if got[0].AtS >= end-30 {
		note = fmt.Sprintf("whole run (%.0f s, shorter than 30 s)", end-got[0].AtS)
	}
	if len(win) < 3 {
		win = got[max(0, len(got)-3):]
	}
	first, last := win[0].Bytes, win[len(win)-1].Bytes
	// Least-squares slope, bytes per second.
	var mx, my float64
	for _, s := range win {
		mx += s.AtS
		my += float64(s.Bytes)
	}
	n := float64(len(win))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, s := range win {
		sxy += (s.AtS - mx) * (float64(s.Bytes) - my)
		sxx += (s.AtS - mx) * (s.AtS - mx)
	}
	slope := 0.0
	if sxx > 0 {
		slope = sxy / sxx
	}
	trend := slope * 30
	limit := max(0.02*float64(first), 8<<20)
	rise := float64(last - first)
	r.Flat = rise <= limit && trend <= limit
	word := "flat"
	if !r.Flat {
		word = "GROWING"
	}
	r.Verdict = fmt.Sprintf("%s over the %s: %.1f → %.1f MiB (rise %+.1f MiB, trend %+.1f MiB/30 s; limit %.1f MiB)",
		word, note, float64(first)/(1<<20), float64(last)/(1<<20), rise/(1<<20), trend/(1<<20), limit/(1<<20))
	return r
}

// procRSS reads VmRSS from /proc/PID/status.
func procRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fs := strings.Fields(rest)
			if len(fs) == 2 && fs[1] == "kB" {
				kb, err := strconv.ParseInt(fs[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// metricsRSS reads process_resident_memory_bytes from a Prometheus text page.
func metricsRSS(c *http.Client, url string) (int64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return parseMetricsRSS(resp.Body)
}

func parseMetricsRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return int64(v), err
		}
	}
	return 0, fmt.Errorf("no process_resident_memory_bytes in the metrics")
}
