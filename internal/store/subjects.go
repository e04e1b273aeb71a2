package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

const subjectCols = `s.id, s.name, s.notes, COALESCE(s.merged_into, 0), s.created_by, s.created_at, s.updated_at`

func scanSubject(sc interface{ Scan(...any) error }, extra ...any) (*domain.Subject, error) {
	s := &domain.Subject{}
	dest := append([]any{&s.ID, &s.Name, &s.Notes, &s.MergedInto, &s.CreatedBy, &s.CreatedAt, &s.UpdatedAt}, extra...)
	return s, sc.Scan(dest...)
}

func insertSubject(ctx context.Context, tx *Tx, name, by string, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO subjects (name, created_by, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id`,
		name, by, now, now).Scan(&id)
	return id, err
}

// liveSubject: ErrNotFound when the subject does not exist,
// ErrSubjectMerged when it was merged away.
func liveSubject(ctx context.Context, tx *Tx, id int64) error {
	var merged sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT merged_into FROM subjects WHERE id = ?`, id).Scan(&merged); err != nil {
		return err
	}
	if merged.Valid {
		return domain.ErrSubjectMerged
	}
	return nil
}

// SubjectByID returns a subject with its photo count, or ErrNotFound.
func (db *DB) SubjectByID(ctx context.Context, id int64) (*domain.Subject, error) {
	var n int
	s, err := scanSubject(db.QueryRowContext(ctx, `SELECT `+subjectCols+`,
		(SELECT COUNT(*) FROM "references" r WHERE r.subject_id = s.id) FROM subjects s WHERE s.id = ?`, id), &n)
	if err != nil {
		return nil, err
	}
	s.Photos = n
	return s, nil
}

// SubjectIDsByName returns the live subjects named exactly name, lowest id
// first (record numbers should be unique; callers treat more than one as
// ambiguous).
func (db *DB) SubjectIDsByName(ctx context.Context, name string) ([]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT id FROM subjects WHERE name = ? AND merged_into IS NULL ORDER BY id LIMIT 10`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, translate(rows.Err())
}

// SubjectsByIDs returns the subjects with the given ids (merged ones too),
// keyed by id.
func (db *DB) SubjectsByIDs(ctx context.Context, ids []int64) (map[int64]*domain.Subject, error) {
	out := make(map[int64]*domain.Subject, len(ids))
	err := db.eachByIDs(ctx, `SELECT `+subjectCols+` FROM subjects s WHERE s.id IN (%s)`, nil, ids, func(rows *sql.Rows) error {
		s, err := scanSubject(rows)
		if err == nil {
			out[s.ID] = s
		}
		return err
	})
	return out, err
}

// ReferencesOfSubject returns a subject's photos, oldest first.
func (db *DB) ReferencesOfSubject(ctx context.Context, id int64) ([]*domain.Reference, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+refCols+` FROM "references" WHERE subject_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*domain.Reference
	for rows.Next() {
		r, err := scanRef(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// EachReferenceSubject streams (reference id, subject id) for every
// reference: the gallery's map from photos to people.
func (db *DB) EachReferenceSubject(ctx context.Context, fn func(refID, subjectID int64)) error {
	rows, err := db.QueryContext(ctx, `SELECT id, COALESCE(subject_id, 0) FROM "references"`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r, s int64
		if err := rows.Scan(&r, &s); err != nil {
			return err
		}
		fn(r, s)
	}
	return translate(rows.Err())
}

// EnsureSubjects gives every reference without a subject (rows written by
// tools that predate subjects) its own, named after its label. It returns
// how many it created.
func (db *DB) EnsureSubjects(ctx context.Context) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, label, created_by FROM "references" WHERE subject_id IS NULL ORDER BY id`)
	if err != nil {
		return 0, err
	}
	type orphan struct {
		id        int64
		label, by string
	}
	var todo []orphan
	for rows.Next() {
		var o orphan
		if err := rows.Scan(&o.id, &o.label, &o.by); err != nil {
			rows.Close()
			return 0, err
		}
		todo = append(todo, o)
	}
	rows.Close()
	if err := translate(rows.Err()); err != nil || len(todo) == 0 {
		return 0, err
	}
	now := db.Now().Unix()
	for _, o := range todo {
		sid, err := insertSubject(ctx, tx, o.label, o.by, now)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE "references" SET subject_id = ? WHERE id = ?`, sid, o.id); err != nil {
			return 0, err
		}
	}
	return len(todo), tx.Commit()
}

// UpdateSubject renames a subject and changes its notes, with its audit
// row a, in one transaction. ErrNotFound if there is no such subject.
func (db *DB) UpdateSubject(ctx context.Context, id int64, name, notes string, a *Audited) error {
	return db.execOne(ctx, a.hook(ctx), `UPDATE subjects SET name = ?, notes = ?, updated_at = ? WHERE id = ?`, name, notes, db.Now().Unix(), id)
}

// MoveReference moves a photo to another (live) subject, with its audit
// row a, in one transaction. It returns the subject the photo came from.
// ErrNotFound when the reference or the subject does not exist,
// ErrSubjectMerged when the target was merged away.
func (db *DB) MoveReference(ctx context.Context, refID, to int64, a *Audited) (from int64, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(subject_id, 0) FROM "references" WHERE id = ?`, refID).Scan(&from); err != nil {
		return 0, err
	}
	if err := liveSubject(ctx, tx, to); err != nil {
		return from, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE "references" SET subject_id = ?, updated_at = ? WHERE id = ?`, to, db.Now().Unix(), refID); err != nil {
		return from, err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return from, err
	}
	return from, tx.Commit()
}

// MergeSubjects moves every photo of from to into, marks from as merged
// into into (and so anything merged into from before), with its audit row
// a, in one transaction. It returns the ids of the photos moved.
func (db *DB) MergeSubjects(ctx context.Context, from, into int64, a *Audited) ([]int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, id := range []int64{from, into} {
		if err := liveSubject(ctx, tx, id); err != nil {
			return nil, err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM "references" WHERE subject_id = ? ORDER BY id`, from)
	if err != nil {
		return nil, err
	}
	var moved []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		moved = append(moved, id)
	}
	rows.Close()
	if err := translate(rows.Err()); err != nil {
		return nil, err
	}
	now := db.Now().Unix()
	if _, err := tx.ExecContext(ctx, `UPDATE "references" SET subject_id = ?, updated_at = ? WHERE subject_id = ?`, into, now, from); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subjects SET merged_into = ?, updated_at = ? WHERE id = ? OR merged_into = ?`, into, now, from, from); err != nil {
		return nil, err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return nil, err
	}
	return moved, tx.Commit()
}

// ListSubjects pages through live subjects (newest first) whose name
// contains like ("" = all), with their photo counts and first photos.
// beforeID > 0 continues below that id (cursor pages); total counts every
// match, not only those below the cursor.
func (db *DB) ListSubjects(ctx context.Context, like string, limit, offset int, beforeID int64) ([]*domain.Subject, int, error) {
	where, args := ` WHERE s.merged_into IS NULL`, []any{}
	if like != "" {
		where += ` AND lower(s.name) LIKE lower(?) ESCAPE '\'`
		args = append(args, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(like)+"%")
	}
	var total int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM subjects s`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if beforeID > 0 {
		where += ` AND s.id < ?`
		args = append(args, beforeID)
	}
	rows, err := db.QueryContext(ctx, `SELECT `+subjectCols+`, (SELECT COUNT(*) FROM "references" r WHERE r.subject_id = s.id),
		COALESCE((SELECT MIN(r.id) FROM "references" r WHERE r.subject_id = s.id), 0)
		FROM subjects s`+where+` ORDER BY s.id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*domain.Subject
	for rows.Next() {
		var n int
		var first int64
		s, err := scanSubject(rows, &n, &first)
		if err != nil {
			return nil, 0, err
		}
		s.Photos, s.FirstPhoto = n, first
		out = append(out, s)
	}
	return out, total, translate(rows.Err())
}

// UpdateSubjectMetadata replaces a live subject's witness metadata, with
// its audit row a, in one transaction. ErrNotFound when there is no such subject,
// ErrSubjectMerged when it was merged away (its photos have their new
// person's metadata).
func (db *DB) UpdateSubjectMetadata(ctx context.Context, id int64, m domain.Metadata, a *Audited) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := liveSubject(ctx, tx, id); err != nil {
		return err
	}
	if err := db.PutSubjectMetadataTx(ctx, tx, id, m); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subjects SET updated_at = ? WHERE id = ?`, db.Now().Unix(), id); err != nil {
		return err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// RenameSoleSubjectTx renames, inside tx, the (live) subject of reference
// refID to name when that reference is the subject's only photo and the
// subject is named was: a person who was only a labelled photo keeps the
// photo's label as their name. It returns the subject renamed, 0 when
// none was.
func (db *DB) RenameSoleSubjectTx(ctx context.Context, tx *Tx, refID int64, was, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `UPDATE subjects SET name = ?, updated_at = ?
		WHERE id = (SELECT subject_id FROM "references" WHERE id = ?) AND name = ? AND merged_into IS NULL
		AND (SELECT COUNT(*) FROM "references" r WHERE r.subject_id = subjects.id) = 1 RETURNING id`,
		name, db.Now().Unix(), refID, was).Scan(&id)
	if domain.IsNotFound(err) {
		return 0, nil
	}
	return id, err
}
