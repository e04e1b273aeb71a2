package cli

import (
	"context"
	"fmt"
	"net"
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
	go a.Gallery.Sweep(ctx) // orphan files of a crash; nothing waits for it
	go a.Gallery.Maintain(ctx, 10*time.Second)
	go a.Gallery.Follow(ctx) // PostgreSQL: other instances' changes, as they commit
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
		// One plain line for the person at a terminal, beside the log;
		// under supervisor or in a container stdout is the JSON log only.
		if addr, ok := <-ready; ok && isTerminal(e.stdout) {
			fmt.Fprintf(e.stdout, "SketchMatch is ready at %s\n", readyURL(addr))
		}
	}()
	if err := srv.ListenAndServe(ctx, ready); err != nil {
		a.Log.Error("server stopped", "err", err)
		return 1
	}
	a.Log.Info("stopped")
	return 0
}

// readyURL is the address to open in a browser: a wildcard listen address
// is reached as localhost.
func readyURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
