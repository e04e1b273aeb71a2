// Package gallery is the reference gallery and the sketch search: ingest of
// hostile uploads into content-addressed files plus SQLite rows, the
// embeddings cache, the in-memory index of the active model, background
// reindexing and the search itself (first-stage cosine, optional HOG
// re-ranking, score bands, history).
package gallery

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/index"
)

// Encoder is what the gallery needs of internal/embed (an interface so the
// server can run, and explain itself, without a loaded model).
type Encoder interface {
	ModelID() string
	Dim() int
	Embed(ctx context.Context, img image.Image) (*embed.Embedding, error)
	EmbedBatch(ctx context.Context, imgs []image.Image) ([]*embed.Embedding, error)
}

// Actor is who does something, for history and the audit trail.
type Actor struct {
	UserID   int64
	Username string
	ClientIP string
	Admin    bool // may reopen a closed search (review.go)
}

// Options configures a Service.
type Options struct {
	DB     Store // *store.DB
	Files  *Files
	Audit  *audit.Log
	Logger *slog.Logger
	Limits imagefile.Limits
	// Encoder may be nil; EncoderErr then says why (shown to users, /readyz).
	Encoder    Encoder
	EncoderErr error
	HOGWeight  float64 // second-stage weight; 0 turns re-ranking off
	RerankN    int     // first-stage candidates re-ranked
	MaxK       int
	// HOGCacheBytes bounds the memory kept for re-ranking descriptors
	// (0: the default, 256 MiB; negative: no cache).
	HOGCacheBytes int64
	// IndexDir is where the index keeps its float32 rows, in an unlinked
	// file read only by the exact re-score (index.NewOnDisk): the heap then
	// holds ~0.55 KiB a 512-d reference instead of ~2.6. Empty: in memory.
	// Not a tmpfs (its pages are memory).
	IndexDir string
}

// Service owns the gallery and the index of the active model.
type Service struct {
	db      Store
	files   *Files
	audit   *audit.Log
	log     *slog.Logger
	limits  imagefile.Limits
	enc     Encoder
	encErr  error
	hogW    float64
	rerankN int
	maxK    int
	idxDir  string // Options.IndexDir

	// mu guards idx and calib. Searches take the read lock only to grab
	// the pointers; the index is itself safe for concurrent use.
	mu    sync.RWMutex
	idx   *index.Index
	calib *calibration

	countCache countCache
	hogs       *hogCache
	meta       metaCache  // witness-filter metadata by reference id (metadata.go)
	subjects   subjectMap // reference id → subject id (subjects.go)
	// alpha is the weight of a person's second-best photo in their score
	// (PersonScore); 0, the shipped value, ranks people by their best photo.
	alpha float64

	reindex struct {
		running atomic.Bool
		done    atomic.Int64
		total   atomic.Int64
	}
}

// New builds the service and loads the index of the active model from the
// embeddings cache. It does not start background work; call StartReindex,
// and Sweep for the orphan-file sweep (serve runs it once it listens).
func New(ctx context.Context, o Options) (*Service, error) {
	if o.DB == nil || o.Files == nil || o.Audit == nil || o.Logger == nil {
		return nil, errors.New("gallery: missing dependency")
	}
	if o.RerankN <= 0 {
		o.RerankN = 200
	}
	if o.MaxK <= 0 {
		o.MaxK = 200
	}
	if o.Limits.MaxBytes == 0 {
		o.Limits = imagefile.DefaultLimits()
	}
	if o.HOGCacheBytes == 0 {
		o.HOGCacheBytes = 256 << 20
	}
	s := &Service{db: o.DB, files: o.Files, audit: o.Audit, log: o.Logger, limits: o.Limits,
		enc: o.Encoder, encErr: o.EncoderErr, hogW: o.HOGWeight, rerankN: o.RerankN, maxK: o.MaxK, idxDir: o.IndexDir,
		hogs: newHOGCache(o.HOGCacheBytes)}
	if s.enc == nil && s.encErr == nil {
		s.encErr = errors.New("no model configured")
	}
	if err := s.loadSubjects(ctx); err != nil {
		return nil, err
	}
	if s.enc != nil {
		if err := s.LoadIndex(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ModelStatus returns the active model id or why search is unavailable.
func (s *Service) ModelStatus() (string, error) {
	if s.enc == nil {
		return "", s.encErr
	}
	return s.enc.ModelID(), nil
}

// ModelID is the active model id ("" without a model).
func (s *Service) ModelID() string {
	if s.enc == nil {
		return ""
	}
	return s.enc.ModelID()
}

// HOGWeight is the configured second-stage weight.
func (s *Service) HOGWeight() float64 { return s.hogW }

func (s *Service) unavailable() error {
	return apperr.Wrap(apperr.EUNAVAILABLE, s.encErr, "Search is unavailable: the face model is not loaded (%v). Ask an administrator to run `sketchmatch check`.", s.encErr)
}

// LoadIndex (re)builds the in-memory index from the embeddings cache of the
// active model, applying the active calibration's photo mean.
func (s *Service) LoadIndex(ctx context.Context) error {
	if s.enc == nil {
		return s.unavailable()
	}
	start := time.Now()
	cal, err := s.loadCalibration(ctx)
	if err != nil {
		return err
	}
	if err := s.loadMetadata(ctx); err != nil {
		return err
	}
	dim := s.enc.Dim()
	if cal.fused() != nil {
		idx, err := s.loadFusedIndex(ctx, cal)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.idx, s.calib = idx, cal
		s.mu.Unlock()
		s.log.Info("index loaded", "model", s.enc.ModelID(), "vectors", idx.Len(), "dim", idx.Dim(),
			"calibration", cal.describe(), "ms", time.Since(start).Milliseconds())
		return nil
	}
	idx := s.newIndex(dim)
	// One allocation for the whole matrix. The count of all the model's
	// embeddings (an upper bound: some have no face) is read from an index;
	// CountFaces's exact count reads every row of the table, which took
	// longer than loading the vectors (2-3 s of a 100k start-up).
	if _, embedded, err := s.db.CountReferences(ctx, s.enc.ModelID()); err == nil {
		idx.Reserve(embedded)
	}
	err = loadPipelined(ctx, dim,
		func(ctx context.Context, row func(id int64, vec []float32) error) error {
			return s.db.EachEmbedding(ctx, s.enc.ModelID(), dim, func(e *domain.StoredEmbedding) error {
				return row(e.ReferenceID, e.Vector)
			})
		},
		func(ids []int64, vecs []float32) error {
			for i := range ids {
				cal.centrePhoto(vecs[i*dim : (i+1)*dim])
			}
			return idx.AddBatch(ids, vecs)
		})
	if err != nil {
		idx.Close()
		return fmt.Errorf("loading the index: %w", err)
	}
	s.mu.Lock()
	s.idx, s.calib = idx, cal
	s.mu.Unlock()
	s.log.Info("index loaded", "model", s.enc.ModelID(), "vectors", idx.Len(), "dim", dim,
		"calibration", cal.describe(), "ms", time.Since(start).Milliseconds())
	return nil
}

// newIndex is an empty index as Options.IndexDir asks; if its file cannot
// be made there, the float32 rows stay in memory (searches are the same,
// only the heap is larger) and the log says why.
func (s *Service) newIndex(dim int) *index.Index {
	if s.idxDir == "" {
		return index.New(dim)
	}
	idx, err := index.NewOnDisk(dim, s.idxDir)
	if err != nil {
		s.log.Warn("index float32 rows kept in memory", "dir", s.idxDir, "err", err)
		return index.New(dim)
	}
	return idx
}

func (s *Service) snapshot() (*index.Index, *calibration) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx, s.calib
}

// Stats is the gallery's state for pages and logs.
type Stats struct {
	References int
	Embedded   int
	Indexed    int
	// NoFace counts embedded references without a face: stored, not searched.
	NoFace      int
	Reindexing  bool
	ReindexDone int64
	ReindexAll  int64
	Model       string
	ModelErr    string
	Calibration string
}

// Stats reports counts and background progress. The two table counts are
// cached for a second: the search page shows them on every view, and
// counting 100k rows per page view would dominate its cost.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Model: s.ModelID()}
	if s.enc == nil {
		st.ModelErr = s.encErr.Error()
	}
	total, embedded, noFace, err := s.counts(ctx, st.Model)
	if err != nil {
		return st, err
	}
	st.References, st.Embedded, st.NoFace = total, embedded, noFace
	if idx, cal := s.snapshot(); idx != nil {
		st.Indexed = idx.Len()
		st.Calibration = cal.describe()
	}
	st.Reindexing = s.reindex.running.Load()
	st.ReindexDone, st.ReindexAll = s.reindex.done.Load(), s.reindex.total.Load()
	return st, nil
}

// countCache keeps Stats' counts for countsTTL. A recount reads the whole
// embeddings table (CountFaces: ~0.1-3 s for 10k-100k references), so it
// must not hold the lock: under the mixed load every home page queued
// behind it (86 % of the server's mutex wait, docs/perf). While one
// request recounts, the others get the previous counts at once; after
// invalidateCounts (a change made here) nobody gets the old ones.
type countCache struct {
	mu                      sync.Mutex
	at                      time.Time
	valid, refreshing       bool
	gen                     uint64 // bumped by invalidateCounts
	total, embedded, noFace int
}

const countsTTL = time.Second

func (s *Service) counts(ctx context.Context, model string) (total, embedded, noFace int, err error) {
	c := &s.countCache
	c.mu.Lock()
	if c.valid && (time.Since(c.at) < countsTTL || c.refreshing) {
		total, embedded, noFace = c.total, c.embedded, c.noFace
		c.mu.Unlock()
		return total, embedded, noFace, nil
	}
	c.refreshing = true
	gen := c.gen
	c.mu.Unlock()

	total, embedded, err = s.db.CountReferences(ctx, model)
	var fc domain.FaceCounts
	if err == nil {
		fc, err = s.db.CountFaces(ctx, model)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		return 0, 0, 0, err
	}
	if gen == c.gen { // not invalidated meanwhile
		c.at, c.valid, c.total, c.embedded, c.noFace = time.Now(), true, total, embedded, fc.NoFace
	}
	return total, embedded, fc.NoFace, nil
}

// invalidateCounts makes the next Stats count again (after a change made
// by this process).
func (s *Service) invalidateCounts() {
	s.countCache.mu.Lock()
	s.countCache.valid = false
	s.countCache.gen++
	s.countCache.mu.Unlock()
}

// Files is the file store (for serving stored images by id).
func (s *Service) Files() *Files { return s.files }

// IndexErr is the first read failure of the index's float32 rows, if any:
// after one, searches are refused (503) until the index is rebuilt by a
// restart, and /readyz reports the instance as not ready.
func (s *Service) IndexErr() error {
	if idx, _ := s.snapshot(); idx != nil {
		return idx.Err()
	}
	return nil
}
