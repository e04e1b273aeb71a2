package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// EachFusionInput streams every searchable embedding (face found or
// marked) of model with dimension dim in
// reference id order, with its fused vector cached under calibration calID.
// The descriptors are read only for rows without a cached vector. The
// *FusionInput and its slices are reused between calls: fn must copy what
// it keeps.
func (db *DB) EachFusionInput(ctx context.Context, model string, dim int, calID int64, fn func(*domain.FusionInput) error) error {
	rows, err := db.QueryContext(ctx, `SELECT e.reference_id, e.vector, f.vector,
		CASE WHEN f.vector IS NULL THEN e.hog END, CASE WHEN f.vector IS NULL THEN e.hog_wide END
		FROM embeddings e LEFT JOIN fused_vectors f ON f.reference_id = e.reference_id AND f.calibration_id = ?
		WHERE e.model_id = ? AND e.dim = ? AND e.face_found = 1 ORDER BY e.reference_id`, calID, model, dim)
	if err != nil {
		return err
	}
	defer rows.Close()
	in := domain.FusionInput{Vector: make([]float32, dim)}
	var vec, fused, tight, wide sql.RawBytes // valid until the next Next
	for rows.Next() {
		if err := rows.Scan(&in.ReferenceID, &vec, &fused, &tight, &wide); err != nil {
			return err
		}
		in.Fused, in.HOG, in.HOGWide = fused, tight, wide
		if len(vec) != 4*dim {
			return fmt.Errorf("embedding of reference %d has %d bytes, want %d", in.ReferenceID, len(vec), 4*dim)
		}
		DecodeVectorInto(in.Vector, vec)
		if err := fn(&in); err != nil {
			return err
		}
	}
	return translate(rows.Err())
}

// PutFusedVectors caches fused vectors under calibration calID and drops
// those of older calibrations. A reference deleted meanwhile is skipped.
func (db *DB) PutFusedVectors(ctx context.Context, calID int64, vs []domain.FusedVector) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM fused_vectors WHERE calibration_id <> ?`, calID); err != nil {
		return err
	}
	// The reference's id comes from its row, so a reference deleted
	// meanwhile inserts nothing (rather than failing the foreign key).
	st, err := tx.PrepareContext(ctx, `INSERT INTO fused_vectors (reference_id, calibration_id, vector)
		SELECT id, CAST(? AS BIGINT), ? FROM "references" WHERE id = ?
		ON CONFLICT (reference_id, calibration_id) DO UPDATE SET vector = excluded.vector`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, v := range vs {
		if _, err := st.ExecContext(ctx, calID, EncodeVector(v.Vector), v.ReferenceID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Descriptors returns one reference's stored HOG descriptors for model
// (nil when absent), or ErrNotFound.
func (db *DB) Descriptors(ctx context.Context, refID int64, model string) (hog, wide []byte, err error) {
	err = db.QueryRowContext(ctx, `SELECT hog, hog_wide FROM embeddings WHERE reference_id = ? AND model_id = ?`, refID, model).Scan(&hog, &wide)
	return hog, wide, err
}
