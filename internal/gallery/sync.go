package gallery

import (
	"context"
	"time"
)

// SyncIndex brings the live index in line with the embeddings cache when
// another process changed it (for example `sketchmatch import` or
// `reindex` while the server runs): vectors of new references are added,
// deleted ones removed; a newer calibration of the active model (stored by
// `sketchmatch calibrate`) re-centres the index; changed reference metadata
// (`import --metadata`) is reloaded. It returns how many
// entries changed.
func (s *Service) SyncIndex(ctx context.Context) (added, removed int, err error) {
	idx, _ := s.snapshot()
	if idx == nil {
		return 0, 0, nil
	}
	if err := s.refreshCalibration(ctx); err != nil {
		return 0, 0, err
	}
	idx, _ = s.snapshot()
	if err := s.syncMetadata(ctx); err != nil {
		return 0, 0, err
	}
	// Equal counts and equal sums of ids mean nothing to do (with several
	// instances on PostgreSQL, a delete on one and an insert on another
	// keep the count); the id lists are compared only when they differ.
	if n, sum, err := s.db.SearchableChecksum(ctx, s.enc.ModelID()); err != nil {
		return 0, 0, err
	} else if n == idx.Len() && sum == sumIDs(idx.IDs()) {
		return 0, 0, nil
	}
	ids, err := s.db.SearchableIDs(ctx, s.enc.ModelID())
	if err != nil {
		return 0, 0, err
	}
	for _, id := range idx.IDs() {
		if !ids[id] {
			idx.Remove(id)
			removed++
		}
	}
	for id := range ids {
		if !idx.Has(id) {
			if err := s.reloadOne(ctx, id); err != nil {
				return added, removed, err
			}
			added++
		}
	}
	if added > 0 {
		// Photos another process imported may belong to people this one
		// knows: read the map again so results fold them in.
		if err := s.loadSubjects(ctx); err != nil {
			return added, removed, err
		}
	}
	if added > 0 || removed > 0 {
		s.log.Info("index synchronised with the database", "added", added, "removed", removed, "size", idx.Len())
	}
	return added, removed, nil
}

// Maintain runs until ctx ends: every interval it embeds references that
// lack a vector and synchronises the index with changes made by other
// processes. The server starts it.
func (s *Service) Maintain(ctx context.Context, interval time.Duration) {
	if s.enc == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// One instance at a time on PostgreSQL: the others skip this round.
		if _, err := s.db.ReindexAlone(ctx, func() error { _, err := s.Reindex(ctx, nil); return err }); err != nil && ctx.Err() == nil {
			s.log.Error("background reindex", "err", err)
		}
		if _, _, err := s.SyncIndex(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("index sync", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sumIDs(ids []int64) int64 {
	var sum int64
	for _, id := range ids {
		sum += id
	}
	return sum
}
