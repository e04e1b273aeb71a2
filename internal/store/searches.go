package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// FormatIDs is the stored form of a list of ids ("3,1,7").
func FormatIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// ParseIDs is the inverse of FormatIDs (unreadable parts are skipped).
func ParseIDs(s string) []int64 {
	var out []int64
	for _, p := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

const searchCols = `id, user_id, username, case_number, sketch_sha256, sketch_path, model_id, calibration_id, hog_weight, k, face_found, face_source, face_box, gallery_size, hold, duration_ms, created_at, closed_at, closed_by, conclusion`

func scanSearch(sc interface{ Scan(...any) error }) (*domain.Search, error) {
	s := &domain.Search{}
	var cal sql.NullInt64 // NULL: no calibration
	err := sc.Scan(&s.ID, &s.UserID, &s.Username, &s.CaseNumber, &s.SketchSHA256, &s.SketchPath, &s.ModelID,
		&cal, &s.HOGWeight, &s.K, &s.FaceFound, &s.FaceSource, &s.FaceBox, &s.GallerySize, &s.Hold, &s.DurationMS, &s.CreatedAt, &s.ClosedAt, &s.ClosedBy, &s.Conclusion)
	s.CalibrationID = cal.Int64
	return s, err
}

// InsertSearch records s and its results, then runs after, in one
// transaction; s.ID is set before after runs.
func (db *DB) InsertSearch(ctx context.Context, s *domain.Search, after TxHook) error {
	s.CreatedAt = db.Now().Unix()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `INSERT INTO searches (user_id, username, case_number, sketch_sha256, sketch_path, model_id, calibration_id, hog_weight, k, face_found, face_source, face_box, gallery_size, duration_ms, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.UserID, s.Username, s.CaseNumber, s.SketchSHA256, s.SketchPath, s.ModelID, sql.NullInt64{Int64: s.CalibrationID, Valid: s.CalibrationID != 0}, s.HOGWeight, s.K, s.FaceFound, s.FaceSource, s.FaceBox, s.GallerySize, s.DurationMS, s.CreatedAt).Scan(&s.ID)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO search_results (search_id, rank, reference_id, label, score, band, subject_id, subject_name, reference_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range s.Results {
		var subject sql.NullInt64
		if r.SubjectID != 0 {
			subject = sql.NullInt64{Int64: r.SubjectID, Valid: true}
		}
		if _, err := stmt.ExecContext(ctx, s.ID, r.Rank, r.ReferenceID, r.Label, r.Score, r.Band, subject, r.SubjectName, FormatIDs(r.ReferenceIDs)); err != nil {
			return err
		}
	}
	if err := runHook(tx, after); err != nil {
		return err
	}
	return tx.Commit()
}

// SearchByID returns a search with its results, or ErrNotFound.
func (db *DB) SearchByID(ctx context.Context, id int64) (*domain.Search, error) {
	s, err := scanSearch(db.QueryRowContext(ctx, `SELECT `+searchCols+` FROM searches WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT rank, reference_id, label, score, band, COALESCE(subject_id, 0), subject_name, reference_ids FROM search_results WHERE search_id = ? ORDER BY rank`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r domain.SearchResult
		var ref sql.NullInt64
		var refIDs string
		if err := rows.Scan(&r.Rank, &ref, &r.Label, &r.Score, &r.Band, &r.SubjectID, &r.SubjectName, &refIDs); err != nil {
			return nil, err
		}
		r.ReferenceID = ref.Int64
		r.ReferenceIDs = ParseIDs(refIDs)
		if len(r.ReferenceIDs) == 0 && ref.Valid {
			r.ReferenceIDs = []int64{ref.Int64}
		}
		s.Results = append(s.Results, r)
	}
	return s, translate(rows.Err())
}

// ListSearches pages through history, newest first. userID 0 means all
// users; caseNumber "" means any case.
func (db *DB) ListSearches(ctx context.Context, userID int64, caseNumber string, limit, offset int) ([]*domain.Search, int, error) {
	return db.ListSearchesBetween(ctx, userID, caseNumber, 0, 0, limit, offset)
}

// ListSearchesBetween is ListSearches limited to searches made at or after
// from and before to (unix seconds; 0 = open).
func (db *DB) ListSearchesBetween(ctx context.Context, userID int64, caseNumber string, from, to int64, limit, offset int) ([]*domain.Search, int, error) {
	// Only the filters in use go into the WHERE clause, so SQLite can use
	// the (user_id, id) and case_number indexes.
	var conds []string
	var args []any
	if userID != 0 {
		conds, args = append(conds, "user_id = ?"), append(args, userID)
	}
	if caseNumber != "" {
		conds, args = append(conds, "case_number = ?"), append(args, caseNumber)
	}
	if from > 0 {
		conds, args = append(conds, "created_at >= ?"), append(args, from)
	}
	if to > 0 {
		conds, args = append(conds, "created_at < ?"), append(args, to)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM searches`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+searchCols+` FROM searches`+where+` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*domain.Search
	for rows.Next() {
		s, err := scanSearch(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, s)
	}
	return out, total, translate(rows.Err())
}

// SketchPaths returns every stored sketch path (for the consistency check).
func (db *DB) SketchPaths(ctx context.Context) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT sketch_path FROM searches`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out[p] = true
	}
	return out, translate(rows.Err())
}

// SetSearchHold sets or clears the legal hold of a search (a held search is
// never purged), with its audit row a, in one transaction. ErrNotFound if
// there is no such search.
func (db *DB) SetSearchHold(ctx context.Context, id int64, hold bool, a *Audited) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE searches SET hold = ? WHERE id = ?`, hold, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return domain.ErrNotFound
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// SearchHeld reports the legal hold of a search.
func (db *DB) SearchHeld(ctx context.Context, id int64) (bool, error) {
	var hold bool
	err := db.QueryRowContext(ctx, `SELECT hold FROM searches WHERE id = ?`, id).Scan(&hold)
	return hold, err
}

// PurgeSearches deletes every search created before `before` that is not
// on hold, with its results, and appends the purge's audit row a (its
// Details set to "searches=N results=N sketch_files=N held_kept=N") in the
// same transaction. Audit rows are never touched. It returns the counts and
// the sketch paths that no remaining search refers to, for the caller to
// delete once the transaction has committed. dryRun counts and rolls back
// (and appends no row).
func (db *DB) PurgeSearches(ctx context.Context, before time.Time, dryRun bool, a *Audited) (domain.PurgeCounts, error) {
	var c domain.PurgeCounts
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return c, err
	}
	defer tx.Rollback()
	cutoff := before.Unix()
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(hold), 0) FROM searches WHERE created_at < ?`, cutoff).Scan(&c.Searches, &c.Held); err != nil {
		return c, err
	}
	c.Searches -= c.Held
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_results WHERE search_id IN
		(SELECT id FROM searches WHERE created_at < ? AND hold = 0)`, cutoff).Scan(&c.Results); err != nil {
		return c, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT sketch_path FROM searches s WHERE created_at < ? AND hold = 0
		AND NOT EXISTS (SELECT 1 FROM searches o WHERE o.sketch_path = s.sketch_path AND (o.created_at >= ? OR o.hold = 1))`, cutoff, cutoff)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return c, err
		}
		c.Sketches = append(c.Sketches, p)
	}
	rows.Close()
	if err := translate(rows.Err()); err != nil {
		return c, err
	}
	if dryRun {
		return c, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_results WHERE search_id IN (SELECT id FROM searches WHERE created_at < ? AND hold = 0)`, cutoff); err != nil {
		return c, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM searches WHERE created_at < ? AND hold = 0`, cutoff); err != nil {
		return c, err
	}
	a.setDetails("searches=%d results=%d sketch_files=%d held_kept=%d", c.Searches, c.Results, len(c.Sketches), c.Held)
	if err := a.appendTx(ctx, tx); err != nil {
		return c, err
	}
	return c, tx.Commit()
}
