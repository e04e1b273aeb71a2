package gallery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"sort"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/fusion"
	"github.com/sketchmatch/sketchmatch/internal/hog"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/index"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Query is one sketch search.
type Query struct {
	Sketch     []byte
	CaseNumber string
	K          int
	// FaceBox is a face box the officer drew on the sketch (pixels of the
	// decoded image, EXIF orientation applied); empty: detect.
	FaceBox image.Rectangle
	// AllowNoFace searches even when no face is detected (on a centred
	// crop, and with no confidence band); without it such a search is
	// refused with ErrNoFace so the officer can mark the face.
	AllowNoFace bool
	Filter      *Filter // witness filter (filter.go); nil searches everything
}

// ErrNoFace is in the chain of the error Search returns when no face was
// found in the sketch and the query did not allow searching without one.
var ErrNoFace = errors.New("no face in the sketch")

// NoBandText is shown instead of a band when the sketch's face was not found.
const NoBandText = "No confidence can be given: no face was found in the sketch."

// Candidate is one ranked person (inside the ranking, one photo): the
// person's best photo in ReferenceID and Label, all their photos best
// first in ReferenceIDs.
type Candidate struct {
	Rank         int
	ReferenceID  int64
	Label        string
	SubjectID    int64 // 0: the photo's subject is unknown (stands for itself)
	SubjectName  string
	ReferenceIDs []int64
	// Score is what ranks: the encoder cosine, or with re-ranking the
	// weighted mean (cos + w·hog)/(1+w), so it stays on the cosine scale.
	Score   float64
	Encoder float64 // first-stage cosine
	Band    string
}

// Outcome is a finished search.
type Outcome struct {
	Search     *domain.Search
	Candidates []Candidate
	FaceFound  bool
	FaceSource string // domain.FaceDetected, FaceManual or FaceNone
	Note       string
	Bands      *Bands         // nil when no band can be given
	Filter     *AppliedFilter // nil when unfiltered
}

// caseNumberOK: letters, digits and common separators, bounded.
func cleanCase(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > 64 {
		return "", apperr.Errorf(apperr.EINVALID, "The case number is too long (at most 64 characters).")
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" -_/.#:", r)) {
			return "", apperr.Errorf(apperr.EINVALID, "The case number may contain letters, digits, spaces and - _ / . # : only.")
		}
	}
	return v, nil
}

// Search embeds the sketch, ranks the gallery and records the search.
func (s *Service) Search(ctx context.Context, who Actor, q Query) (*Outcome, error) {
	start := time.Now()
	if s.enc == nil {
		return nil, s.unavailable()
	}
	caseNo, err := cleanCase(q.CaseNumber)
	if err != nil {
		return nil, err
	}
	if q.K < 1 || q.K > s.maxK {
		return nil, apperr.Errorf(apperr.EINVALID, "The number of candidates must be between 1 and %d.", s.maxK)
	}
	// Refuse at once when the encoder's queue is full: decoding the sketch
	// first would only spend CPU the queued searches need.
	if f, ok := s.enc.(interface{ Full() bool }); ok && f.Full() {
		return nil, apperr.Errorf(apperr.EUNAVAILABLE, "The face encoder is busy; please try again in a moment.")
	}
	img, info, err := imagefile.Decode(q.Sketch, s.limits)
	if err != nil {
		return nil, err
	}
	idx, cal := s.snapshot()
	if idx == nil || idx.Len() == 0 {
		return nil, apperr.Errorf(apperr.EINVALID, "The gallery is empty (or not yet embedded): there is nothing to search. An administrator must add reference photos first.")
	}
	var emb *embed.Embedding
	source := domain.FaceDetected
	if !q.FaceBox.Empty() {
		be, ok := s.enc.(BoxEncoder)
		if !ok {
			return nil, apperr.Errorf(apperr.EUNSUPPORTED, "The active model cannot search from a face marked by hand.")
		}
		if err := embed.CheckBox(q.FaceBox, img.Bounds()); err != nil {
			return nil, err
		}
		emb, err = be.EmbedBox(ctx, img, q.FaceBox)
		source = domain.FaceManual
	} else {
		emb, err = s.enc.Embed(ctx, img)
	}
	if err != nil {
		return nil, err
	}
	if !emb.FaceFound {
		if !q.AllowNoFace {
			return nil, apperr.Wrap(apperr.EINVALID, ErrNoFace, "No face was detected in the sketch. Draw a box around the face on the sketch, or search without a detected face (then no confidence can be given).")
		}
		source = domain.FaceNone
	}
	sf := s.newScanFilter(q.Filter)
	// The photo ranking of either search form; people are folded from it
	// (rankPeople), and their photos outside it are scored by one scan
	// restricted to them (addUnranked).
	var rankPhotos func(n int) ([]Candidate, error)
	var probe []float32
	if m := cal.fused(); m != nil {
		if v, ok := m.Sketch(sketchParts(emb)); ok && len(v) == idx.Dim() {
			probe = v
		}
		rankPhotos = func(n int) ([]Candidate, error) { return fusedRank(idx, m, sketchParts(emb), n, sf), nil }
	} else {
		probe = append([]float32(nil), emb.Vector...)
		cal.centreSketch(probe)
		rankPhotos = func(n int) ([]Candidate, error) { return s.rank(ctx, idx, probe, emb.Aligned, n, sf) }
	}
	cands, err := s.rankPeople(ctx, q.K, idx.Len(), rankPhotos)
	if err != nil {
		return nil, err
	}
	if probe != nil {
		s.addUnranked(cands, func(n int, keep func(int64) bool) []Candidate {
			hits, _ := idx.SearchFiltered(probe, n, keep)
			out := make([]Candidate, len(hits))
			for i, h := range hits {
				out[i] = Candidate{ReferenceID: h.ID, Score: float64(h.Score)}
			}
			return out
		})
	}
	if err := sf.noneKept(); err != nil {
		return nil, err
	}
	// A ranking the index could not re-score exactly is no ranking: an
	// empty or partial list would read as "nobody resembles the sketch".
	if err := idx.Err(); err != nil {
		s.log.Error("search refused: the index cannot read its float32 rows", "user", who.Username, "err", err)
		return nil, apperr.Wrap(apperr.EUNAVAILABLE, err, "The search index cannot be read (a storage fault on the server), so no ranking can be given. Please tell an administrator: the server must be restarted.")
	}
	// No band without a face in the sketch, whatever the score: the
	// centred crop's scores say nothing the calibration measured.
	var bands *Bands
	if cal != nil && source != domain.FaceNone {
		bands = cal.bands
	}
	// The bands speak of the gallery actually searched: the references
	// the witness filter kept, when there is one.
	galleryM := idx.Len()
	if a := sf.applied(); a != nil {
		galleryM = a.Kept
	}
	ids := make([]int64, len(cands))
	for i := range cands {
		ids[i] = cands[i].ReferenceID
	}
	refs, err := s.db.ReferencesByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	sids := make([]int64, 0, len(cands))
	for _, c := range cands {
		sids = append(sids, c.SubjectID)
	}
	subjects, err := s.db.SubjectsByIDs(ctx, sids)
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		ref, ok := refs[c.ReferenceID]
		if !ok {
			continue // deleted between ranking and lookup
		}
		c.Rank, c.Label, c.Band = len(out)+1, ref.Label, bands.Classify(c.Score, galleryM)
		if subj, ok := subjects[c.SubjectID]; ok {
			c.SubjectName = subj.Name
		}
		out = append(out, c)
	}

	// Keep the sketch (content-addressed) with the record.
	sum := sha256.Sum256(q.Sketch)
	sha := hex.EncodeToString(sum[:])
	rec := &domain.Search{
		UserID: who.UserID, Username: who.Username, CaseNumber: caseNo, SketchSHA256: sha,
		SketchPath: SketchPath(sha, info.Ext), ModelID: s.enc.ModelID(), HOGWeight: s.hogW, K: q.K,
		FaceFound: emb.FaceFound, FaceSource: source, GallerySize: galleryM,
	}
	if source == domain.FaceManual {
		rec.FaceBox = domain.FormatBox(q.FaceBox)
	}
	if cal != nil {
		rec.CalibrationID = cal.id
	}
	// Every search is on the record: the sketch file, then the search, its
	// results and its audit row in one transaction. A search that cannot be
	// recorded is not shown.
	unlock, err := s.files.Shared()
	if err != nil {
		return nil, searchStorageError(err)
	}
	defer unlock()
	if err := s.files.Write(rec.SketchPath, q.Sketch); err != nil {
		return nil, searchStorageError(err)
	}
	for _, c := range out {
		rec.Results = append(rec.Results, domain.SearchResult{Rank: c.Rank, ReferenceID: c.ReferenceID, Label: c.Label, Score: c.Score, Band: c.Band,
			SubjectID: c.SubjectID, SubjectName: c.SubjectName, ReferenceIDs: c.ReferenceIDs})
	}
	rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	top := ""
	if len(out) > 0 {
		top = fmt.Sprintf(" top=subject:%d reference:%d score=%.3f", out[0].SubjectID, out[0].ReferenceID, out[0].Score)
	}
	err = s.db.InsertSearch(ctx, rec, func(tx *store.Tx) error {
		filtered, err := sf.record(ctx, s.db, tx, rec.ID)
		if err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionSearch,
			Target: fmt.Sprintf("search:%d", rec.ID), Outcome: audit.OutcomeSuccess,
			Details: fmt.Sprintf("case=%q sketch_sha256=%s k=%d model=%s face_found=%t face=%s%s%s", caseNo, sha, q.K, rec.ModelID, emb.FaceFound, source, top, filtered)})
	})
	if err != nil {
		return nil, searchStorageError(err)
	}
	s.log.Info("search", "user", who.Username, "search", rec.ID, "case", caseNo, "k", q.K, "ms", rec.DurationMS, "face", source, "filter", q.Filter.Describe())
	return &Outcome{Search: rec, Candidates: out, FaceFound: emb.FaceFound, FaceSource: source, Note: emb.Note, Bands: bands, Filter: sf.applied()}, nil
}

// rank runs the first stage (exact cosine top-N over the index) and, with a
// HOG weight, re-ranks those N by encoder cosine + weight × HOG cosine on
// the aligned crops. With weight 0 the first-stage order is returned as is.
// A non-nil sf restricts the first stage to the references it accepts.
func (s *Service) rank(ctx context.Context, idx *index.Index, probe []float32, aligned *image.Gray, k int, sf *scanFilter) ([]Candidate, error) {
	n := k
	if s.hogW > 0 && aligned != nil {
		n = max(k, s.rerankN)
	}
	hits := sf.search(idx, probe, n)
	cands := make([]Candidate, len(hits))
	for i, h := range hits {
		cands[i] = Candidate{ReferenceID: h.ID, Score: float64(h.Score), Encoder: float64(h.Score)}
	}
	if s.hogW > 0 && aligned != nil && len(cands) > 0 {
		ids := make([]int64, len(cands))
		for i := range cands {
			ids[i] = cands[i].ReferenceID
		}
		hogs := make(map[int64][]byte, len(ids))
		if missing := s.hogs.lookup(ids, hogs); len(missing) > 0 {
			read, err := s.db.HOGs(ctx, s.enc.ModelID(), missing)
			if err != nil {
				return nil, err
			}
			for id, b := range read {
				hogs[id] = b
				s.hogs.put(id, b)
			}
		}
		buf := make([]float32, hog.Len()) // reused: rerank uses each descriptor at once
		rerank(cands, hog.Compute(aligned), s.hogW, func(id int64) []float32 {
			if b, ok := hogs[id]; ok {
				if err := hog.DecodeInto(buf, b); err == nil {
					return buf
				}
			}
			return nil
		})
	}
	if len(cands) > k {
		cands = cands[:k]
	}
	return cands, nil
}

// fusedRank is the search of a fused-search calibration: one exact scan of
// the fused index gives every reference's fused score (embedding and HOG
// over the whole gallery, minus its hubness offset), best first, ties by
// reference id. Encoder is the same score: there is no separate first
// stage.
func fusedRank(idx *index.Index, m *fusion.Model, probe fusion.Parts, k int, sf *scanFilter) []Candidate {
	q, ok := m.Sketch(probe)
	if !ok || len(q) != idx.Dim() {
		return nil
	}
	// The witness filter applies inside this scan too.
	hits := sf.search(idx, q, k)
	cands := make([]Candidate, len(hits))
	for i, h := range hits {
		cands[i] = Candidate{ReferenceID: h.ID, Score: float64(h.Score), Encoder: float64(h.Score)}
	}
	return cands
}

// fusedScore is the second-stage score: the weighted mean of the encoder
// cosine and the HOG cosine, so it stays on the cosine scale.
func fusedScore(encoder, hogCos, w float64) float64 {
	return (encoder + w*hogCos) / (1 + w)
}

// rerank is the second stage, shared by Search and Calibrate so that score
// bands are measured with exactly the scores searches produce: each
// candidate's score becomes fusedScore of its encoder cosine and the HOG
// cosine of q with hogOf(id), then candidates are sorted by score (ties by
// reference id). A candidate without a usable descriptor (should not happen)
// ranks on the encoder alone, scaled like the others.
func rerank(cands []Candidate, q []float32, w float64, hogOf func(id int64) []float32) {
	for i := range cands {
		if v := hogOf(cands[i].ReferenceID); len(v) == len(q) {
			cands[i].Score = fusedScore(cands[i].Encoder, float64(hog.Cosine(q, v)), w)
		} else {
			cands[i].Score = cands[i].Encoder / (1 + w)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].Score != cands[j].Score {
			return cands[i].Score > cands[j].Score
		}
		return cands[i].ReferenceID < cands[j].ReferenceID
	})
}
