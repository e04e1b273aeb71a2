package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// refColsR is refCols for a table aliased r.
const refColsR = `r.id, r.sha256, r.label, r.notes, r.original_name, r.content_type, r.size_bytes, r.width, r.height, r.stored_path, r.thumb_path, r.created_by, r.created_at, r.updated_at, r.face_box, COALESCE(r.subject_id, 0), r.captured_on`

const refCols = `id, sha256, label, notes, original_name, content_type, size_bytes, width, height, stored_path, thumb_path, created_by, created_at, updated_at, face_box, COALESCE(subject_id, 0), captured_on`

func scanRef(sc interface{ Scan(...any) error }, extra ...any) (*domain.Reference, error) {
	r := &domain.Reference{}
	var box string
	dest := append([]any{&r.ID, &r.SHA256, &r.Label, &r.Notes, &r.OriginalName, &r.ContentType, &r.SizeBytes,
		&r.Width, &r.Height, &r.StoredPath, &r.ThumbPath, &r.CreatedBy, &r.CreatedAt, &r.UpdatedAt, &box, &r.SubjectID, &r.CapturedOn}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	r.ManualBox, _ = domain.ParseBox(box)
	return r, nil
}

// TxHook runs inside a store transaction just before it commits. It is
// left only where the caller writes more than the change's audit row in
// that transaction (a search's filter row, a reference's metadata, the
// rename of a person who follows their only photo's label); a change
// whose hook would only append its audit row takes an *Audited instead.
// nil hooks are skipped.
type TxHook func(tx *Tx) error

func runHook(tx *Tx, h TxHook) error {
	if h == nil {
		return nil
	}
	return h(tx)
}

// InsertReference inserts r and, when emb is non-nil, its embedding, then
// runs after, in one transaction: a reference is never half-written. r.ID is
// set before after runs.
func (db *DB) InsertReference(ctx context.Context, r *domain.Reference, emb *domain.NewEmbedding, after TxHook) error {
	now := db.Now().Unix()
	r.CreatedAt, r.UpdatedAt = now, now
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if r.SubjectID == 0 {
		name := r.SubjectName
		if name == "" {
			name = r.Label
		}
		if r.SubjectID, err = insertSubject(ctx, tx, name, r.CreatedBy, now); err != nil {
			return err
		}
		r.SubjectName = name
	} else if err := liveSubject(ctx, tx, r.SubjectID); err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO "references" (sha256, label, notes, original_name, content_type, size_bytes, width, height, stored_path, thumb_path, created_by, created_at, updated_at, subject_id, captured_on)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.SHA256, r.Label, r.Notes, r.OriginalName, r.ContentType, r.SizeBytes, r.Width, r.Height, r.StoredPath, r.ThumbPath, r.CreatedBy, now, now, r.SubjectID, r.CapturedOn).Scan(&r.ID)
	if err != nil {
		return err
	}
	if emb != nil {
		if err := putEmbedding(ctx, tx, r.ID, emb, now); err != nil {
			return err
		}
	}
	if err := runHook(tx, after); err != nil {
		return err
	}
	return tx.Commit()
}

func putEmbedding(ctx context.Context, tx *Tx, refID int64, e *domain.NewEmbedding, now int64) error {
	if err := insertEmbedding(ctx, tx, refID, e, now); err != nil {
		return err
	}
	// A cached fused vector was made from the old descriptors.
	_, err := tx.ExecContext(ctx, `DELETE FROM fused_vectors WHERE reference_id = ?`, refID)
	return err
}

// insertEmbedding writes (or replaces) the embedding row only; putEmbedding
// also drops the reference's cached fused vector.
func insertEmbedding(ctx context.Context, tx *Tx, refID int64, e *domain.NewEmbedding, now int64) error {
	f := e.Face
	if f == nil {
		f = &domain.FaceRecord{Found: e.FaceFound}
	}
	var faces sql.NullInt64
	if e.Face != nil {
		faces = sql.NullInt64{Int64: int64(f.Faces), Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO embeddings (reference_id, model_id, dim, vector, face_found, hog, hog_wide, created_at,
			faces, face_confidence, face_box, face_manual, interocular_px, sharpness, yaw_deg)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (reference_id, model_id) DO UPDATE SET dim = excluded.dim, vector = excluded.vector,
		face_found = excluded.face_found, hog = excluded.hog, hog_wide = excluded.hog_wide, created_at = excluded.created_at,
		faces = excluded.faces, face_confidence = excluded.face_confidence, face_box = excluded.face_box,
		face_manual = excluded.face_manual, interocular_px = excluded.interocular_px, sharpness = excluded.sharpness,
		yaw_deg = excluded.yaw_deg`,
		refID, e.ModelID, len(e.Vector), EncodeVector(e.Vector), e.FaceFound, e.HOG, e.HOGWide, now,
		faces, f.Confidence, domain.FormatBox(f.Box), f.Manual, f.InterocularPx, f.Sharpness, f.YawDeg)
	return err
}

// PutEmbedding stores (or replaces) the embedding of a reference for a model.
// It fails with not-found semantics (foreign key) if the reference is gone.
func (db *DB) PutEmbedding(ctx context.Context, refID int64, e *domain.NewEmbedding) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := putEmbedding(ctx, tx, refID, e, db.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// ReferenceByID returns the reference or ErrNotFound.
func (db *DB) ReferenceByID(ctx context.Context, id int64) (*domain.Reference, error) {
	return scanRef(db.QueryRowContext(ctx, `SELECT `+refCols+` FROM "references" WHERE id = ?`, id))
}

// ReferenceBySHA returns the reference with that content hash or ErrNotFound.
func (db *DB) ReferenceBySHA(ctx context.Context, sha string) (*domain.Reference, error) {
	return scanRef(db.QueryRowContext(ctx, `SELECT `+refCols+` FROM "references" WHERE sha256 = ?`, sha))
}

// ListReferences pages through the gallery (newest first), optionally
// filtered by a label substring, marking which have an embedding for model.
func (db *DB) ListReferences(ctx context.Context, model, labelLike string, limit, offset int) ([]*domain.Reference, int, error) {
	return db.listReferences(ctx, model, labelLike, limit, offset, 0)
}

// ListReferencesBefore is ListReferences for cursor pages: the newest
// references with an id below beforeID (0: from the newest). total counts
// every match, not only those below the cursor.
func (db *DB) ListReferencesBefore(ctx context.Context, model, labelLike string, limit int, beforeID int64) ([]*domain.Reference, int, error) {
	return db.listReferences(ctx, model, labelLike, limit, 0, beforeID)
}

func (db *DB) listReferences(ctx context.Context, model, labelLike string, limit, offset int, beforeID int64) ([]*domain.Reference, int, error) {
	where, args := "", []any{}
	if labelLike != "" {
		where = ` WHERE lower(r.label) LIKE lower(?) ESCAPE '\'`
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(labelLike)
		args = append(args, "%"+esc+"%")
	}
	var total int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "references" r`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if beforeID > 0 {
		if where == "" {
			where = " WHERE r.id < ?"
		} else {
			where += " AND r.id < ?"
		}
		args = append(args, beforeID)
	}
	q := `SELECT ` + refColsR + `, ` + faceCols + `
		FROM "references" r LEFT JOIN embeddings e ON e.reference_id = r.id AND e.model_id = ?` + where + ` ORDER BY r.id DESC LIMIT ? OFFSET ?`
	rows, err := db.QueryContext(ctx, q, append(append([]any{model}, args...), limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*domain.Reference
	for rows.Next() {
		var fs faceScan
		r, err := scanRef(rows, fs.dest()...)
		if err != nil {
			return nil, 0, err
		}
		r.Face = fs.record()
		r.HasEmbedding = r.Face != nil
		out = append(out, r)
	}
	return out, total, translate(rows.Err())
}

// ReferencesByIDs returns the references with the given ids, keyed by id.
func (db *DB) ReferencesByIDs(ctx context.Context, ids []int64) (map[int64]*domain.Reference, error) {
	out := make(map[int64]*domain.Reference, len(ids))
	err := db.eachByIDs(ctx, `SELECT `+refCols+` FROM "references" WHERE id IN (%s)`, nil, ids, func(rows *sql.Rows) error {
		r, err := scanRef(rows)
		if err == nil {
			out[r.ID] = r
		}
		return err
	})
	return out, err
}

// eachByIDs runs query (whose %s is an IN list) for ids, 500 at a time so
// no statement exceeds SQLite's parameter limit, with lead before the ids,
// and calls scan for every row.
func (db *DB) eachByIDs(ctx context.Context, query string, lead []any, ids []int64, scan func(*sql.Rows) error) error {
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		args := append(make([]any, 0, len(lead)+end-start), lead...)
		for _, id := range ids[start:end] {
			args = append(args, id)
		}
		ph := strings.TrimSuffix(strings.Repeat("?,", end-start), ",")
		rows, err := db.QueryContext(ctx, fmt.Sprintf(query, ph), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := translate(rows.Err()); err != nil {
			return err
		}
	}
	return nil
}

// UpdateReference changes label and notes, then runs after, in one transaction.
func (db *DB) UpdateReference(ctx context.Context, id int64, label, notes string, after TxHook) error {
	return db.execOne(ctx, after, `UPDATE "references" SET label = ?, notes = ?, updated_at = ? WHERE id = ?`, label, notes, db.Now().Unix(), id)
}

// DeleteReference removes the row (embeddings go with it: ON DELETE
// CASCADE), with its audit row a, in one transaction.
func (db *DB) DeleteReference(ctx context.Context, id int64, a *Audited) error {
	return db.execOne(ctx, a.hook(ctx), `DELETE FROM "references" WHERE id = ?`, id)
}

// execOne runs a statement that must affect exactly one row (else
// ErrNotFound) and the hook, in one transaction.
func (db *DB) execOne(ctx context.Context, after TxHook, query string, args ...any) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrNotFound
	}
	if err := runHook(tx, after); err != nil {
		return err
	}
	return tx.Commit()
}

// CountReferences returns the gallery size and how many have an embedding for model.
func (db *DB) CountReferences(ctx context.Context, model string) (total, embedded int, err error) {
	err = db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM "references"), (SELECT COUNT(*) FROM embeddings WHERE model_id = ?)`, model).Scan(&total, &embedded)
	return
}

// needsEmbedding selects references (aliased r) lacking an embedding for
// the model (the first parameter), or whose embedding predates the face
// record or the wide-crop HOG.
const needsEmbedding = `NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.reference_id = r.id AND e.model_id = ? AND e.faces IS NOT NULL AND e.hog_wide IS NOT NULL)`

// CountWithoutEmbedding counts the references ReferencesWithoutEmbedding
// would return.
func (db *DB) CountWithoutEmbedding(ctx context.Context, model string) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "references" r WHERE `+needsEmbedding, model).Scan(&n)
	return n, err
}

// ReferencesWithoutEmbedding returns up to limit references lacking an
// embedding for model, or with one made before face records existed,
// oldest first.
func (db *DB) ReferencesWithoutEmbedding(ctx context.Context, model string, limit int) ([]*domain.Reference, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+refCols+` FROM "references" r
		WHERE `+needsEmbedding+`
		ORDER BY id LIMIT ?`, model, limit)
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

// StoredPaths returns every photo and thumbnail path the references table
// points at (for the orphan-file sweep and the consistency check).
func (db *DB) StoredPaths(ctx context.Context) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, stored_path, thumb_path FROM "references"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id int64
		var p, t string
		if err := rows.Scan(&id, &p, &t); err != nil {
			return nil, err
		}
		out[p], out[t] = id, id
	}
	return out, translate(rows.Err())
}

// EachEmbedding streams every searchable embedding (face found or marked)
// of model with the given dimension (start-up load of the index), in
// reference id order on SQLite and in no particular order on PostgreSQL. The *StoredEmbedding and
// its Vector are reused between calls: fn must copy what it keeps.
func (db *DB) EachEmbedding(ctx context.Context, model string, dim int, fn func(*domain.StoredEmbedding) error) error {
	if db.Dialect == Postgres {
		return db.eachEmbeddingPG(ctx, model, dim, fn)
	}
	rows, err := db.QueryContext(ctx, `SELECT reference_id, vector, face_found FROM embeddings WHERE model_id = ? AND dim = ? AND face_found = 1 ORDER BY reference_id`, model, dim)
	if err != nil {
		return err
	}
	defer rows.Close()
	e := domain.StoredEmbedding{Vector: make([]float32, dim)}
	var blob sql.RawBytes // valid until the next Next; decoded at once
	for rows.Next() {
		if err := rows.Scan(&e.ReferenceID, &blob, &e.FaceFound); err != nil {
			return err
		}
		if len(blob) != 4*dim {
			return fmt.Errorf("embedding of reference %d has %d bytes, want %d", e.ReferenceID, len(blob), 4*dim)
		}
		DecodeVectorInto(e.Vector, blob)
		if err := fn(&e); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}

// EncodeVector is the little-endian float32 blob format of embeddings.
func EncodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// DecodeVector is the inverse of EncodeVector.
func DecodeVector(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	DecodeVectorInto(v, b)
	return v
}

// DecodeVectorInto decodes b into v (len(b) == 4*len(v)).
func DecodeVectorInto(v []float32, b []byte) {
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// HOGs returns the stored HOG descriptors of the given references for model
// (second-stage re-ranking reads only the top candidates' descriptors, so
// they need no memory per reference between searches).
func (db *DB) HOGs(ctx context.Context, model string, ids []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(ids))
	err := db.eachByIDs(ctx, `SELECT reference_id, hog FROM embeddings WHERE model_id = ? AND hog IS NOT NULL AND reference_id IN (%s)`, []any{model}, ids,
		func(rows *sql.Rows) error {
			var id int64
			var b []byte
			if err := rows.Scan(&id, &b); err != nil {
				return err
			}
			out[id] = b
			return nil
		})
	return out, err
}

// SearchableIDs returns the ids of references that have a searchable
// embedding (face found or marked) for model: what the index holds.
func (db *DB) SearchableIDs(ctx context.Context, model string) (map[int64]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT reference_id FROM embeddings WHERE model_id = ? AND face_found = 1`, model)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, translate(rows.Err())
}

// SearchableVector returns one reference's stored vector for model, or
// ErrNotFound when it has none or no face was found in it.
func (db *DB) SearchableVector(ctx context.Context, refID int64, model string) ([]float32, error) {
	var blob []byte
	if err := db.QueryRowContext(ctx, `SELECT vector FROM embeddings WHERE reference_id = ? AND model_id = ? AND face_found = 1`, refID, model).Scan(&blob); err != nil {
		return nil, err
	}
	return DecodeVector(blob), nil
}

// SearchableChecksum returns the number of searchable references of model
// and the sum of their ids: a cheap fingerprint of the index's id set.
func (db *DB) SearchableChecksum(ctx context.Context, model string) (n int, sum int64, err error) {
	err = db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(reference_id), 0) FROM embeddings WHERE model_id = ? AND face_found = 1`, model).Scan(&n, &sum)
	return n, sum, err
}
