package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// migrate --to postgres://…: copy this SQLite installation (DATABASE_PATH
// and the files under REFERENCE_FOLDER) into an empty PostgreSQL database,
// then verify row counts, every blob's SHA-256 and the audit chain.
// Interrupted, it resumes where it stopped when run again.
func cmdMigrate(e *env, args []string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	to := fs.String("to", "", "target PostgreSQL database URL (postgres://user@host/dbname), empty")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !store.IsPostgresURL(*to) || fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "usage: sketchmatch migrate --to postgres://user@host/dbname")
		return 2
	}
	cfg, ok := e.loadConfig()
	if !ok {
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	src, err := store.Open(ctx, cfg.DatabasePath)
	if err != nil {
		return e.fail(fmt.Errorf("DATABASE_PATH %s: %w", cfg.DatabasePath, err))
	}
	defer src.Close()
	dst, err := store.OpenPostgres(ctx, *to)
	if err != nil {
		return e.fail(err)
	}
	defer dst.Close()
	rep, err := Migrate(ctx, src, &gallery.Files{Root: cfg.ReferenceFolder}, dst, e.stdout)
	if err != nil {
		return e.fail(fmt.Errorf("migrate: %w (run the same command again to resume)", err))
	}
	if !rep.OK() {
		for _, p := range rep.Problems {
			fmt.Fprintf(e.stderr, "verify: %s\n", p)
		}
		fmt.Fprintln(e.stderr, "migrate: the copy does not verify; do not switch to it")
		return 1
	}
	fmt.Fprintf(e.stdout, "verified: %d rows in %d tables, %d files, audit chain intact (%d rows, last hash %s)\n",
		rep.Rows, len(store.CopiedTables), rep.Blobs, rep.AuditRows, rep.AuditLastHash)
	fmt.Fprintln(e.stdout, "set DATABASE_URL to the target and start the instances (DEPLOYMENT.md, \"Several instances\")")
	return 0
}

// MigrateReport is what Migrate copied and what its verification found.
type MigrateReport struct {
	Rows          int64
	Blobs         int
	AuditRows     int
	AuditLastHash string
	Problems      []string // empty when verified
}

// OK reports whether the copy verified.
func (r *MigrateReport) OK() bool { return len(r.Problems) == 0 }

// Migrate copies src (SQLite) and its files into dst (PostgreSQL), then
// verifies the copy. Rerun after an interruption, it resumes: rows and
// blobs already in dst are skipped.
func Migrate(ctx context.Context, src *store.DB, files *gallery.Files, dst *store.DB, out io.Writer) (*MigrateReport, error) {
	if extra, err := src.UncopiedTables(ctx); err != nil {
		return nil, err
	} else if len(extra) > 0 {
		return nil, fmt.Errorf("the source has tables this version does not know how to copy: %v (add them to store.CopiedTables)", extra)
	}
	source, _ := filepath.Abs(src.Path)
	state, err := dst.BeginCopy(ctx, source)
	if err != nil {
		return nil, err
	}
	switch state {
	case store.CopyResume:
		fmt.Fprintf(out, "resuming the copy from %s\n", source)
	case store.CopyFinished:
		fmt.Fprintf(out, "the copy from %s finished before; verifying again\n", source)
	}
	rep := &MigrateReport{}
	if state != store.CopyFinished {
		for _, t := range store.CopiedTables {
			total, err := src.CountRows(ctx, t)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(out, "copying %-18s %d rows\n", t, total)
			if err := store.CopyTable(ctx, src, dst, t, nil); err != nil {
				return nil, err
			}
		}
		if err := dst.ResetIdentities(ctx); err != nil {
			return nil, err
		}
	}
	paths, err := src.BlobPaths(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "copying files           %d\n", len(paths))
	want := map[string]string{} // path -> SHA-256 of the source file
	for _, p := range paths {
		data, err := readAll(files, p)
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("file %s: %v", p, err))
			continue
		}
		sum := sha256.Sum256(data)
		want[p] = hex.EncodeToString(sum[:])
		if err := dst.PutBlob(ctx, p, data); err != nil {
			return nil, fmt.Errorf("file %s: %w", p, err)
		}
	}

	// Verify: row counts, blob hashes as PostgreSQL computes them over the
	// stored bytes, and the audit chain recomputed on the copy.
	for _, t := range store.CopiedTables {
		a, err := src.CountRows(ctx, t)
		if err != nil {
			return nil, err
		}
		b, err := dst.CountRows(ctx, t)
		if err != nil {
			return nil, err
		}
		if a != b {
			rep.Problems = append(rep.Problems, fmt.Sprintf("table %s: %d rows in the source, %d in the copy", t, a, b))
		}
		rep.Rows += b
	}
	got, err := dst.BlobHashes(ctx)
	if err != nil {
		return nil, err
	}
	for p, h := range want {
		if got[p] != h {
			rep.Problems = append(rep.Problems, fmt.Sprintf("file %s: SHA-256 %s in the source, %q in the copy", p, h, got[p]))
		}
	}
	rep.Blobs = len(got)
	sv, err := (&audit.Log{DB: src}).Verify(ctx)
	if err != nil {
		return nil, err
	}
	dv, err := (&audit.Log{DB: dst}).Verify(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case !dv.OK:
		rep.Problems = append(rep.Problems, fmt.Sprintf("audit chain of the copy broken at row %d: %s", dv.FirstBroken, dv.Reason))
	case dv.Rows != sv.Rows || dv.LastHash != sv.LastHash:
		rep.Problems = append(rep.Problems, fmt.Sprintf("audit chain: source %d rows ending %s, copy %d rows ending %s", sv.Rows, sv.LastHash, dv.Rows, dv.LastHash))
	}
	rep.AuditRows, rep.AuditLastHash = dv.Rows, dv.LastHash
	if rep.OK() {
		if err := dst.FinishCopy(ctx, source); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func readAll(files *gallery.Files, rel string) ([]byte, error) {
	f, err := files.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("empty file")
	}
	return data, nil
}
