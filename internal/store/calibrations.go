package store

import (
	"context"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// InsertCalibration stores c and sets c.ID, with its audit row a (its
// Target set to "calibration:ID"), in one transaction; the newest
// calibration of a model is the active one.
func (db *DB) InsertCalibration(ctx context.Context, c *domain.Calibration, a *Audited) error {
	c.CreatedAt = db.Now().Unix()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `INSERT INTO calibrations (model_id, created_at, created_by, source, n_pairs, photo_mean, sketch_mean, bands, fusion, fusion_note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.ModelID, c.CreatedAt, c.CreatedBy, c.Source, c.NPairs,
		EncodeVector(c.PhotoMean), EncodeVector(c.SketchMean), c.Bands, c.Fusion, c.FusionNote).Scan(&c.ID)
	if err != nil {
		return err
	}
	a.setTarget("calibration:%d", c.ID)
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// LatestCalibration returns the newest calibration made for model, or
// ErrNotFound. A calibration of another model is never returned.
func (db *DB) LatestCalibration(ctx context.Context, model string) (*domain.Calibration, error) {
	c := &domain.Calibration{}
	var pm, sm []byte
	err := db.QueryRowContext(ctx, `SELECT id, model_id, created_at, created_by, source, n_pairs, photo_mean, sketch_mean, bands, fusion, fusion_note
		FROM calibrations WHERE model_id = ? ORDER BY id DESC LIMIT 1`, model).
		Scan(&c.ID, &c.ModelID, &c.CreatedAt, &c.CreatedBy, &c.Source, &c.NPairs, &pm, &sm, &c.Bands, &c.Fusion, &c.FusionNote)
	if err != nil {
		return nil, err
	}
	c.PhotoMean, c.SketchMean = DecodeVector(pm), DecodeVector(sm)
	return c, nil
}

// InsertEvalReport stores r.
func (db *DB) InsertEvalReport(ctx context.Context, r *domain.EvalReport) error {
	r.CreatedAt = db.Now().Unix()
	err := db.QueryRowContext(ctx, `INSERT INTO eval_reports (model_id, created_at, summary, report, plot_png) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		r.ModelID, r.CreatedAt, r.Summary, r.Report, r.PlotPNG).Scan(&r.ID)
	if err != nil {
		return err
	}
	return err
}

// LatestEvalReport returns the newest report for model, or ErrNotFound.
func (db *DB) LatestEvalReport(ctx context.Context, model string) (*domain.EvalReport, error) {
	r := &domain.EvalReport{}
	err := db.QueryRowContext(ctx, `SELECT id, model_id, created_at, summary, report, plot_png FROM eval_reports WHERE model_id = ? ORDER BY id DESC LIMIT 1`, model).
		Scan(&r.ID, &r.ModelID, &r.CreatedAt, &r.Summary, &r.Report, &r.PlotPNG)
	return r, err
}
