package gallery

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Follow keeps this instance's in-memory index in step with changes that
// other instances (and `import`, `reindex`, `calibrate`) commit to a shared
// PostgreSQL database, as the database announces them (store.IndexChannel):
// a new or changed embedding of the active model is (re)loaded or dropped,
// a deleted one removed, a new calibration re-centres the index, changed
// metadata reloads the witness-filter cache. On (re)connecting it runs
// SyncIndex, since announcements made while no one listened are lost;
// Maintain's periodic SyncIndex remains the safety net. It returns when ctx
// ends; on SQLite at once (one process: Maintain covers other commands).
//
// A delete is safe even before its announcement arrives: search looks the
// ranked ids up in the database and drops those that are gone.
func (s *Service) Follow(ctx context.Context) {
	if s.enc == nil || !s.db.Announces() {
		return
	}
	model := s.enc.ModelID()
	metaDirty, subjectsDirty := make(chan struct{}, 1), make(chan struct{}, 1)
	go func() {
		for {
			subjects := false
			select {
			case <-ctx.Done():
				return
			case <-metaDirty:
			case <-subjectsDirty:
				subjects = true
			}
			// A photo that changed person takes its new person's
			// metadata: the map first, then the metadata.
			if subjects {
				if err := s.loadSubjects(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("follow: reloading people", "err", err)
				}
			}
			if err := s.loadMetadata(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("follow: reloading metadata", "err", err)
			}
			// At most one reload a second however many rows an import writes.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	s.db.ListenReporting(ctx, store.IndexChannel,
		func() {
			if _, _, err := s.SyncIndex(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("follow: index sync", "err", err)
			}
		},
		func(payload string) {
			op, rest, _ := strings.Cut(payload, ":")
			idText, m, _ := strings.Cut(rest, ":")
			id, _ := strconv.ParseInt(idText, 10, 64)
			var err error
			switch {
			case op == "M":
				select {
				case metaDirty <- struct{}{}:
				default:
				}
			case op == "S":
				select {
				case subjectsDirty <- struct{}{}:
				default:
				}
			case m != model:
			case op == "C":
				err = s.refreshCalibration(ctx)
			case op == "D":
				s.forget(id)
			case op == "I" || op == "U":
				err = s.follow(ctx, id)
			}
			if err != nil && ctx.Err() == nil {
				s.log.Error("follow: applying a change", "change", payload, "err", err)
			}
		},
		func(err error) { s.log.Warn("follow: lost the notification connection; reconnecting", "err", err) })
}

// follow brings one reference's index entry in line with the database.
func (s *Service) follow(ctx context.Context, id int64) error {
	if _, err := s.db.SearchableVector(ctx, id, s.enc.ModelID()); domain.IsNotFound(err) {
		s.forget(id) // gone, or no longer searchable (no face)
		return nil
	} else if err != nil {
		return err
	}
	s.hogs.drop(id)
	s.invalidateCounts()
	return s.reloadOne(ctx, id)
}

// forget removes a reference from the index and the caches.
func (s *Service) forget(id int64) {
	if idx, _ := s.snapshot(); idx != nil {
		idx.Remove(id)
	}
	s.hogs.drop(id)
	s.invalidateCounts()
}
