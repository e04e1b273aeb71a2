package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

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
func (db *DB) PutReview(ctx context.Context, r *domain.Review, a *Audited) (*domain.Review, error) {
	r.ReviewedAt = db.Now().Unix()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if closed, err := searchClosedTx(ctx, tx, r.SearchID); err != nil {
		return nil, err
	} else if closed {
		return nil, domain.ErrSearchClosed
	}
	prev := &domain.Review{SearchID: r.SearchID, SubjectID: r.SubjectID}
	err = tx.QueryRowContext(ctx, `SELECT mark, note, reviewed_by, reviewed_at FROM search_reviews WHERE search_id = ? AND subject_id = ?`,
		r.SearchID, r.SubjectID).Scan(&prev.Mark, &prev.Note, &prev.ReviewedBy, &prev.ReviewedAt)
	if domain.IsNotFound(err) {
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
func (db *DB) ReviewsOf(ctx context.Context, searchID int64) (map[int64]domain.Review, error) {
	rows, err := db.QueryContext(ctx, `SELECT search_id, subject_id, mark, note, reviewed_by, reviewed_at FROM search_reviews WHERE search_id = ?`, searchID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]domain.Review{}
	for rows.Next() {
		var r domain.Review
		if err := rows.Scan(&r.SearchID, &r.SubjectID, &r.Mark, &r.Note, &r.ReviewedBy, &r.ReviewedAt); err != nil {
			return nil, err
		}
		out[r.SubjectID] = r
	}
	return out, translate(rows.Err())
}

// ReviewCounts returns the review counts of the given searches (searches
// without a mark are absent).
func (db *DB) ReviewCounts(ctx context.Context, searchIDs []int64) (map[int64]domain.ReviewCount, error) {
	out := make(map[int64]domain.ReviewCount, len(searchIDs))
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
			case domain.MarkExcluded:
				c.Excluded = n
			case domain.MarkPossible:
				c.Possible = n
			case domain.MarkReferred:
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
		return domain.ErrSearchClosed
	case !closing && !closed:
		return domain.ErrSearchOpen
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
func (db *DB) ListSearchesByReview(ctx context.Context, state string, limit, offset int) ([]*domain.Search, int, error) {
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
	var out []*domain.Search
	for rows.Next() {
		s, err := scanSearch(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, s)
	}
	return out, total, translate(rows.Err())
}
