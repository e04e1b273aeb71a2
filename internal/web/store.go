package web

import (
	"context"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Store is what the handlers read from the database directly (changes go
// through auth, audit and gallery). *store.DB implements it on SQLite and
// on PostgreSQL.
type Store interface {
	searchStore
	galleryStore
	auditStore
	opsStore
}

// searchStore holds the search history: its pages, review queue, export, report and legal hold.
type searchStore interface {
	ListSearches(ctx context.Context, userID int64, caseNumber string, limit, offset int) ([]*domain.Search, int, error)
	ListSearchesBetween(ctx context.Context, userID int64, caseNumber string, from, to int64, limit, offset int) ([]*domain.Search, int, error)
	ListSearchesByReview(ctx context.Context, state string, limit, offset int) ([]*domain.Search, int, error)
	SearchByID(ctx context.Context, id int64) (*domain.Search, error)
	SearchFilters(ctx context.Context, ids []int64) (map[int64]domain.SearchFilter, error)
	ReviewsOf(ctx context.Context, searchID int64) (map[int64]domain.Review, error)
	ReviewCounts(ctx context.Context, searchIDs []int64) (map[int64]domain.ReviewCount, error)
	SetSearchHold(ctx context.Context, id int64, hold bool, a *store.Audited) error
}

// galleryStore holds the references and subjects the pages show, and the latest model evaluation.
type galleryStore interface {
	ReferenceByID(ctx context.Context, id int64) (*domain.Reference, error)
	ReferencesByIDs(ctx context.Context, ids []int64) (map[int64]*domain.Reference, error)
	ListReferences(ctx context.Context, model, labelLike string, limit, offset int) ([]*domain.Reference, int, error)
	ListReferencesBefore(ctx context.Context, model, labelLike string, limit int, beforeID int64) ([]*domain.Reference, int, error)
	MetadataByIDs(ctx context.Context, ids []int64) (map[int64]domain.Metadata, error)
	ListSubjects(ctx context.Context, like string, limit, offset int, beforeID int64) ([]*domain.Subject, int, error)
	SubjectByID(ctx context.Context, id int64) (*domain.Subject, error)
	SubjectMetadata(ctx context.Context, subjectID int64) (domain.Metadata, error)
	LatestEvalReport(ctx context.Context, model string) (*domain.EvalReport, error)
}

// auditStore reads the audit trail, filtered, for the audit page and its export.
type auditStore interface {
	ListAuditFiltered(ctx context.Context, f domain.AuditFilter, limit, offset int) ([]domain.AuditRow, int, error)
	EachAuditFiltered(ctx context.Context, f domain.AuditFilter, fn func(*domain.AuditRow) error) error
}

// opsStore answers the readiness check and, on a shared database, counts the login rate limit.
type opsStore interface {
	Ping(ctx context.Context) error
	SharedRateCounter(scope string) *store.RateCounter
}

var _ Store = (*store.DB)(nil)
