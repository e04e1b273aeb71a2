package gallery

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
)

// Reindex embeds every reference lacking an embedding for the active model,
// and re-embeds those stored before the wide-crop HOG descriptor existed,
// in batches, and adds them to the live index. progress (may be nil) is
// called after each batch. Used at start-up in the background and by
// `sketchmatch reindex`.
func (s *Service) Reindex(ctx context.Context, progress func(done, total int)) (int, error) {
	if s.enc == nil {
		return 0, s.unavailable()
	}
	if !s.reindex.running.CompareAndSwap(false, true) {
		return 0, apperr.Errorf(apperr.ECONFLICT, "A reindex is already running.")
	}
	defer s.reindex.running.Store(false)
	model := s.enc.ModelID()
	todo, err := s.db.CountWithoutEmbedding(ctx, model)
	if err != nil {
		return 0, err
	}
	s.reindex.total.Store(int64(todo))
	s.reindex.done.Store(0)
	if todo == 0 {
		return 0, nil
	}
	s.log.Info("reindex started", "model", model, "to_embed", todo)
	start := time.Now()
	done, failed := 0, map[int64]bool{}
	// redone: embedded in this run (never twice, even should a row still
	// look incomplete afterwards).
	redone := map[int64]bool{}
	for {
		refs, err := s.db.ReferencesWithoutEmbedding(ctx, model, 16+len(failed)+len(redone))
		if err != nil {
			return done, err
		}
		var batch []*domain.Reference
		for _, r := range refs {
			if !failed[r.ID] && !redone[r.ID] {
				batch = append(batch, r)
			}
		}
		if len(batch) == 0 {
			break
		}
		imgs := make([]image.Image, 0, len(batch))
		var ok []*domain.Reference
		for _, r := range batch {
			img, err := s.loadImage(r)
			if err != nil {
				s.log.Error("reindex: cannot read reference image", "reference", r.ID, "err", err)
				failed[r.ID] = true
				continue
			}
			imgs = append(imgs, img)
			ok = append(ok, r)
		}
		if len(ok) == 0 {
			continue
		}
		embs, err := s.embedReferences(ctx, ok, imgs)
		if err != nil {
			if apperr.Code(err) == apperr.EUNAVAILABLE && ctx.Err() == nil {
				time.Sleep(200 * time.Millisecond) // the pool is busy with searches: yield
				continue
			}
			return done, err
		}
		for i, r := range ok {
			e := embs[i]
			if e == nil {
				failed[r.ID] = true
				continue
			}
			redone[r.ID] = true
			ne := s.newEmbedding(e)
			if err := s.db.PutEmbedding(ctx, r.ID, ne); err != nil {
				if errors.Is(err, context.Canceled) {
					return done, err
				}
				// The reference may have been deleted meanwhile.
				s.log.Warn("reindex: storing embedding", "reference", r.ID, "err", err)
				failed[r.ID] = true
				continue
			}
			s.hogs.drop(r.ID)
			s.indexPut(r.ID, ne)
			s.invalidateCounts()
			done++
		}
		s.reindex.done.Store(int64(done))
		if progress != nil {
			progress(done, todo)
		}
		s.log.Info("reindex progress", "done", done, "total", todo)
	}
	s.log.Info("reindex finished", "embedded", done, "failed", len(failed), "seconds", time.Since(start).Seconds())
	if len(failed) > 0 {
		return done, fmt.Errorf("%d references could not be embedded (see the log)", len(failed))
	}
	return done, nil
}

// embedReferences embeds the images of refs: in one batch, except those
// with a face box drawn by an admin, which are embedded from that box. A
// reference whose image failed is nil in the result (with a *BatchError).
func (s *Service) embedReferences(ctx context.Context, refs []*domain.Reference, imgs []image.Image) ([]*embed.Embedding, error) {
	out := make([]*embed.Embedding, len(refs))
	var plain []image.Image
	var at []int
	errs := make([]error, len(refs))
	for i, r := range refs {
		if be, ok := s.enc.(BoxEncoder); ok && !r.ManualBox.Empty() {
			e, err := be.EmbedBox(ctx, imgs[i], r.ManualBox)
			if apperr.Code(err) == apperr.EUNAVAILABLE || ctx.Err() != nil {
				return nil, err
			}
			out[i], errs[i] = e, err
			continue
		}
		plain, at = append(plain, imgs[i]), append(at, i)
	}
	if len(plain) > 0 {
		embs, err := s.enc.EmbedBatch(ctx, plain)
		var be *embed.BatchError
		if err != nil && !errors.As(err, &be) {
			return nil, err
		}
		for k, i := range at {
			out[i] = embs[k]
			if be != nil {
				errs[i] = be.Errs[k]
			}
		}
	}
	for i, err := range errs {
		if err != nil {
			s.log.Error("reindex: embedding failed", "reference", refs[i].ID, "err", err)
			out[i] = nil
		}
	}
	return out, nil
}

func (s *Service) loadImage(r *domain.Reference) (image.Image, error) {
	f, err := s.files.Open(r.StoredPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, r.SizeBytes+1)
	n, err := io.ReadFull(f, data)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	img, _, err := imagefile.Decode(data[:n], s.limits)
	return img, err
}
