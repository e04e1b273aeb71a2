package domain

import (
	"errors"
)

// Review is an officer's mark on one candidate person of a search.
type Review struct {
	SearchID   int64
	SubjectID  int64
	Mark       string // excluded, possible or referred
	Note       string
	ReviewedBy string
	ReviewedAt int64
}

// Review marks.
const (
	MarkExcluded = "excluded"
	MarkPossible = "possible"
	MarkReferred = "referred"
)

// ErrSearchClosed: the search's review is closed; it is read-only until an
// admin reopens it.
var ErrSearchClosed = errors.New("search closed")

// ErrSearchOpen: reopening a search that is not closed.
var ErrSearchOpen = errors.New("search not closed")

// ReviewCount is how many candidates of a search carry each mark.
type ReviewCount struct {
	Excluded, Possible, Referred int
}

// Reviewed is the number of candidates marked.
func (c ReviewCount) Reviewed() int { return c.Excluded + c.Possible + c.Referred }
