package gallery

import (
	"context"
	"image"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Store is what the Service keeps in the database (its files go through
// Files). *store.DB implements it on SQLite and on PostgreSQL.
type Store interface {
	referenceStore
	embeddingStore
	calibrationStore
	searchStore
	subjectStore
	metadataStore
	followStore
}

// referenceStore holds the reference rows: ingest, edits, deletes, lookups and counts.
type referenceStore interface {
	ReferenceByID(ctx context.Context, id int64) (*domain.Reference, error)
	ReferenceBySHA(ctx context.Context, sha string) (*domain.Reference, error)
	ReferencesByIDs(ctx context.Context, ids []int64) (map[int64]*domain.Reference, error)
	InsertReference(ctx context.Context, r *domain.Reference, emb *domain.NewEmbedding, after store.TxHook) error
	UpdateReference(ctx context.Context, id int64, label, notes string, after store.TxHook) error
	DeleteReference(ctx context.Context, id int64, a *store.Audited) error
	StoredPaths(ctx context.Context) (map[string]int64, error)
	CountReferences(ctx context.Context, model string) (total, embedded int, err error)
}

// embeddingStore holds the embeddings cache, the re-ranking descriptors and the face boxes the index is built from.
type embeddingStore interface {
	CountWithoutEmbedding(ctx context.Context, model string) (int, error)
	ReferencesWithoutEmbedding(ctx context.Context, model string, limit int) ([]*domain.Reference, error)
	PutEmbedding(ctx context.Context, refID int64, e *domain.NewEmbedding) error
	EachEmbedding(ctx context.Context, model string, dim int, fn func(*domain.StoredEmbedding) error) error
	SearchableVector(ctx context.Context, refID int64, model string) ([]float32, error)
	HOGs(ctx context.Context, model string, ids []int64) (map[int64][]byte, error)
	Descriptors(ctx context.Context, refID int64, model string) (hog, wide []byte, err error)
	ReferenceFace(ctx context.Context, refID int64, model string) (*domain.FaceRecord, error)
	SetFaceBox(ctx context.Context, refID int64, box image.Rectangle, e *domain.NewEmbedding, a *store.Audited) error
	CountFaces(ctx context.Context, model string) (domain.FaceCounts, error)
}

// calibrationStore holds the model's calibrations and the fused vectors computed under each.
type calibrationStore interface {
	InsertCalibration(ctx context.Context, c *domain.Calibration, a *store.Audited) error
	LatestCalibration(ctx context.Context, model string) (*domain.Calibration, error)
	EachFusionInput(ctx context.Context, model string, dim int, calID int64, fn func(*domain.FusionInput) error) error
	PutFusedVectors(ctx context.Context, calID int64, vs []domain.FusedVector) error
}

// searchStore holds the search history: each search, its sketch and filter, and its review.
type searchStore interface {
	InsertSearch(ctx context.Context, s *domain.Search, after store.TxHook) error
	SearchByID(ctx context.Context, id int64) (*domain.Search, error)
	SketchPaths(ctx context.Context) (map[string]bool, error)
	SearchFilters(ctx context.Context, ids []int64) (map[int64]domain.SearchFilter, error)
	PutSearchFilterTx(ctx context.Context, tx *store.Tx, searchID int64, f domain.SearchFilter) error
	ReviewsOf(ctx context.Context, searchID int64) (map[int64]domain.Review, error)
	PutReview(ctx context.Context, r *domain.Review, a *store.Audited) (*domain.Review, error)
	CloseSearch(ctx context.Context, id int64, by, conclusion string, a *store.Audited) error
	ReopenSearch(ctx context.Context, id int64, a *store.Audited) error
}

// subjectStore holds the people: which photos are whose, their names, notes and metadata, moves and merges.
type subjectStore interface {
	EnsureSubjects(ctx context.Context) (int, error)
	EachReferenceSubject(ctx context.Context, fn func(refID, subjectID int64)) error
	SubjectByID(ctx context.Context, id int64) (*domain.Subject, error)
	SubjectsByIDs(ctx context.Context, ids []int64) (map[int64]*domain.Subject, error)
	SubjectIDsByName(ctx context.Context, name string) ([]int64, error)
	ReferencesOfSubject(ctx context.Context, id int64) ([]*domain.Reference, error)
	UpdateSubject(ctx context.Context, id int64, name, notes string, a *store.Audited) error
	UpdateSubjectMetadata(ctx context.Context, id int64, m domain.Metadata, a *store.Audited) error
	SubjectMetadata(ctx context.Context, subjectID int64) (domain.Metadata, error)
	MoveReference(ctx context.Context, refID, to int64, a *store.Audited) (from int64, err error)
	MergeSubjects(ctx context.Context, from, into int64, a *store.Audited) ([]int64, error)
	RenameSoleSubjectTx(ctx context.Context, tx *store.Tx, refID int64, was, name string) (int64, error)
}

// metadataStore holds what a witness can describe of each reference (sex, birth year, tags), which the search filter reads.
type metadataStore interface {
	MetadataByID(ctx context.Context, refID int64) (domain.Metadata, error)
	MetadataByIDs(ctx context.Context, ids []int64) (map[int64]domain.Metadata, error)
	EachMetadata(ctx context.Context, fn func(refID int64, m domain.Metadata) error) (int64, error)
	MetadataVersion(ctx context.Context) (int64, error)
	PutMetadataTx(ctx context.Context, tx *store.Tx, refID int64, m domain.Metadata) error
	UpdateMetadata(ctx context.Context, refID int64, label *string, m domain.Metadata, after store.TxHook) error
}

// followStore keeps this instance in step with others sharing the database: announced changes, the index checksum, one reindex at a time.
type followStore interface {
	Announces() bool
	ListenReporting(ctx context.Context, channel string, resync func(), fn func(payload string), onError func(error)) error
	SearchableChecksum(ctx context.Context, model string) (n int, sum int64, err error)
	SearchableIDs(ctx context.Context, model string) (map[int64]bool, error)
	ReindexAlone(ctx context.Context, fn func() error) (ran bool, err error)
}

var _ Store = (*store.DB)(nil)
