package cli

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/app"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// check: config, database, ONNX Runtime and model; non-zero exit naming
// what is wrong.
func cmdCheck(e *env, args []string) int {
	fs := newFlags(e, "check", "check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := e.loadConfig()
	if !ok {
		return 1
	}
	fmt.Fprintf(e.stdout, "config      ok (APP_ENV=%s, listen %s)\n", cfg.AppEnv, cfg.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	failed := false
	store.PostgresMaxConns = cfg.DatabaseMaxConns
	db, err := store.Open(ctx, cfg.Database())
	if err != nil {
		fmt.Fprintf(e.stdout, "database    FAIL: %s: %v\n", cfg.DatabaseSetting(), err)
		failed = true
	} else {
		if err := db.Ping(ctx); err != nil {
			fmt.Fprintf(e.stdout, "database    FAIL: %v\n", err)
			failed = true
		} else {
			fmt.Fprintf(e.stdout, "database    ok (%s)\n", db.Describe(ctx))
		}
		db.Close()
	}
	if cfg.Postgres() {
		fmt.Fprintf(e.stdout, "references  ok (stored in PostgreSQL; REFERENCE_FOLDER unused)\n")
	} else if fi, err := os.Stat(cfg.ReferenceFolder); err != nil || !fi.IsDir() {
		fmt.Fprintf(e.stdout, "references  FAIL: REFERENCE_FOLDER %s is not a folder\n", cfg.ReferenceFolder)
		failed = true
	} else if f, err := os.CreateTemp(cfg.ReferenceFolder, ".check-*"); err != nil {
		fmt.Fprintf(e.stdout, "references  FAIL: REFERENCE_FOLDER %s is not writable: %v\n", cfg.ReferenceFolder, err)
		failed = true
	} else {
		f.Close()
		os.Remove(f.Name())
		fmt.Fprintf(e.stdout, "references  ok (%s)\n", cfg.ReferenceFolder)
	}
	enc, err := app.OpenEncoder(ctx, cfg, discardLogger())
	if err != nil {
		fmt.Fprintf(e.stdout, "model       FAIL: %v\n", err)
		failed = true
	} else {
		fmt.Fprintf(e.stdout, "onnxruntime ok (%s, %s)\n", cfg.ORTLibraryPath, embed.RuntimeVersion())
		fmt.Fprintf(e.stdout, "model       ok (%s, %d-d)\n", enc.ModelID(), enc.Dim())
		enc.Close()
	}
	if failed {
		fmt.Fprintln(e.stdout, "check FAILED")
		return 1
	}
	fmt.Fprintln(e.stdout, "check ok")
	return 0
}

// models: list presets under MODELS_DIR and verify their checksums.
func cmdModels(e *env, args []string) int {
	fs := newFlags(e, "models", "models")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := e.loadConfig()
	if !ok {
		return 1
	}
	presets, err := embed.ListPresets(cfg.ModelsDir)
	if err != nil {
		return e.fail(err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRESET\tACTIVE\tSTATUS\tLICENCE")
	bad := false
	for _, p := range presets {
		active := ""
		if p.Name == cfg.Model {
			active = "*"
		}
		status := "ok"
		if p.Err != nil {
			status = p.Err.Error()
			if p.Name == cfg.Model {
				bad = true
			}
		}
		licence := ""
		if p.Manifest != nil {
			licence = p.Manifest.License
		}
		if len(licence) > 60 {
			licence = licence[:57] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, active, status, licence)
	}
	tw.Flush()
	if bad {
		fmt.Fprintf(e.stderr, "sketchmatch: the active model %s is not usable; install it with: make models MODELS=%s\n", cfg.Model, cfg.Model)
		return 1
	}
	return 0
}

// backup FILE: consistent online copy (VACUUM INTO).
func cmdBackup(e *env, args []string) int {
	fs := newFlags(e, "backup", "backup FILE")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, ok := e.loadConfig()
	if !ok {
		return 1
	}
	ctx := context.Background()
	db, err := store.Open(ctx, cfg.Database())
	if err != nil {
		return e.fail(err)
	}
	defer db.Close()
	if err := db.Backup(ctx, fs.Arg(0)); err != nil {
		return e.fail(err)
	}
	fmt.Fprintf(e.stdout, "backup written to %s\n", fs.Arg(0))
	return 0
}

// audit verify: check the hash chain; names the first broken row.
func cmdAudit(e *env, args []string) int {
	if len(args) != 1 || args[0] != "verify" {
		fmt.Fprintln(e.stderr, "usage: sketchmatch audit verify")
		return 2
	}
	ctx := context.Background()
	a, code := e.open(ctx, false, false)
	if a == nil {
		return code
	}
	defer a.Close()
	res, err := a.Audit.Verify(ctx)
	if err != nil {
		return e.fail(err)
	}
	if !res.OK {
		fmt.Fprintf(e.stdout, "audit trail BROKEN at row %d: %s (%d rows checked)\n", res.FirstBroken, res.Reason, res.Rows)
		return 1
	}
	fmt.Fprintf(e.stdout, "audit trail ok: %d rows, chain intact\n", res.Rows)
	return 0
}

// reindex: embed references lacking an embedding for the active model.
func cmdReindex(e *env, args []string) int {
	fs := newFlags(e, "reindex", "reindex")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	a, code := e.open(ctx, true, true)
	if a == nil {
		return code
	}
	defer a.Close()
	n, err := a.Gallery.Reindex(ctx, func(done, total int) {
		fmt.Fprintf(e.stderr, "\rembedded %d of %d", done, total)
	})
	fmt.Fprintln(e.stderr)
	if err != nil {
		return e.fail(err)
	}
	fmt.Fprintf(e.stdout, "reindex done: %d references embedded for %s\n", n, a.Encoder.ModelID())
	return 0
}
