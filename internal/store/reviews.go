package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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

// searchClosedTx reads whether a search is closed (ErrNotFound: no such search).
func searchClosedTx(ctx context.Context, tx *Tx, id int64) (bool, error) {
	var at int64
	err := tx.QueryRowContext(ctx, `SELECT closed_at FROM searches WHERE id = ?`, id).Scan(&at)
	return at != 0, err
}

// PutReview records (or changes) the mark on one candidate of an open
// search, with its audit row a, in one transaction. It returns the review it
// replaced (nil: none). ErrSearchClosed when the search is closed,
// ErrNotFound when there is no such search.
func (db *DB) PutReview(ctx context.Context, r *Review, a *Audited) (*Review, error) {
	r.ReviewedAt = db.Now().Unix()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if closed, err := searchClosedTx(ctx, tx, r.SearchID); err != nil {
		return nil, err
	} else if closed {
		return nil, ErrSearchClosed
	}
	prev := &Review{SearchID: r.SearchID, SubjectID: r.SubjectID}
	err = tx.QueryRowContext(ctx, `SELECT mark, note, reviewed_by, reviewed_at FROM search_reviews WHERE search_id = ? AND subject_id = ?`,
		r.SearchID, r.SubjectID).Scan(&prev.Mark, &prev.Note, &prev.ReviewedBy, &prev.ReviewedAt)
	if IsNotFound(err) {
		prev = nil
	} else if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO search_reviews (search_id, subject_id, mark, note, reviewed_by, reviewed_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (search_id, subject_id) DO UPDATE SET mark = excluded.mark, note = excluded.note,
		reviewed_by = excluded.reviewed_by, reviewed_at = excluded.reviewed_at`,
		r.SearchID, r.SubjectID, r.Mark, r.Note, r.ReviewedBy, r.ReviewedAt); err != nil {
		return nil, err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return nil, err
	}
	return prev, tx.Commit()
}

// ReviewsOf returns a search's review marks by subject id.
func (db *DB) ReviewsOf(ctx context.Context, searchID int64) (map[int64]Review, error) {
	rows, err := db.QueryContext(ctx, `SELECT search_id, subject_id, mark, note, reviewed_by, reviewed_at FROM search_reviews WHERE search_id = ?`, searchID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]Review{}
	for rows.Next() {
		var r Review
		if err := rows.Scan(&r.SearchID, &r.SubjectID, &r.Mark, &r.Note, &r.ReviewedBy, &r.ReviewedAt); err != nil {
			return nil, err
		}
		out[r.SubjectID] = r
	}
	return out, rows.Err()
}

// ReviewCount is how many candidates of a search carry each mark.
type ReviewCount struct {
	Excluded, Possible, Referred int
}

// Reviewed is the number of candidates marked.
func (c ReviewCount) Reviewed() int { return c.Excluded + c.Possible + c.Referred }

// ReviewCounts returns the review counts of the given searches (searches
// without a mark are absent).
func (db *DB) ReviewCounts(ctx context.Context, searchIDs []int64) (map[int64]ReviewCount, error) {
	out := make(map[int64]ReviewCount, len(searchIDs))
	err := db.eachByIDs(ctx, `SELECT search_id, mark, COUNT(*) FROM search_reviews WHERE search_id IN (%s) GROUP BY search_id, mark`, nil, searchIDs,
		func(rows *sql.Rows) error {
			var id int64
			var mark string
			var n int
			if err := rows.Scan(&id, &mark, &n); err != nil {
				return err
			}
			c := out[id]
			switch mark {
			case MarkExcluded:
				c.Excluded = n
			case MarkPossible:
				c.Possible = n
			case MarkReferred:
				c.Referred = n
			}
			out[id] = c
			return nil
		})
	return out, err
}

// CloseSearch closes the review of an open search with a conclusion, with
// its audit row a, in one transaction. ErrSearchClosed when it already is,
// ErrNotFound when there is no such search.
func (db *DB) CloseSearch(ctx context.Context, id int64, by, conclusion string, a *Audited) error {
	return db.setClosed(ctx, id, true, by, conclusion, a)
}

// ReopenSearch reopens a closed search (its conclusion is kept in the
// audit trail, not on the record), with its audit row a, in one
// transaction.
// ErrSearchOpen when it is not closed.
func (db *DB) ReopenSearch(ctx context.Context, id int64, a *Audited) error {
	return db.setClosed(ctx, id, false, "", "", a)
}

func (db *DB) setClosed(ctx context.Context, id int64, closing bool, by, conclusion string, a *Audited) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	closed, err := searchClosedTx(ctx, tx, id)
	if err != nil {
		return err
	}
	switch {
	case closing && closed:
		return ErrSearchClosed
	case !closing && !closed:
		return ErrSearchOpen
	}
	var at int64
	if closing {
		at = db.Now().Unix()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE searches SET closed_at = ?, closed_by = ?, conclusion = ? WHERE id = ?`, at, by, conclusion, id); err != nil {
		return err
	}
	if err := a.appendTx(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Review states of the supervision list.
const (
	ReviewAny    = ""
	ReviewOpen   = "open"
	ReviewClosed = "closed"
	// ReviewReferred: searches with at least one referred candidate.
	ReviewReferred = "referred"
)

// ListSearchesByReview pages through every search (newest first) in a
// review state (ReviewAny, ReviewOpen, ReviewClosed, ReviewReferred).
func (db *DB) ListSearchesByReview(ctx context.Context, state string, limit, offset int) ([]*Search, int, error) {
	var conds []string
	switch state {
	case ReviewOpen:
		conds = append(conds, "closed_at = 0")
	case ReviewClosed:
		conds = append(conds, "closed_at <> 0")
	case ReviewReferred:
		conds = append(conds, "EXISTS (SELECT 1 FROM search_reviews v WHERE v.search_id = searches.id AND v.mark = 'referred')")
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM searches`+where).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+searchCols+` FROM searches`+where+` ORDER BY id DESC LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*Search
	for rows.Next() {
		s, err := scanSearch(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, s)
	}
	return out, total, rows.Err()
}
