package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// CopiedTables are the tables `sketchmatch migrate` copies from SQLite to
// PostgreSQL, parents before children (foreign keys are checked on every
// insert). sessions are deliberately not copied (everyone signs in again on
// the new installation); schema_migrations belongs to each database. A table
// added by a migration must be listed here (before the tables that
// reference it) or CopyTable refuses the copy (see UncopiedTables).
var CopiedTables = []string{
	"users", "service_tokens", "subjects", "references", "embeddings", "reference_metadata", "subject_metadata", "fused_vectors",
	"calibrations", "searches", "search_results", "search_filters", "search_reviews", "eval_reports", "audit_log",
}

// notCopied are the SQLite tables the copy leaves behind on purpose.
var notCopied = map[string]bool{"sessions": true, "schema_migrations": true}

// Tables lists the database's own tables.
func (db *DB) Tables(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if db.Dialect == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, translate(rows.Err())
}

// UncopiedTables returns the source's tables that the copy would neither
// copy nor deliberately skip: a schema newer than CopiedTables.
func (db *DB) UncopiedTables(ctx context.Context) ([]string, error) {
	all, err := db.Tables(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, t := range CopiedTables {
		known[t] = true
	}
	var out []string
	for _, t := range all {
		if !known[t] && !notCopied[t] {
			out = append(out, t)
		}
	}
	return out, nil
}

// CountRows returns the number of rows of table (one of CopiedTables).
func (db *DB) CountRows(ctx context.Context, table string) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(table)).Scan(&n)
	return n, err
}

// CopyTable copies every row of table from src into dst in batches of one
// transaction each, with the same column values (ids and audit hashes
// included). Rows already in dst (same primary key) are skipped, so an
// interrupted copy is resumed by running it again. progress, if set, gets
// the rows read so far.
func CopyTable(ctx context.Context, src, dst *DB, table string, progress func(done int64)) error {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	qcols := make([]string, len(cols))
	for i, c := range cols {
		qcols[i] = quoteIdent(c)
	}
	insert := `INSERT INTO ` + quoteIdent(table) + ` (` + strings.Join(qcols, ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `) ON CONFLICT DO NOTHING`
	const batch = 500
	var done int64
	var tx *Tx
	var stmt *Stmt
	flush := func() error {
		if tx == nil {
			return nil
		}
		stmt.Close()
		err := tx.Commit()
		tx, stmt = nil, nil
		if progress != nil {
			progress(done)
		}
		return err
	}
	defer func() {
		if tx != nil {
			tx.Rollback()
		}
	}()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		if tx == nil {
			if tx, err = dst.BeginTx(ctx, nil); err != nil {
				return err
			}
			if stmt, err = tx.PrepareContext(ctx, insert); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return fmt.Errorf("%s: row %d: %w", table, done+1, err)
		}
		done++
		if done%batch == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := translate(rows.Err()); err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return flush()
}

// ResetIdentities moves every identity column's sequence past the largest
// id copied, so new rows on PostgreSQL do not collide with copied ones.
func (db *DB) ResetIdentities(ctx context.Context) error {
	if db.Dialect != Postgres {
		return nil
	}
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	type col struct{ table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, c)
	}
	rows.Close()
	for _, c := range cols {
		_, err := db.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX(`+quoteIdent(c.column)+`) FROM `+quoteIdent(c.table)+`), 0) + 1, false)`,
			quoteIdent(c.table), c.column)
		if err != nil {
			return fmt.Errorf("resetting %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// BlobHashes returns the SHA-256 of every blob's bytes as the database
// computes them now (not the stored sha256 column): what migrate verifies.
func (db *DB) BlobHashes(ctx context.Context) (map[string]string, error) {
	if db.Dialect != Postgres {
		return nil, ErrNoBlobs
	}
	rows, err := db.QueryContext(ctx, `SELECT path, encode(sha256(data), 'hex') FROM blobs`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var p, h string
		if err := rows.Scan(&p, &h); err != nil {
			return nil, err
		}
		out[p] = h
	}
	return out, translate(rows.Err())
}

// BlobPaths returns every path a row points at: reference photos and
// thumbnails, and search sketches.
func (db *DB) BlobPaths(ctx context.Context) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT stored_path FROM "references" UNION SELECT thumb_path FROM "references" UNION SELECT sketch_path FROM searches`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, translate(rows.Err())
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// CopyState is where a copy into this (PostgreSQL) database stands.
type CopyState int

const (
	CopyNew      CopyState = iota // empty database, no copy started
	CopyResume                    // a copy from this source started and did not finish
	CopyFinished                  // a copy from this source finished
)

// BeginCopy records that a copy from source starts (or resumes) into this
// database and says which. A database that holds data but no record of a
// copy from source is refused: the copy fills an empty database only.
func (db *DB) BeginCopy(ctx context.Context, source string) (CopyState, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sketchmatch_copy
		(source TEXT PRIMARY KEY, started_at BIGINT NOT NULL, finished_at BIGINT NOT NULL DEFAULT 0)`); err != nil {
		return 0, err
	}
	var finished int64
	err := db.QueryRowContext(ctx, `SELECT finished_at FROM sketchmatch_copy WHERE source = ?`, source).Scan(&finished)
	switch {
	case err == nil && finished > 0:
		return CopyFinished, nil
	case err == nil:
		return CopyResume, nil
	case !domain.IsNotFound(err):
		return 0, err
	}
	for _, t := range []string{"users", "references", "audit_log", "searches"} {
		n, err := db.CountRows(ctx, t)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			return 0, fmt.Errorf("the target database is not empty (%s has %d rows) and holds no unfinished copy from %s: migrate copies into an empty database only", t, n, source)
		}
	}
	_, err = db.ExecContext(ctx, `INSERT INTO sketchmatch_copy (source, started_at) VALUES (?, ?)`, source, db.Now().Unix())
	return CopyNew, err
}

// FinishCopy records that the copy from source was verified.
func (db *DB) FinishCopy(ctx context.Context, source string) error {
	_, err := db.ExecContext(ctx, `UPDATE sketchmatch_copy SET finished_at = ? WHERE source = ?`, db.Now().Unix(), source)
	return err
}
