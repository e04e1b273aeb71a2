package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/retention"
)

// purge: delete searches (sketches and results) past the retention period.
func cmdPurge(e *env, args []string) int {
	fs := newFlags(e, "purge", "purge [--older-than 400d] [--dry-run]")
	olderThan := fs.String("older-than", "", "age of the searches to delete, e.g. 400d (default: RETENTION_SEARCH_DAYS)")
	dry := fs.Bool("dry-run", false, "count what would be deleted; delete nothing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := e.loadConfig()
	if !ok {
		return 1
	}
	keep := time.Duration(cfg.RetentionSearchDays) * 24 * time.Hour
	if *olderThan != "" {
		d, err := retention.ParseAge(*olderThan)
		if err != nil {
			fmt.Fprintf(e.stderr, "sketchmatch: --older-than %v\n", err)
			return 2
		}
		keep = d
	}
	if keep <= 0 {
		fmt.Fprintln(e.stdout, "RETENTION_SEARCH_DAYS=0: search history is kept; nothing to purge (use --older-than to purge anyway)")
		return 0
	}
	ctx := context.Background()
	a, code := e.open(ctx, false, false)
	if a == nil {
		return code
	}
	defer a.Close()
	who := localActor()
	res, err := retention.Purge(ctx, a.DB, a.Gallery.Files(), a.Audit, a.Log, who.Username, who.ClientIP, time.Now().Add(-keep), *dry)
	if err != nil {
		return e.fail(err)
	}
	fmt.Fprintln(e.stdout, res.String())
	if res.SketchesFailed > 0 {
		fmt.Fprintf(e.stderr, "warning: %d sketch files could not be removed (see the log)\n", res.SketchesFailed)
	}
	return 0
}
