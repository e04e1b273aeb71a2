package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%.0f=%s, want %s", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing=%s, want 0", got)
	}
}

func TestJudgeRSS(t *testing.T) {
	const mib = 1 << 20
	series := func(start, perSample int64) []rssSample {
		var out []rssSample
		for i := 0; i <= 12; i++ { // 60 s, every 5 s
			out = append(out, rssSample{AtS: float64(5 * i), Bytes: start + int64(i)*perSample})
		}
		return out
	}
	t.Run("Flat", func(t *testing.T) {
		s := series(200*mib, 0)
		s[len(s)-2].Bytes += 3 * mib // GC noise
		if r := judgeRSS("x", s, 0); !r.Flat {
			t.Fatalf("flat series judged growing: %s", r.Verdict)
		}
	})
	t.Run("GrowthEarlyThenFlat", func(t *testing.T) {
		s := series(200*mib, 0)
		for i := 0; i < 5; i++ { // warm-up in the first 25 s only
			s[i].Bytes = int64(100+20*i) * mib
		}
		if r := judgeRSS("x", s, 0); !r.Flat {
			t.Fatalf("growth before the last 30 s judged: %s", r.Verdict)
		}
	})
	t.Run("Growing", func(t *testing.T) {
		if r := judgeRSS("x", series(200*mib, 4*mib), 0); r.Flat || !strings.HasPrefix(r.Verdict, "GROWING") {
			t.Fatalf("+4 MiB per 5 s judged flat: %s", r.Verdict)
		}
	})
	t.Run("TooFewSamples", func(t *testing.T) {
		if r := judgeRSS("x", series(1, 0)[:2], 1); r.Flat || !strings.HasPrefix(r.Verdict, "not judged") {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestParseMetricsRSS(t *testing.T) {
	page := "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.2345678e+08\nprocess_start_time_seconds 1.7e+09\n"
	got, err := parseMetricsRSS(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(123456780); got != want {
		t.Fatalf("rss=%d, want %d", got, want)
	}
	if _, err := parseMetricsRSS(strings.NewReader("go_goroutines 7\n")); err == nil {
		t.Fatal("want an error when the metric is absent")
	}
}

func TestBuildReportClassifies(t *testing.T) {
	now := time.Now()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	samples := []sample{
		{route: routeHome, status: 200, dur: ms(5), end: now},
		{route: routeHome, status: 200, dur: ms(7), end: now},
		{route: routeHistory, status: 303, dur: ms(1), end: now}, // lost session
		{route: routeSearch, status: 200, dur: ms(300), end: now},
		{route: routeSearch, status: 503, dur: ms(1), end: now}, // back-pressure
		{route: routeSearch, status: 500, dur: ms(20), end: now},
		{route: routeShow, errKey: "EOF", dur: ms(2), end: now},
	}
	o := options{url: "http://x", users: 1, cores: 2, searchShare: 0.2}
	r := buildReport(o, samples, 10*time.Second, ms(200), rssReport{})
	if r.BackPressure != 1 || r.SearchOK != 1 {
		t.Errorf("back-pressure=%d search ok=%d, want 1 and 1", r.BackPressure, r.SearchOK)
	}
	for _, k := range []string{"GET /searches 303", "POST /api/v1/search 500", "GET /searches/{id} error: EOF"} {
		if r.Errors[k] != 1 {
			t.Errorf("errors[%q]=%d, want 1 (all: %v)", k, r.Errors[k], r.Errors)
		}
	}
	if r.AllPass {
		t.Error("a 500, a transport error and a lost session must fail the targets")
	}
	if got, want := r.SearchTargetRPS, 10.0; got != want {
		t.Errorf("target search rps=%v, want cores/latency = 2/0.2 s = %v", got, want)
	}
}
