package store

import (
	"context"
	"database/sql"
	"image"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// faceCols are the embeddings columns of a FaceRecord, for a table aliased e.
const faceCols = `e.faces, e.face_found, e.face_manual, e.face_confidence, e.face_box, e.interocular_px, e.sharpness, e.yaw_deg`

// faceScan holds the nullable columns of faceCols (a LEFT JOIN may find
// no embedding).
type faceScan struct {
	faces                 sql.NullInt64
	found, manual         sql.NullBool
	conf, iod, sharp, yaw sql.NullFloat64
	box                   sql.NullString
}

func (f *faceScan) dest() []any {
	return []any{&f.faces, &f.found, &f.manual, &f.conf, &f.box, &f.iod, &f.sharp, &f.yaw}
}

// record is nil when there was no embedding row.
func (f *faceScan) record() *domain.FaceRecord {
	if !f.found.Valid {
		return nil
	}
	box, _ := domain.ParseBox(f.box.String)
	return &domain.FaceRecord{Checked: f.faces.Valid, Found: f.found.Bool, Manual: f.manual.Bool, Confidence: f.conf.Float64,
		Box: box, Faces: int(f.faces.Int64), InterocularPx: f.iod.Float64, Sharpness: f.sharp.Float64, YawDeg: f.yaw.Float64}
}

// ReferenceFace returns the face record of a reference's embedding for
// model, nil when it has none yet.
func (db *DB) ReferenceFace(ctx context.Context, refID int64, model string) (*domain.FaceRecord, error) {
	var fs faceScan
	err := db.QueryRowContext(ctx, `SELECT `+faceCols+` FROM embeddings e WHERE e.reference_id = ? AND e.model_id = ?`, refID, model).Scan(fs.dest()...)
	if domain.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return fs.record(), nil
}

// CountFaces counts the embedded references of model by face state.
func (db *DB) CountFaces(ctx context.Context, model string) (domain.FaceCounts, error) {
	var c domain.FaceCounts
	err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN face_found = 1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN face_found = 0 AND faces IS NOT NULL THEN 1 ELSE 0 END), 0)
		FROM embeddings WHERE model_id = ?`, model).Scan(&c.Searchable, &c.NoFace)
	return c, err
}

// SetFaceBox stores the box an admin drew on a reference and the embedding
// made from it, with its audit row a, in one transaction.
func (db *DB) SetFaceBox(ctx context.Context, refID int64, box image.Rectangle, e *domain.NewEmbedding, a *Audited) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := db.Now().Unix()
	res, err := tx.ExecContext(ctx, `UPDATE "references" SET face_box = ?, updated_at = ? WHERE id = ?`, domain.FormatBox(box), now, refID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrNotFound
	}
	if err := putEmbedding(ctx, tx, refID, e, now); err != nil {
		return err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}
