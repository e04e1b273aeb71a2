package app

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/embed"
)

// Version is the build's version, set with
// -ldflags "-X github.com/sketchmatch/sketchmatch/internal/app.Version=..."
// (make build and make image do); "dev" otherwise.
var Version = "dev"

// auditActions are the audit actions counted in sketchmatch_audit_events_total
// (a fixed set, so the label stays bounded).
var auditActions = []string{
	audit.ActionLogin, audit.ActionLoginFailed, audit.ActionLockout, audit.ActionLogout,
	audit.ActionSearch, audit.ActionReferenceAdd, audit.ActionReferenceDelete, audit.ActionReferenceUpdate,
	audit.ActionUserCreate, audit.ActionUserDisable, audit.ActionUserEnable, audit.ActionPasswordChange,
	audit.ActionCalibration, audit.ActionReindex,
}

// OpsMetrics is the collector behind the operational series the alert rules
// in deploy/prometheus/alerts.yml use: readiness per component, free space
// of the database's and the reference folder's file systems, the result of
// the periodic audit-chain verification, calibration state of the active
// model, gallery size, encoder queue and timings, and audit events
// (logins, failures, lockouts, searches) counted since start. Everything is
// read at scrape time except the audit verification, which VerifyAuditLoop
// runs on a timer.
type OpsMetrics struct {
	a *App

	mu          sync.Mutex
	lastAuditID int64
	events      map[string]float64

	verifyMu   sync.Mutex
	verified   bool
	verifyOK   bool
	verifyRows int
	verifyAt   time.Time
	verifyDur  time.Duration
	verifyErrs float64

	descs map[string]*prometheus.Desc
}

func opsDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// NewOpsMetrics starts counting audit events from now.
func (a *App) NewOpsMetrics(ctx context.Context) *OpsMetrics {
	m := &OpsMetrics{a: a, events: map[string]float64{}}
	for _, act := range auditActions {
		m.events[act] = 0
	}
	_ = a.DB.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM audit_log`).Scan(&m.lastAuditID)
	m.descs = map[string]*prometheus.Desc{
		"build":        opsDesc("sketchmatch_build_info", "Build version (value 1).", "version", "goversion"),
		"ready":        opsDesc("sketchmatch_ready", "1 when the component /readyz checks is usable (database, model).", "component"),
		"model":        opsDesc("sketchmatch_model_info", "The active model id (value 1; absent without a model).", "model"),
		"fsAvail":      opsDesc("sketchmatch_filesystem_avail_bytes", "Bytes available to the server on the file system holding the volume.", "volume"),
		"fsSize":       opsDesc("sketchmatch_filesystem_size_bytes", "Size of the file system holding the volume.", "volume"),
		"dbSize":       opsDesc("sketchmatch_database_size_bytes", "Size of the SQLite database file and its write-ahead log."),
		"auditOK":      opsDesc("sketchmatch_audit_chain_ok", "1 when the last audit-chain verification found the chain intact, 0 when broken (absent before the first run)."),
		"auditRows":    opsDesc("sketchmatch_audit_chain_rows", "Rows checked by the last audit-chain verification."),
		"auditAt":      opsDesc("sketchmatch_audit_chain_verified_timestamp_seconds", "When the last audit-chain verification finished (Unix time)."),
		"auditDur":     opsDesc("sketchmatch_audit_chain_verify_duration_seconds", "How long the last audit-chain verification took."),
		"auditErrs":    opsDesc("sketchmatch_audit_chain_verify_errors_total", "Audit-chain verifications that could not run (database errors)."),
		"events":       opsDesc("sketchmatch_audit_events_total", "Audit events recorded since the server started, by action (login, login_failed, lockout, search, ...).", "action"),
		"calTime":      opsDesc("sketchmatch_calibration_timestamp_seconds", "When the active model's calibration was made (Unix time); 0 when the active model has none (a calibration older than the model belongs to the previous model and does not count)."),
		"calBands":     opsDesc("sketchmatch_calibration_bands", "1 when the calibration in use has score bands for the current HOG_WEIGHT."),
		"gallery":      opsDesc("sketchmatch_gallery_references", "References by state: all, embedded (for the active model), indexed (searchable), no_face.", "state"),
		"reindexing":   opsDesc("sketchmatch_gallery_reindexing", "1 while a background reindex runs."),
		"queue":        opsDesc("sketchmatch_inference_queue_admitted", "Inference requests admitted (being worked on or waiting)."),
		"queueCap":     opsDesc("sketchmatch_inference_queue_capacity", "Inference requests admitted at most (workers + INFERENCE_QUEUE); more are refused with 503."),
		"images":       opsDesc("sketchmatch_inference_images_total", "Images embedded."),
		"busy":         opsDesc("sketchmatch_inference_busy_total", "Inference requests refused because every worker was busy and the queue full (503 back-pressure)."),
		"failed":       opsDesc("sketchmatch_inference_failed_total", "Images whose embedding failed."),
		"inferSeconds": opsDesc("sketchmatch_inference_seconds_total", "Worker time spent embedding, by stage: onnxruntime (inside ONNX Runtime) and prepost (decoding, alignment, pre/post-processing in Go).", "stage"),
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *OpsMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *OpsMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a, d := m.a, m.descs
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	gauge(d["build"], 1, Version, runtime.Version())

	dbOK := a.DB.Ping(ctx) == nil
	modelID, modelErr := a.Gallery.ModelStatus()
	gauge(d["ready"], b2f(dbOK), "database")
	gauge(d["ready"], b2f(modelErr == nil), "model")
	if modelErr == nil {
		gauge(d["model"], 1, modelID)
	}

	vols := map[string]string{"database": filepath.Dir(a.Config.DatabasePath), "references": a.Config.ReferenceFolder}
	if a.Config.Postgres() { // the database's disk is the PostgreSQL server's: its own monitoring covers it
		delete(vols, "database")
	}
	for vol, dir := range vols {
		var st syscall.Statfs_t
		if syscall.Statfs(dir, &st) == nil {
			gauge(d["fsAvail"], float64(st.Bavail)*float64(st.Bsize), vol)
			gauge(d["fsSize"], float64(st.Blocks)*float64(st.Bsize), vol)
		}
	}
	var dbBytes float64
	for _, suffix := range []string{"", "-wal"} {
		var st syscall.Stat_t
		if !a.Config.Postgres() && syscall.Stat(a.Config.DatabasePath+suffix, &st) == nil {
			dbBytes += float64(st.Size)
		}
	}
	gauge(d["dbSize"], dbBytes)

	m.verifyMu.Lock()
	if m.verified {
		gauge(d["auditOK"], b2f(m.verifyOK))
		gauge(d["auditRows"], float64(m.verifyRows))
		gauge(d["auditAt"], float64(m.verifyAt.UnixNano())/1e9)
		gauge(d["auditDur"], m.verifyDur.Seconds())
	}
	counter(d["auditErrs"], m.verifyErrs)
	m.verifyMu.Unlock()

	if dbOK {
		m.countAuditEvents(ctx)
	}
	m.mu.Lock()
	for _, act := range auditActions {
		counter(d["events"], m.events[act], act)
	}
	m.mu.Unlock()

	cal := a.Gallery.Calibration()
	gauge(d["calTime"], float64(cal.CreatedAt))
	gauge(d["calBands"], b2f(cal.Active && cal.Bands != nil))

	if st, err := a.Gallery.Stats(ctx); err == nil {
		gauge(d["gallery"], float64(st.References), "all")
		gauge(d["gallery"], float64(st.Embedded), "embedded")
		gauge(d["gallery"], float64(st.Indexed), "indexed")
		gauge(d["gallery"], float64(st.NoFace), "no_face")
		gauge(d["reindexing"], b2f(st.Reindexing))
	}

	if a.Encoder != nil {
		m.collectEncoder(ch, a.Encoder)
	}
}

func (m *OpsMetrics) collectEncoder(ch chan<- prometheus.Metric, enc *embed.Encoder) {
	d := m.descs
	admitted, capacity := enc.Queue()
	ch <- prometheus.MustNewConstMetric(d["queue"], prometheus.GaugeValue, float64(admitted))
	ch <- prometheus.MustNewConstMetric(d["queueCap"], prometheus.GaugeValue, float64(capacity))
	st := enc.Stats()
	ch <- prometheus.MustNewConstMetric(d["images"], prometheus.CounterValue, float64(st.Images))
	ch <- prometheus.MustNewConstMetric(d["busy"], prometheus.CounterValue, float64(st.Busy))
	ch <- prometheus.MustNewConstMetric(d["failed"], prometheus.CounterValue, float64(st.Failed))
	ch <- prometheus.MustNewConstMetric(d["inferSeconds"], prometheus.CounterValue, st.RunTime.Seconds(), "onnxruntime")
	ch <- prometheus.MustNewConstMetric(d["inferSeconds"], prometheus.CounterValue, (st.PipelineTime - st.RunTime).Seconds(), "prepost")
}

// countAuditEvents adds the audit rows written since the last scrape (by
// this process or a CLI command on the same database) to the counters.
func (m *OpsMetrics) countAuditEvents(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, err := m.a.DB.QueryContext(ctx, `SELECT action, COUNT(*), MAX(id) FROM audit_log WHERE id > ? GROUP BY action`, m.lastAuditID)
	if err != nil {
		return
	}
	defer rows.Close()
	last := m.lastAuditID
	add := map[string]float64{}
	for rows.Next() {
		var act string
		var n, maxID int64
		if err := rows.Scan(&act, &n, &maxID); err != nil {
			return
		}
		if _, known := m.events[act]; known {
			add[act] += float64(n)
		}
		last = max(last, maxID)
	}
	if rows.Err() != nil {
		return
	}
	for act, n := range add {
		m.events[act] += n
	}
	m.lastAuditID = last
}

// VerifyAudit runs `audit verify` in process once and records the result.
func (m *OpsMetrics) VerifyAudit(ctx context.Context) {
	start := time.Now()
	res, err := m.a.Audit.Verify(ctx)
	m.verifyMu.Lock()
	defer m.verifyMu.Unlock()
	if err != nil {
		m.verifyErrs++
		if ctx.Err() == nil {
			m.a.Log.Warn("audit chain verification could not run", "err", err)
		}
		return
	}
	m.verified, m.verifyOK, m.verifyRows, m.verifyAt, m.verifyDur = true, res.OK, res.Rows, time.Now(), time.Since(start)
	if !res.OK {
		m.a.Log.Error("audit chain BROKEN", "first_broken_row", res.FirstBroken, "reason", res.Reason, "rows", res.Rows)
	}
}

// VerifyAuditLoop verifies the audit chain now and then every interval
// until ctx ends.
func (m *OpsMetrics) VerifyAuditLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.VerifyAudit(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
