package store

import (
	"context"
	"database/sql"
	"fmt"
	"image"
	"strconv"
	"strings"
)

// FaceRecord is the stored face-quality record of one embedding: what the
// detector found in the image (see embed.FaceQuality).
type FaceRecord struct {
	// Checked is false for embeddings made before face records existed;
	// reindex embeds them again.
	Checked       bool
	Found         bool // detected, or Manual: searchable
	Manual        bool // the box was drawn by a person
	Confidence    float64
	Box           image.Rectangle
	Faces         int
	InterocularPx float64
	Sharpness     float64
	YawDeg        float64
}

// FormatBox is the stored text form of a box ("x0,y0,x1,y1"; "" when empty).
func FormatBox(r image.Rectangle) string {
	if r.Empty() {
		return ""
	}
	return fmt.Sprintf("%d,%d,%d,%d", r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
}

// ParseBox reads FormatBox's form; "" is the empty rectangle.
func ParseBox(s string) (image.Rectangle, error) {
	if s == "" {
		return image.Rectangle{}, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, fmt.Errorf("box %q: want x0,y0,x1,y1", s)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, fmt.Errorf("box %q: %v", s, err)
		}
		v[i] = n
	}
	return image.Rect(v[0], v[1], v[2], v[3]), nil
}

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
func (f *faceScan) record() *FaceRecord {
	if !f.found.Valid {
		return nil
	}
	box, _ := ParseBox(f.box.String)
	return &FaceRecord{Checked: f.faces.Valid, Found: f.found.Bool, Manual: f.manual.Bool, Confidence: f.conf.Float64,
		Box: box, Faces: int(f.faces.Int64), InterocularPx: f.iod.Float64, Sharpness: f.sharp.Float64, YawDeg: f.yaw.Float64}
}

// ReferenceFace returns the face record of a reference's embedding for
// model, nil when it has none yet.
func (db *DB) ReferenceFace(ctx context.Context, refID int64, model string) (*FaceRecord, error) {
	var fs faceScan
	err := db.QueryRowContext(ctx, `SELECT `+faceCols+` FROM embeddings e WHERE e.reference_id = ? AND e.model_id = ?`, refID, model).Scan(fs.dest()...)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return fs.record(), nil
}

// FaceCounts are the gallery's references by face state for one model.
type FaceCounts struct {
	Searchable int // embedded with a face (detected or marked): in the index
	NoFace     int // embedded, no face found: stored but not searched
}

// CountFaces counts the embedded references of model by face state.
func (db *DB) CountFaces(ctx context.Context, model string) (FaceCounts, error) {
	var c FaceCounts
	err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN face_found = 1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN face_found = 0 AND faces IS NOT NULL THEN 1 ELSE 0 END), 0)
		FROM embeddings WHERE model_id = ?`, model).Scan(&c.Searchable, &c.NoFace)
	return c, err
}

// SetFaceBox stores the box an admin drew on a reference and the embedding
// made from it, with its audit row a, in one transaction.
func (db *DB) SetFaceBox(ctx context.Context, refID int64, box image.Rectangle, e *NewEmbedding, a *Audited) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := db.Now().Unix()
	res, err := tx.ExecContext(ctx, `UPDATE "references" SET face_box = ?, updated_at = ? WHERE id = ?`, FormatBox(box), now, refID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if err := putEmbedding(ctx, tx, refID, e, now); err != nil {
		return err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}
