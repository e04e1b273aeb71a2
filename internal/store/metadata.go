package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

func joinTags(tags []string) string { return strings.Join(tags, ",") }

// SplitTags is the inverse of the stored comma-joined form.
func SplitTags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func scanMeta(sc interface{ Scan(...any) error }, id *int64) (domain.Metadata, error) {
	var m domain.Metadata
	var year sql.NullInt64
	var tags string
	if err := sc.Scan(id, &m.Sex, &year, &tags); err != nil {
		return m, err
	}
	m.BirthYear, m.Tags = int(year.Int64), SplitTags(tags)
	return m, nil
}

// PutMetadataTx stores (or replaces) the metadata of a reference's subject
// inside tx (the gallery calls it from the TxHook of an insert or an
// update, so the change, the reference and the audit row commit together).
func (db *DB) PutMetadataTx(ctx context.Context, tx *Tx, refID int64, m domain.Metadata) error {
	var subject int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(subject_id, 0) FROM "references" WHERE id = ?`, refID).Scan(&subject); err != nil {
		return err
	}
	return db.PutSubjectMetadataTx(ctx, tx, subject, m)
}

// PutSubjectMetadataTx stores (or replaces) a subject's metadata inside tx.
func (db *DB) PutSubjectMetadataTx(ctx context.Context, tx *Tx, subjectID int64, m domain.Metadata) error {
	sex := m.Sex
	if sex == "" {
		sex = "unknown"
	}
	var year sql.NullInt64
	if m.BirthYear != 0 {
		year = sql.NullInt64{Int64: int64(m.BirthYear), Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO subject_metadata (subject_id, sex, birth_year, tags, version, updated_at)
		VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM subject_metadata), ?)
		ON CONFLICT (subject_id) DO UPDATE SET sex = excluded.sex, birth_year = excluded.birth_year,
		tags = excluded.tags, version = excluded.version, updated_at = excluded.updated_at`,
		subjectID, sex, year, joinTags(m.Tags), db.Now().Unix())
	return err
}

// metaByRef selects (reference id, its subject's metadata).
const metaByRef = `SELECT r.id, m.sex, m.birth_year, m.tags FROM "references" r JOIN subject_metadata m ON m.subject_id = r.subject_id`

// MetadataByID returns the metadata of a reference's subject (the zero
// Metadata when it has none).
func (db *DB) MetadataByID(ctx context.Context, refID int64) (domain.Metadata, error) {
	var id int64
	m, err := scanMeta(db.QueryRowContext(ctx, metaByRef+` WHERE r.id = ?`, refID), &id)
	if domain.IsNotFound(err) {
		return domain.Metadata{}, nil
	}
	return m, err
}

// SubjectMetadata returns a subject's metadata (zero when none).
func (db *DB) SubjectMetadata(ctx context.Context, subjectID int64) (domain.Metadata, error) {
	var id int64
	m, err := scanMeta(db.QueryRowContext(ctx, `SELECT subject_id, sex, birth_year, tags FROM subject_metadata WHERE subject_id = ?`, subjectID), &id)
	if domain.IsNotFound(err) {
		return domain.Metadata{}, nil
	}
	return m, err
}

// MetadataByIDs returns the metadata of those of ids that have any.
func (db *DB) MetadataByIDs(ctx context.Context, ids []int64) (map[int64]domain.Metadata, error) {
	out := make(map[int64]domain.Metadata, len(ids))
	err := db.eachByIDs(ctx, metaByRef+` WHERE r.id IN (%s)`, nil, ids,
		func(rows *sql.Rows) error {
			var id int64
			m, err := scanMeta(rows, &id)
			if err == nil {
				out[id] = m
			}
			return err
		})
	return out, err
}

// MetadataVersion is the newest metadata write's version (0: none yet).
// A different value than at the last load means another process changed
// metadata.
func (db *DB) MetadataVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM subject_metadata`).Scan(&v)
	return v, err
}

// EachMetadata streams every reference's metadata (its subject's) (start-up load of the
// gallery's in-memory copy) and returns the version read just before the
// rows: a write in between makes the copy newer than the version says, so
// the next MetadataVersion check reloads it again (harmless), never the
// other way round.
func (db *DB) EachMetadata(ctx context.Context, fn func(refID int64, m domain.Metadata) error) (int64, error) {
	version, err := db.MetadataVersion(ctx)
	if err != nil {
		return 0, err
	}
	rows, err := db.QueryContext(ctx, metaByRef)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		m, err := scanMeta(rows, &id)
		if err != nil {
			return 0, err
		}
		if err := fn(id, m); err != nil {
			return 0, err
		}
	}
	return version, translate(rows.Err())
}

// PutSearchFilterTx records a search's filter inside the transaction that
// records the search (from InsertSearch's TxHook).
func (db *DB) PutSearchFilterTx(ctx context.Context, tx *Tx, searchID int64, f domain.SearchFilter) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO search_filters (search_id, spec, description, kept, total) VALUES (?, ?, ?, ?, ?)`,
		searchID, f.Spec, f.Description, f.Kept, f.Total)
	return err
}

// SearchFilters returns the filters of those of the searches that had one.
func (db *DB) SearchFilters(ctx context.Context, ids []int64) (map[int64]domain.SearchFilter, error) {
	out := make(map[int64]domain.SearchFilter, len(ids))
	err := db.eachByIDs(ctx, `SELECT search_id, spec, description, kept, total FROM search_filters WHERE search_id IN (%s)`, nil, ids,
		func(rows *sql.Rows) error {
			var id int64
			var f domain.SearchFilter
			if err := rows.Scan(&id, &f.Spec, &f.Description, &f.Kept, &f.Total); err != nil {
				return err
			}
			out[id] = f
			return nil
		})
	return out, err
}

// UpdateMetadata replaces a reference's metadata, and its label when label
// is not nil, then runs after, in one transaction; ErrNotFound when the
// reference does not exist.
func (db *DB) UpdateMetadata(ctx context.Context, refID int64, label *string, m domain.Metadata, after TxHook) error {
	hook := func(tx *Tx) error {
		if err := db.PutMetadataTx(ctx, tx, refID, m); err != nil {
			return err
		}
		return runHook(tx, after)
	}
	now := db.Now().Unix()
	if label != nil {
		return db.execOne(ctx, hook, `UPDATE "references" SET label = ?, updated_at = ? WHERE id = ?`, *label, now, refID)
	}
	return db.execOne(ctx, hook, `UPDATE "references" SET updated_at = ? WHERE id = ?`, now, refID)
}
