package gallery

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// The human review a candidate list is for (issue 16): the officer who ran
// a search marks each candidate person excluded, possible or referred
// (passed on for investigation), with an optional note, then closes the
// search with a conclusion. A closed search is read-only until an admin
// reopens it. Every change is an audit row committed with it.

// Marks, in the order they are offered.
var Marks = []string{domain.MarkExcluded, domain.MarkPossible, domain.MarkReferred}

// maxReviewNote bounds a review note or a conclusion.
const maxReviewNote = 2000

// ParseMark validates a review mark.
func ParseMark(v string) (string, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	for _, m := range Marks {
		if v == m {
			return v, nil
		}
	}
	return "", apperr.Errorf(apperr.EINVALID, "The mark must be excluded, possible or referred.")
}

// reviewable loads a search the actor may review: only the officer who ran
// it (an admin supervises, and reopens, but does not review another's search).
func (s *Service) reviewable(ctx context.Context, who Actor, id int64) (*domain.Search, error) {
	sr, err := s.db.SearchByID(ctx, id)
	if domain.IsNotFound(err) {
		return nil, apperr.Errorf(apperr.ENOTFOUND, "Search #%d does not exist.", id)
	}
	if err != nil {
		return nil, err
	}
	if sr.UserID != who.UserID {
		return nil, apperr.Errorf(apperr.EFORBIDDEN, "Only the officer who ran search #%d can review it.", id)
	}
	return sr, nil
}

func closedError(id int64) error {
	return apperr.Errorf(apperr.ECONFLICT, "Search #%d is closed: its review is read-only. An administrator can reopen it.", id)
}

// Review sets or changes the mark on one candidate person of a search.
func (s *Service) Review(ctx context.Context, who Actor, searchID, subjectID int64, mark, note string) (*domain.Review, error) {
	var err error
	if mark, err = ParseMark(mark); err != nil {
		return nil, err
	}
	if note, err = cleanText("The note", note, maxReviewNote, true); err != nil {
		return nil, err
	}
	sr, err := s.reviewable(ctx, who, searchID)
	if err != nil {
		return nil, err
	}
	listed := false
	for _, r := range sr.Results {
		listed = listed || (r.SubjectID == subjectID && subjectID != 0)
	}
	if !listed {
		return nil, apperr.Errorf(apperr.ENOTFOUND, "Person #%d is not a candidate of search #%d.", subjectID, searchID)
	}
	if sr.ClosedAt != 0 {
		return nil, closedError(searchID)
	}
	rv := &domain.Review{SearchID: searchID, SubjectID: subjectID, Mark: mark, Note: note, ReviewedBy: who.Username}
	entry, err := s.audit.Entry(audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionReviewMark,
		Target: fmt.Sprintf("search:%d subject:%d", searchID, subjectID), Outcome: audit.OutcomeSuccess,
		Details: fmt.Sprintf("case=%q mark=%s note=%q", sr.CaseNumber, mark, note)})
	if err != nil {
		return nil, err
	}
	_, err = s.db.PutReview(ctx, rv, entry)
	switch {
	case errors.Is(err, domain.ErrSearchClosed):
		return nil, closedError(searchID)
	case err != nil:
		return nil, storageError(err)
	}
	s.log.Info("review mark", "user", who.Username, "search", searchID, "subject", subjectID, "mark", mark)
	return rv, nil
}

// CloseSearch finishes the review of a search with a conclusion note.
func (s *Service) CloseSearch(ctx context.Context, who Actor, id int64, conclusion string) error {
	var err error
	if conclusion, err = cleanText("The conclusion", conclusion, maxReviewNote, true); err != nil {
		return err
	}
	sr, err := s.reviewable(ctx, who, id)
	if err != nil {
		return err
	}
	reviews, err := s.db.ReviewsOf(ctx, id)
	if err != nil {
		return err
	}
	unreviewed := 0
	for _, r := range sr.Results {
		if _, ok := reviews[r.SubjectID]; !ok || r.SubjectID == 0 {
			unreviewed++
		}
	}
	entry, err := s.audit.Entry(audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionSearchClose,
		Target: fmt.Sprintf("search:%d", id), Outcome: audit.OutcomeSuccess,
		Details: fmt.Sprintf("case=%q unreviewed=%d conclusion=%q", sr.CaseNumber, unreviewed, conclusion)})
	if err != nil {
		return err
	}
	err = s.db.CloseSearch(ctx, id, who.Username, conclusion, entry)
	switch {
	case errors.Is(err, domain.ErrSearchClosed):
		return apperr.Errorf(apperr.ECONFLICT, "Search #%d is already closed.", id)
	case err != nil:
		return storageError(err)
	}
	s.log.Info("search closed", "user", who.Username, "search", id, "unreviewed", unreviewed)
	return nil
}

// ReopenSearch reopens a closed search (administrators only).
func (s *Service) ReopenSearch(ctx context.Context, who Actor, id int64) error {
	if !who.Admin {
		return apperr.Errorf(apperr.EFORBIDDEN, "Only an administrator can reopen a closed search.")
	}
	sr, err := s.db.SearchByID(ctx, id)
	if domain.IsNotFound(err) {
		return apperr.Errorf(apperr.ENOTFOUND, "Search #%d does not exist.", id)
	} else if err != nil {
		return err
	}
	entry, err := s.audit.Entry(audit.Entry{Username: who.Username, ClientIP: who.ClientIP, Action: audit.ActionSearchReopen,
		Target: fmt.Sprintf("search:%d", id), Outcome: audit.OutcomeSuccess,
		Details: fmt.Sprintf("case=%q closed_by=%s previous_conclusion=%q", sr.CaseNumber, sr.ClosedBy, sr.Conclusion)})
	if err != nil {
		return err
	}
	err = s.db.ReopenSearch(ctx, id, entry)
	switch {
	case errors.Is(err, domain.ErrSearchOpen):
		return apperr.Errorf(apperr.ECONFLICT, "Search #%d is not closed.", id)
	case err != nil:
		return storageError(err)
	}
	s.log.Info("search reopened", "user", who.Username, "search", id)
	return nil
}
