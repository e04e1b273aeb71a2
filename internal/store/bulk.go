package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// InsertReferences inserts many references (and their embeddings) in one
// transaction, then runs after in it: the batch is written whole or not at
// all. Like InsertReference, a reference with SubjectID 0 gets a new
// subject of its own (named SubjectName, else its label); one with a
// SubjectID joins that live subject. IDs, subject ids and timestamps are
// set on the references before after runs. The photos and thumbnails must
// already be stored (gallery.Files) under their StoredPath and ThumbPath.
//
// It is the bulk path for seeding and imports: one transaction and one
// round trip per row and table, with no per-row re-check of cached fused
// vectors (a new reference has none).
func (db *DB) InsertReferences(ctx context.Context, refs []domain.NewReferenceWithEmbedding, after TxHook) error {
	if len(refs) == 0 {
		return runHookAlone(ctx, db, after)
	}
	now := db.Now().Unix()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i, n := range refs {
		r := n.Reference
		if r == nil {
			return fmt.Errorf("store: InsertReferences: row %d has no reference", i)
		}
		r.CreatedAt, r.UpdatedAt = now, now
		if r.SubjectID == 0 {
			name := r.SubjectName
			if name == "" {
				name = r.Label
			}
			if r.SubjectID, err = insertSubject(ctx, tx, name, r.CreatedBy, now); err != nil {
				return fmt.Errorf("row %d: %w", i, err)
			}
			r.SubjectName = name
		} else if err := liveSubject(ctx, tx, r.SubjectID); err != nil {
			return fmt.Errorf("row %d: subject %d: %w", i, r.SubjectID, err)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO "references" (sha256, label, notes, original_name, content_type, size_bytes, width, height, stored_path, thumb_path, created_by, created_at, updated_at, subject_id, captured_on)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.SHA256, r.Label, r.Notes, r.OriginalName, r.ContentType, r.SizeBytes, r.Width, r.Height, r.StoredPath, r.ThumbPath, r.CreatedBy, now, now, r.SubjectID, r.CapturedOn).Scan(&r.ID)
		if err != nil {
			return fmt.Errorf("row %d (%s): %w", i, r.SHA256, err)
		}
		if n.Embedding != nil {
			if err := insertEmbedding(ctx, tx, r.ID, n.Embedding, now); err != nil {
				return fmt.Errorf("row %d: embedding: %w", i, err)
			}
		}
	}
	if err := runHook(tx, after); err != nil {
		return err
	}
	return tx.Commit()
}

// runHookAlone runs a hook in a transaction of its own (an empty batch
// still records what the caller's hook records).
func runHookAlone(ctx context.Context, db *DB, after TxHook) error {
	if after == nil {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := after(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// DominantModel returns the model id and dimension with the most
// embeddings (restricted to model want when it is not ""), or ErrNotFound
// when there are none.
func (db *DB) DominantModel(ctx context.Context, want string) (model string, dim int, err error) {
	q := `SELECT model_id, dim FROM embeddings GROUP BY model_id, dim ORDER BY COUNT(*) DESC, model_id LIMIT 1`
	args := []any{}
	if want != "" {
		q = `SELECT model_id, dim FROM embeddings WHERE model_id = ? GROUP BY model_id, dim ORDER BY COUNT(*) DESC LIMIT 1`
		args = append(args, want)
	}
	err = db.QueryRowContext(ctx, q, args...).Scan(&model, &dim)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return "", 0, err
	}
	return model, dim, err
}
