package gallery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/fusion"
	"github.com/sketchmatch/sketchmatch/internal/hog"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/index"
)

// Limits of a calibration set. The bands need enough searches per fold to
// mean anything (ComputeBands wants at least 10); the upper bound keeps one
// request's memory (two float32 HOG descriptors, 48 KB, per pair) and
// inference time bounded.
const (
	MinCalibrationPairs = 20
	// MaxCalibrationPairs: each pair keeps four float32 HOG descriptors
	// (about 100 KB) while it runs, about 300 KB at the peak of fitting
	// the fused forms (about 1.2 GB at the maximum).
	MaxCalibrationPairs = 4000
	// MinWhitenPairs is the fewest pairs a whitened form is tried with
	// (each half of its 2-fold check learns from half of them); below it
	// the within-pair statistics are too noisy to help.
	MinWhitenPairs = 100
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
	Calibration *domain.Calibration
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
	// Form is what the calibration ships: FormCentre, FormFused or
	// FormWhitened, chosen by the held-out rank-1 of each form tried
	// (HeldOut, by form); FormReason says why.
	Form       string
	FormReason string
	HeldOut    map[string]float64
}

// The forms a calibration can ship.
const (
	// FormCentre centres each modality with its mean; searches rank by
	// encoder cosine and re-rank the top RERANK_N with the tight HOG.
	FormCentre = "centring"
	// FormFused adds the un-learned fused search: centred embedding and a
	// PCA of the tight and wide HOG in one vector, scanned over the whole
	// gallery, with a hubness (CSLS) offset per reference.
	FormFused = "fused"
	// FormWhitened is FormFused with within-pair whitening (WCCN) of both
	// parts, learned from the pairs.
	FormWhitened = "fused+whitened"
)

// Fused-search settings (measured on the dev and fs2k-train sets; see the
// README's "Match quality").
const (
	fusionPCADim  = 300
	fusionCSLSBet = 0.5
	fusionCSLSK   = 10
)

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

	// The fused forms, checked the same way: each half searched with a
	// model fitted on the other half only.
	rep.HeldOut = map[string]float64{FormCentre: held.rankOne()}
	heldBy := map[string]scores{FormCentre: held}
	opts := fusion.FitOptions{Weight: s.hogW, K: fusionPCADim, CSLSBeta: fusionCSLSBet, CSLSK: fusionCSLSK}
	canFuse := set.hasAllHOG()
	tryWhiten := canFuse && rep.Pairs >= MinWhitenPairs
	if canFuse {
		var plain, white scores
		for f := range folds {
			pm, wm, err := fusion.FitForms(set.pairs(folds[1-f]), opts, tryWhiten)
			if err != nil {
				return nil, err
			}
			plain.merge(set.scoreFused(pm, folds[f]))
			if wm != nil {
				white.merge(set.scoreFused(wm, folds[f]))
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		heldBy[FormFused], rep.HeldOut[FormFused] = plain, plain.rankOne()
		if tryWhiten {
			heldBy[FormWhitened], rep.HeldOut[FormWhitened] = white, white.rankOne()
		}
	}
	rep.Form, rep.FormReason = chooseForm(rep.HeldOut, rep.Pairs, canFuse)
	var model *fusion.Model
	if rep.Form != FormCentre {
		pm, wm, err := fusion.FitForms(set.pairs(all), opts, rep.Form == FormWhitened)
		if err != nil {
			return nil, err
		}
		model = pm
		if rep.Form == FormWhitened {
			model = wm
		}
		held = heldBy[rep.Form]
		in := set.scoreFused(model, all)
		rep.RankOneAfter = in.rankOne()
		rep.RankOneHeldOut = held.rankOne()
	}

	c := &domain.Calibration{ModelID: s.enc.ModelID(), CreatedBy: who.Username, Source: source, NPairs: rep.Pairs,
		PhotoMean: photoMean, SketchMean: sketchMean, FusionNote: rep.Form + ": " + rep.FormReason}
	if model != nil {
		c.Fusion = model.Marshal()
	}
	if b, err := ComputeBands(held.genuine, held.bestImpostor, held.impostorSample(), BandPrecision, s.hogW); err != nil {
		rep.BandsErr = err.Error()
	} else {
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		c.Bands, rep.Bands = string(js), b
	}
	details := fmt.Sprintf("model=%s pairs=%d dropped=%d source=%q hog_weight=%g form=%s rank1_before=%.3f rank1_after=%.3f rank1_heldout=%.3f",
		c.ModelID, rep.Pairs, rep.Dropped, source, s.hogW, rep.Form, rep.RankOneBefore, rep.RankOneAfter, rep.RankOneHeldOut)
	if rep.Bands != nil {
		details += fmt.Sprintf(" band_high=%.4f band_low=%.4f", rep.Bands.High, rep.Bands.Low)
	}
	// The store sets the row's target, "calibration:ID", from the new id.
	entry, err := s.audit.Entry(audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionCalibration,
		Outcome: audit.OutcomeSuccess, Details: details})
	if err != nil {
		return nil, err
	}
	err = s.db.InsertCalibration(ctx, c, entry)
	if err != nil {
		return nil, storageError(err)
	}
	rep.Calibration = c
	s.log.Info("calibration stored", "user", who.Username, "calibration", c.ID, "model", c.ModelID, "pairs", rep.Pairs,
		"rank1_before", rep.RankOneBefore, "rank1_after", rep.RankOneAfter, "rank1_heldout", rep.RankOneHeldOut,
		"form", rep.Form, "why", rep.FormReason,
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
	if domain.IsNotFound(err) {
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

// chooseForm picks the form a calibration ships from the held-out rank-1
// of each form tried: a learned or fused form only when its 2-fold check
// is strictly better than every simpler one, so a whitening the check finds
// worse (or no better) is never shipped.
func chooseForm(heldOut map[string]float64, pairs int, canFuse bool) (form, why string) {
	form, why = FormCentre, ""
	best := heldOut[FormCentre]
	fused, okF := heldOut[FormFused]
	white, okW := heldOut[FormWhitened]
	switch {
	case !canFuse:
		return form, "some pairs have no HOG descriptors, so only centring can be measured"
	case okF && fused > best:
		form, best = FormFused, fused
		why = fmt.Sprintf("the fused search scored %.3f held-out rank-1 against %.3f for centring", fused, heldOut[FormCentre])
	case okF:
		why = fmt.Sprintf("the fused search scored %.3f held-out rank-1, no better than centring's %.3f", fused, heldOut[FormCentre])
	}
	switch {
	case !okW:
		why += fmt.Sprintf("; whitening not tried: %d pairs, at least %d needed", pairs, MinWhitenPairs)
	case white > best:
		why += fmt.Sprintf("; whitening learned from the pairs scored %.3f held-out, better than %.3f, so it is used", white, best)
		form = FormWhitened
	default:
		why += fmt.Sprintf("; whitening scored %.3f held-out, not better than %.3f, so it is not used", white, best)
	}
	return form, why
}

// calibSet holds the embedded calibration pairs: raw (uncentred) encoder
// vectors and HOG descriptors (tight and wide crop), the photos' rounded
// through float16 as the gallery stores them.
type calibSet struct {
	dim                   int
	photos, sketches      [][]float32
	photoHOGs, sketchHOGs [][]float32
	photoWide, sketchWide [][]float32
}

func (c *calibSet) add(p, s *embed.Embedding) {
	c.dim = len(p.Vector)
	c.photos = append(c.photos, p.Vector)
	c.sketches = append(c.sketches, s.Vector)
	pt, pw := storedDescriptors(p)
	pp := photoParts(nil, pt, pw)
	sp := sketchParts(s)
	c.photoHOGs = append(c.photoHOGs, pp.Tight)
	c.photoWide = append(c.photoWide, pp.Wide)
	c.sketchHOGs = append(c.sketchHOGs, sp.Tight)
	c.sketchWide = append(c.sketchWide, sp.Wide)
}

// hasAllHOG reports whether every pair has both descriptors on both sides
// (the fused forms need them to be fitted).
func (c *calibSet) hasAllHOG() bool {
	for i := range c.photos {
		if c.photoHOGs[i] == nil || c.photoWide[i] == nil || c.sketchHOGs[i] == nil || c.sketchWide[i] == nil {
			return false
		}
	}
	return true
}

func (c *calibSet) photoParts(i int) fusion.Parts {
	return fusion.Parts{Emb: c.photos[i], Tight: c.photoHOGs[i], Wide: c.photoWide[i]}
}

func (c *calibSet) sketchParts(i int) fusion.Parts {
	return fusion.Parts{Emb: c.sketches[i], Tight: c.sketchHOGs[i], Wide: c.sketchWide[i]}
}

// pairs returns the descriptors of the pairs in which, for fusion.Fit.
func (c *calibSet) pairs(which []int) []fusion.Pair {
	out := make([]fusion.Pair, len(which))
	for k, i := range which {
		out[k] = fusion.Pair{Photo: c.photoParts(i), Sketch: c.sketchParts(i)}
	}
	return out
}

// scoreFused searches the sketches of probes against all photos of the set
// exactly as Search does under a fused-search calibration with model m:
// photos indexed by their fused vectors (indexVector), each sketch ranked
// by fusedRank over the whole set.
func (c *calibSet) scoreFused(m *fusion.Model, probes []int) scores {
	idx := index.New(m.Dim())
	vecs := make([][]float32, len(c.photos))
	for i := range c.photos {
		v, _ := m.Photo(c.photoParts(i))
		vecs[i] = v
		if err := idx.Add(int64(i), v); err != nil {
			panic(err) // finite by construction, as in score
		}
	}
	out := scores{}
	for _, i := range probes {
		cands := fusedRank(idx, m, c.sketchParts(i), len(c.photos), nil)
		q, _ := m.Sketch(c.sketchParts(i))
		out.add(int64(i), float64(dot32(q, vecs[i])), cands, len(c.photos))
	}
	return out
}

// add records one probe's outcome: its genuine score and its candidates
// (best first) among a gallery of the given size; every candidate other
// than the truth is an impostor score for the bands.
func (s *scores) add(truth int64, genuine float64, cands []Candidate, gallery int) {
	best := math.Inf(-1)
	for _, cand := range cands {
		if cand.ReferenceID != truth {
			best = max(best, cand.Score)
			s.impostors = append(s.impostors, cand.Score)
		}
	}
	s.comparisons += gallery - 1
	s.gallery = max(s.gallery, gallery)
	if len(cands) < gallery && len(cands) > 0 {
		// Only this search's shortlist was scored: impostors below its
		// lowest score may exist unseen.
		s.truncated = true
		s.complete = max(s.complete, cands[len(cands)-1].Score)
	}
	s.n++
	if len(cands) > 0 && cands[0].ReferenceID == truth {
		s.hits++
	}
	s.genuine = append(s.genuine, genuine)
	if !math.IsInf(best, -1) {
		s.bestImpostor = append(s.bestImpostor, best)
	}
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
	complete    float64 // meaningful only when truncated
	truncated   bool
	gallery     int
}

func (s *scores) impostorSample() ImpostorSample {
	complete := math.Inf(-1)
	if s.truncated {
		complete = s.complete
	}
	return ImpostorSample{Scores: s.impostors, Total: s.comparisons, Complete: complete, Gallery: s.gallery}
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
		out.add(int64(i), genuine, cands, len(c.photos))
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
