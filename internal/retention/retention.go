// Package retention deletes search history past its retention period
// (RETENTION_SEARCH_DAYS): old searches' sketches and results go, their
// audit rows stay (the hash chain remains verifiable), reference photos are
// never touched, and a search on legal hold is never purged. The purge is
// audited with its counts in the transaction that deletes the rows.
// `sketchmatch purge` and the server's daily run both call Purge.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Result is what a purge removed (or, dry, would remove).
type Result struct {
	Before         time.Time
	DryRun         bool
	Searches       int64
	Results        int64
	Held           int64
	SketchFiles    int
	SketchesFailed int // files left on disk (logged; the orphan sweep retries)
}

func (r Result) String() string {
	verb := "purged"
	if r.DryRun {
		verb = "would purge"
	}
	return fmt.Sprintf("%s %d searches (before %s), %d results, %d sketch files; %d old searches kept on hold",
		verb, r.Searches, r.Before.UTC().Format(time.RFC3339), r.Results, r.SketchFiles, r.Held)
}

// Store is where the searches are: Purge deletes the old ones, unheld, with
// their audit row in the same transaction. *store.DB implements it.
type Store interface {
	PurgeSearches(ctx context.Context, before time.Time, dryRun bool, a *store.Audited) (domain.PurgeCounts, error)
}

var _ Store = (*store.DB)(nil)

// Purge deletes searches created before `before` (except held ones).
// Sketch files are removed under the gallery's exclusive file lock, so a
// search storing the same sketch at that moment waits and keeps its file.
func Purge(ctx context.Context, db Store, files *gallery.Files, al *audit.Log, log *slog.Logger,
	username, clientIP string, before time.Time, dryRun bool) (Result, error) {
	res := Result{Before: before, DryRun: dryRun}
	unlock := func() {}
	if !dryRun {
		u, err := files.Exclusive()
		if err != nil {
			return res, fmt.Errorf("locking the reference folder: %w", err)
		}
		unlock = u
	}
	defer unlock()
	// The store writes the counts into the row's details.
	entry, err := al.Entry(audit.Entry{Username: username, ClientIP: clientIP, Action: audit.ActionPurge,
		Target: "searches before " + before.UTC().Format(time.RFC3339), Outcome: audit.OutcomeSuccess})
	if err != nil {
		return res, err
	}
	c, err := db.PurgeSearches(ctx, before, dryRun, entry)
	if err != nil {
		return res, err
	}
	res.Searches, res.Results, res.Held, res.SketchFiles = c.Searches, c.Results, c.Held, len(c.Sketches)
	if dryRun {
		return res, nil
	}
	for _, p := range c.Sketches {
		if err := files.Remove(p); err != nil {
			res.SketchesFailed++
			log.Warn("purge: sketch file not removed", "path", p, "err", err)
		}
	}
	log.Info("retention purge", "searches", res.Searches, "results", res.Results, "sketch_files", res.SketchFiles,
		"held_kept", res.Held, "before", before.UTC().Format(time.RFC3339))
	return res, nil
}

// ParseAge parses an --older-than value: "400d" (days), or a Go duration
// such as "720h".
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 36500 {
			return 0, fmt.Errorf("%q: want a number of days from 1 to 36500 such as 400d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	dur, err := time.ParseDuration(s)
	if err != nil || dur <= 0 {
		return 0, fmt.Errorf("%q: want days such as 400d, or a duration such as 720h", s)
	}
	return dur, nil
}

// RunDaily purges searches older than keep once shortly after start and
// then every 24 hours, until ctx ends. keep ≤ 0 does nothing.
func RunDaily(ctx context.Context, keep time.Duration, purge func(ctx context.Context, before time.Time) error, log *slog.Logger) {
	if keep <= 0 {
		log.Info("retention: RETENTION_SEARCH_DAYS=0, search history is kept")
		return
	}
	first := time.NewTimer(time.Minute)
	defer first.Stop()
	select {
	case <-ctx.Done():
		return
	case <-first.C:
	}
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if err := purge(ctx, time.Now().Add(-keep)); err != nil && ctx.Err() == nil {
			log.Error("retention purge failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
