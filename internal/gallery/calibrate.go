package gallery

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/hog"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/index"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Limits of a calibration set. The bands need enough searches per fold to
// mean anything (ComputeBands wants at least 10); the upper bound keeps one
// request's memory (two float32 HOG descriptors, 48 KB, per pair) and
// inference time bounded.
const (
	MinCalibrationPairs = 20
	MaxCalibrationPairs = 1000
	// calibrationChunk pairs are decoded and embedded at a time.
	calibrationChunk = 16
	// BandPrecision is the share of calibration scores at or above the
	// "high" band's threshold that must have been the true person.
	BandPrecision = 0.99
)

// CalibrationPair is one person's photo and sketch from a calibration set.
// Names are data only (shown in error messages), never paths.
type CalibrationPair struct {
	Photo, Sketch Upload
}

// CalibrationReport is what Calibrate computed and stored.
type CalibrationReport struct {
	Calibration *store.Calibration
	Bands       *Bands // nil when the scores could not give bands
	BandsErr    string // why Bands is nil
	Pairs       int    // pairs used
	Dropped     int    // pairs left out because an image could not be embedded
	// NoFacePhotos/NoFaceSketches count images where the detector found no
	// face (a centred crop was used, as in production).
	NoFacePhotos, NoFaceSketches int
	// Rank-1 on the calibration set itself (gallery = its photos, probes =
	// its sketches, scored exactly like Search with the configured HOG
	// weight): uncentred; centred with the means of all pairs (in-sample, so
	// optimistic); and centred with means of the other half of the pairs
	// only (2-fold cross-fitting: no sketch is centred with a mean it
	// contributed to). The bands come from the cross-fitted scores.
	RankOneBefore, RankOneAfter, RankOneHeldOut float64
	// HOGWeight is the second-stage weight the scores and bands used.
	HOGWeight float64
}

// Calibrate computes the per-modality calibration of the active model from
// pairs (the means need no labels; the pairing is only used for the score
// bands and the rank-1 report), stores it bound to the model id, and
// re-centres the live index with it. Every later search centres the probe
// with the sketch mean and records the calibration id. The images go
// through the production path: the same decoding limits and encoder as
// uploads and searches.
func (s *Service) Calibrate(ctx context.Context, who Actor, pairs []CalibrationPair, source string) (*CalibrationReport, error) {
	if s.enc == nil {
		return nil, s.unavailable()
	}
	source, err := cleanText("The source", source, 200, false)
	if err != nil {
		return nil, err
	}
	if len(pairs) < MinCalibrationPairs {
		return nil, apperr.Errorf(apperr.EINVALID, "A calibration needs at least %d photo/sketch pairs of different people; got %d.", MinCalibrationPairs, len(pairs))
	}
	if len(pairs) > MaxCalibrationPairs {
		return nil, apperr.Errorf(apperr.EINVALID, "At most %d pairs per calibration; got %d.", MaxCalibrationPairs, len(pairs))
	}
	start := time.Now()
	rep := &CalibrationReport{HOGWeight: s.hogW}
	var set calibSet
	// Decode and embed a few pairs at a time and keep only the vectors and
	// descriptors: decoded uploads can be large.
	for lo := 0; lo < len(pairs); lo += calibrationChunk {
		chunk := pairs[lo:min(lo+calibrationChunk, len(pairs))]
		imgs := make([]image.Image, 0, 2*len(chunk))
		for _, p := range chunk {
			for _, u := range []struct {
				kind string
				up   Upload
			}{{"photo", p.Photo}, {"sketch", p.Sketch}} {
				img, _, err := imagefile.Decode(u.up.Data, s.limits)
				if err != nil {
					name, _ := cleanText("name", u.up.Name, 255, false)
					return nil, apperr.Wrap(apperr.Code(err), err, "The %s %q cannot be used: %s", u.kind, name, apperr.Message(err))
				}
				imgs = append(imgs, img)
			}
		}
		embs, err := s.enc.EmbedBatch(ctx, imgs)
		var be *embed.BatchError
		if err != nil && !errors.As(err, &be) {
			return nil, err
		}
		for i := range chunk {
			p, sk := embs[2*i], embs[2*i+1]
			if p == nil || sk == nil {
				rep.Dropped++
				continue
			}
			if !p.FaceFound {
				rep.NoFacePhotos++
			}
			if !sk.FaceFound {
				rep.NoFaceSketches++
			}
			set.add(p, sk)
		}
	}
	n := len(pairs)
	rep.Pairs = len(set.photos)
	if rep.Pairs < MinCalibrationPairs {
		return nil, apperr.Errorf(apperr.EINVALID, "Only %d of %d pairs could be embedded; a calibration needs at least %d.", rep.Pairs, n, MinCalibrationPairs)
	}
	all := make([]int, rep.Pairs)
	for i := range all {
		all[i] = i
	}
	photoMean, sketchMean := set.means(all)

	// Rank-1 before and after (in-sample), then the cross-fitted scores
	// that the bands come from.
	before := set.score(nil, nil, all, s.hogW, s.rerankN)
	after := set.score(photoMean, sketchMean, all, s.hogW, s.rerankN)
	var folds [2][]int
	for i := range all {
		folds[i%2] = append(folds[i%2], i)
	}
	var held scores
	for f := range folds {
		pm, sm := set.means(folds[1-f])
		held.merge(set.score(pm, sm, folds[f], s.hogW, s.rerankN))
	}
	rep.RankOneBefore, rep.RankOneAfter, rep.RankOneHeldOut = before.rankOne(), after.rankOne(), held.rankOne()

	c := &store.Calibration{ModelID: s.enc.ModelID(), CreatedBy: who.Username, Source: source, NPairs: rep.Pairs,
		PhotoMean: photoMean, SketchMean: sketchMean}
	if b, err := ComputeBands(held.genuine, held.bestImpostor, held.impostorSample(), BandPrecision, s.hogW); err != nil {
		rep.BandsErr = err.Error()
	} else {
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		c.Bands, rep.Bands = string(js), b
	}
	details := fmt.Sprintf("model=%s pairs=%d dropped=%d source=%q hog_weight=%g rank1_before=%.3f rank1_after=%.3f rank1_heldout=%.3f",
		c.ModelID, rep.Pairs, rep.Dropped, source, s.hogW, rep.RankOneBefore, rep.RankOneAfter, rep.RankOneHeldOut)
	if rep.Bands != nil {
		details += fmt.Sprintf(" band_high=%.4f band_low=%.4f", rep.Bands.High, rep.Bands.Low)
	}
	err = s.db.InsertCalibration(ctx, c, func(tx *sql.Tx) error {
		return s.audit.RecordTx(ctx, tx, audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionCalibration,
			Target: fmt.Sprintf("calibration:%d", c.ID), Outcome: audit.OutcomeSuccess, Details: details})
	})
	if err != nil {
		return nil, storageError(err)
	}
	rep.Calibration = c
	s.log.Info("calibration stored", "user", who.Username, "calibration", c.ID, "model", c.ModelID, "pairs", rep.Pairs,
		"rank1_before", rep.RankOneBefore, "rank1_after", rep.RankOneAfter, "rank1_heldout", rep.RankOneHeldOut,
		"ms", time.Since(start).Milliseconds())
	if err := s.LoadIndex(ctx); err != nil {
		return rep, fmt.Errorf("calibration #%d stored, but re-centring the index failed (it is applied at the next start): %w", c.ID, err)
	}
	return rep, nil
}

// refreshCalibration reloads the index when a newer calibration of the
// active model was stored by another process (`sketchmatch calibrate`
// while the server runs).
func (s *Service) refreshCalibration(ctx context.Context) error {
	c, err := s.db.LatestCalibration(ctx, s.enc.ModelID())
	if store.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, cur := s.snapshot(); cur.ID() == c.ID {
		return nil
	}
	s.log.Info("a new calibration was stored; re-centring the index", "calibration", c.ID)
	return s.LoadIndex(ctx)
}

// calibSet holds the embedded calibration pairs: raw (uncentred) encoder
// vectors and HOG descriptors, the photo's rounded through float16 as the
// gallery stores them.
type calibSet struct {
	dim                   int
	photos, sketches      [][]float32
	photoHOGs, sketchHOGs [][]float32
}

func (c *calibSet) add(p, s *embed.Embedding) {
	c.dim = len(p.Vector)
	c.photos = append(c.photos, p.Vector)
	c.sketches = append(c.sketches, s.Vector)
	var ph, sh []float32
	if p.Aligned != nil {
		ph, _ = hog.Decode(hog.Encode(hog.Compute(p.Aligned)))
	}
	if s.Aligned != nil {
		sh = hog.Compute(s.Aligned)
	}
	c.photoHOGs = append(c.photoHOGs, ph)
	c.sketchHOGs = append(c.sketchHOGs, sh)
}

// means returns the mean photo and mean sketch vector of the pairs in
// which (not renormalised: centring subtracts the mean as it is).
func (c *calibSet) means(which []int) (photo, sketch []float32) {
	pm, sm := make([]float64, c.dim), make([]float64, c.dim)
	for _, i := range which {
		for d := 0; d < c.dim; d++ {
			pm[d] += float64(c.photos[i][d])
			sm[d] += float64(c.sketches[i][d])
		}
	}
	photo, sketch = make([]float32, c.dim), make([]float32, c.dim)
	for d := 0; d < c.dim; d++ {
		photo[d] = float32(pm[d] / float64(len(which)))
		sketch[d] = float32(sm[d] / float64(len(which)))
	}
	return photo, sketch
}

// scores are per-probe outcomes of calibration searches.
type scores struct {
	hits, n               int
	genuine, bestImpostor []float64
	// impostors are the scores of different people in the searches (the
	// candidates each search kept); comparisons counts all impostor
	// comparisons; every impostor score >= complete was kept; gallery is
	// the searched gallery's size.
	impostors   []float64
	comparisons int
	complete    float64
	gallery     int
}

func (s *scores) impostorSample() ImpostorSample {
	return ImpostorSample{Scores: s.impostors, Total: s.comparisons, Complete: s.complete, Gallery: s.gallery}
}

func (s *scores) rankOne() float64 {
	if s.n == 0 {
		return 0
	}
	return float64(s.hits) / float64(s.n)
}

func (s *scores) merge(o scores) {
	s.hits += o.hits
	s.n += o.n
	s.genuine = append(s.genuine, o.genuine...)
	s.bestImpostor = append(s.bestImpostor, o.bestImpostor...)
	s.impostors = append(s.impostors, o.impostors...)
	s.comparisons += o.comparisons
	if s.n == o.n || o.complete > s.complete {
		s.complete = o.complete
	}
	s.gallery = max(s.gallery, o.gallery)
}

// score searches the sketches of probes against all photos of the set,
// centred with photoMean/sketchMean (nil: uncentred), with Search's two
// stages: exact cosine top rerankN, then rerank with weight w. The
// genuine score is the true photo's score under the same formula, the best
// impostor the highest score of anyone else.
func (c *calibSet) score(photoMean, sketchMean []float32, probes []int, w float64, rerankN int) scores {
	idx := index.New(c.dim)
	vecs := make([]float32, 0, len(c.photos)*c.dim)
	ids := make([]int64, len(c.photos))
	cp := make([][]float32, len(c.photos))
	for i, p := range c.photos {
		ids[i] = int64(i)
		n := len(vecs)
		vecs = append(vecs, p...)
		centre(vecs[n:], photoMean)
		cp[i] = vecs[n:]
	}
	if err := idx.AddBatch(ids, vecs); err != nil {
		// Encoder vectors are finite by construction; a NaN here is a bug
		// upstream and would already have failed ingest.
		panic(err)
	}
	out := scores{complete: math.Inf(-1), gallery: len(c.photos)}
	for _, i := range probes {
		q := append([]float32(nil), c.sketches[i]...)
		centre(q, sketchMean)
		n := len(c.photos)
		if w > 0 && c.sketchHOGs[i] != nil {
			n = min(n, rerankN)
		}
		hits := idx.Search(q, n)
		cands := make([]Candidate, len(hits))
		for k, h := range hits {
			cands[k] = Candidate{ReferenceID: h.ID, Score: float64(h.Score), Encoder: float64(h.Score)}
		}
		genuine := float64(dot32(q, cp[i]))
		if w > 0 && c.sketchHOGs[i] != nil {
			hogOf := func(id int64) []float32 { return c.photoHOGs[id] }
			rerank(cands, c.sketchHOGs[i], w, hogOf)
			if v := c.photoHOGs[i]; len(v) == len(c.sketchHOGs[i]) {
				genuine = fusedScore(genuine, float64(hog.Cosine(c.sketchHOGs[i], v)), w)
			} else {
				genuine /= 1 + w
			}
		}
		best := math.Inf(-1)
		for _, cand := range cands {
			if cand.ReferenceID != int64(i) {
				best = max(best, cand.Score)
				out.impostors = append(out.impostors, cand.Score)
			}
		}
		out.comparisons += len(c.photos) - 1
		if len(cands) < len(c.photos) && len(cands) > 0 {
			// Only this search's shortlist was scored: impostors below its
			// lowest score may exist unseen.
			out.complete = max(out.complete, cands[len(cands)-1].Score)
		}
		out.n++
		if len(cands) > 0 && cands[0].ReferenceID == int64(i) {
			out.hits++
		}
		out.genuine = append(out.genuine, genuine)
		if !math.IsInf(best, -1) {
			out.bestImpostor = append(out.bestImpostor, best)
		}
	}
	return out
}

func dot32(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
