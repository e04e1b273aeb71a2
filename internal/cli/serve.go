package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/app"
	"github.com/sketchmatch/sketchmatch/internal/retention"
)

// auditVerifyInterval is how often serve re-verifies the audit chain.
const auditVerifyInterval = 15 * time.Minute

// serve: the HTTP server. A model that fails to load does not stop it:
// everything but search works and /readyz says why.
func cmdServe(e *env, args []string) int {
	fs := newFlags(e, "serve", "serve")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := e.loadConfig()
	if !ok {
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	a, err := app.Open(ctx, cfg, app.Options{WithEncoder: true, Stderr: e.stderr, Stdout: e.stdout})
	if err != nil {
		fmt.Fprintf(e.stderr, "sketchmatch: %v\n", err)
		return 1
	}
	defer a.Close()
	srv, err := a.Server()
	if err != nil {
		a.Log.Error("server", "err", err)
		return 1
	}
	// Operational metrics for the alert rules (deploy/prometheus/alerts.yml),
	// including an in-process `audit verify` every 15 minutes.
	ops := a.NewOpsMetrics(ctx)
	if err := srv.RegisterMetrics(ops); err != nil {
		a.Log.Error("metrics", "err", err)
		return 1
	}
	go ops.VerifyAuditLoop(ctx, auditVerifyInterval)
	go a.Gallery.Maintain(ctx, 10*time.Second)
	go func() {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			if n, err := a.Auth.PurgeExpiredSessions(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("purging expired sessions", "err", err)
			} else if n > 0 {
				a.Log.Info("expired sessions purged", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go retention.RunDaily(ctx, time.Duration(cfg.RetentionSearchDays)*24*time.Hour, func(ctx context.Context, before time.Time) error {
		_, err := retention.Purge(ctx, a.DB, a.Gallery.Files(), a.Audit, a.Log, "server", "local", before, false)
		return err
	}, a.Log)
	ready := make(chan string, 1)
	go func() {
		if addr, ok := <-ready; ok {
			// One plain line for the person at the terminal, beside the log.
			fmt.Fprintf(e.stdout, "SketchMatch is ready at http://%s\n", addr)
		}
	}()
	if err := srv.ListenAndServe(ctx, ready); err != nil {
		a.Log.Error("server stopped", "err", err)
		return 1
	}
	a.Log.Info("stopped")
	return 0
}
