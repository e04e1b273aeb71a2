package gallery

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/fusion"
	"github.com/sketchmatch/sketchmatch/internal/hog"
	"github.com/sketchmatch/sketchmatch/internal/index"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// storedDescriptors returns the HOG descriptors of e as the embeddings
// table stores them (float16): tight crop, wide crop.
func storedDescriptors(e *embed.Embedding) (tight, wide []byte) {
	if e.Aligned != nil {
		tight = hog.Encode(hog.Compute(e.Aligned))
	}
	if e.AlignedWide != nil {
		wide = hog.Encode(hog.Compute(e.AlignedWide))
	}
	return tight, wide
}

// photoParts decodes a reference's stored descriptors (a missing or
// damaged one stays nil: the reference then ranks on its embedding alone).
func photoParts(vec []float32, tight, wide []byte) fusion.Parts {
	p := fusion.Parts{Emb: vec}
	if t, err := hog.Decode(tight); err == nil && len(t) == hog.Len() {
		if w, err := hog.Decode(wide); err == nil && len(w) == hog.Len() {
			p.Tight, p.Wide = t, w
		}
	}
	return p
}

// sketchParts are a probe's descriptors, computed as Search computes them.
func sketchParts(e *embed.Embedding) fusion.Parts {
	p := fusion.Parts{Emb: e.Vector}
	if e.Aligned != nil && e.AlignedWide != nil {
		p.Tight, p.Wide = hog.Compute(e.Aligned), hog.Compute(e.AlignedWide)
	}
	return p
}

// loadFusedIndex builds the index of fused vectors under cal: cached
// vectors are read as they are; the others (references added or
// re-embedded since, or all of them after a new calibration) are projected
// on every core and cached for the next start.
func (s *Service) loadFusedIndex(ctx context.Context, cal *calibration) (*index.Index, error) {
	m := cal.fusion
	dim := m.Dim()
	idx := s.newIndex(dim)
	if _, embedded, err := s.db.CountReferences(ctx, s.enc.ModelID()); err == nil {
		idx.Reserve(embedded)
	}
	type todo struct {
		id          int64
		vec         []float32
		tight, wide []byte
	}
	const batch = 4096
	var (
		pending  []todo
		computed []domain.FusedVector
		ids      = make([]int64, 0, batch)
		vecs     = make([]float32, 0, batch*dim)
	)
	flush := func() error {
		out := make([]domain.FusedVector, len(pending))
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(pending); i += workers {
					t := pending[i]
					v, _ := m.Photo(photoParts(t.vec, t.tight, t.wide))
					out[i] = domain.FusedVector{ReferenceID: t.id, Vector: v}
				}
			}()
		}
		wg.Wait()
		pending = pending[:0]
		for _, fv := range out {
			ids = append(ids, fv.ReferenceID)
			vecs = append(vecs, fv.Vector...)
		}
		computed = append(computed, out...)
		err := idx.AddBatch(ids, vecs)
		ids, vecs = ids[:0], vecs[:0]
		return err
	}
	err := s.db.EachFusionInput(ctx, s.enc.ModelID(), s.enc.Dim(), cal.id, func(in *domain.FusionInput) error {
		if len(in.Fused) == 4*dim {
			ids = append(ids, in.ReferenceID)
			n := len(vecs)
			vecs = vecs[:n+dim]
			store.DecodeVectorInto(vecs[n:], in.Fused)
			if len(ids) == batch {
				err := idx.AddBatch(ids, vecs)
				ids, vecs = ids[:0], vecs[:0]
				return err
			}
			return nil
		}
		pending = append(pending, todo{in.ReferenceID, append([]float32(nil), in.Vector...),
			append([]byte(nil), in.HOG...), append([]byte(nil), in.HOGWide...)})
		if len(pending) == 256 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the fused index: %w", err)
	}
	if len(computed) > 0 {
		start := time.Now()
		if err := s.db.PutFusedVectors(ctx, cal.id, computed); err != nil {
			// Only a cache: the next start computes them again.
			s.log.Warn("caching fused vectors failed", "calibration", cal.id, "err", err)
		} else {
			s.log.Info("fused vectors computed and cached", "calibration", cal.id, "vectors", len(computed), "ms", time.Since(start).Milliseconds())
		}
	}
	return idx, nil
}

// indexVector is the index row of a reference under cal: the centred
// encoder vector, or with a fused-search model the fused vector.
func indexVector(cal *calibration, raw []float32, tight, wide []byte) []float32 {
	if m := cal.fused(); m != nil {
		v, _ := m.Photo(photoParts(raw, tight, wide))
		return v
	}
	v := append([]float32(nil), raw...)
	cal.centrePhoto(v)
	return v
}
