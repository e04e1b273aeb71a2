package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/logging"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are per-server (own registry), so tests can run many servers.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sketchmatch_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sketchmatch_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sketchmatch_http_in_flight_requests", Help: "Requests being served.",
		}),
	}
	// Request log lines dropped on a full log queue (internal/logging's
	// async.go: only access-log lines below Warn for responses under 400).
	logDropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "sketchmatch_log_lines_dropped_total", Help: "Access-log lines dropped because the log queue was full (never warnings, errors or failed requests).",
	}, func() float64 { return float64(logging.Dropped()) })
	m.reg.MustRegister(m.requests, m.latency, m.inFlight, logDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
