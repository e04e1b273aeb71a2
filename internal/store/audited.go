package store

import (
	"context"
	"fmt"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Audited is the audit row a change commits with, and the seal that chains
// it (audit.Hash). audit.Log.Entry builds one. A store method that takes
// one makes its change and appends the row in one transaction that it
// opens and commits itself: "the change and its audit row, atomically" is
// the store's promise, and the caller passes the entry, not a closure over
// the transaction. A nil *Audited (or one without a Row) makes the change
// alone.
//
// A few rows say what only the change knows. The method fills that field
// in, inside its transaction, before the row is appended (the caller
// leaves it empty):
//
//   - ChangeUserPassword, DisableUser: Details = "sessions ended: N"
//   - InsertCalibration: Target = "calibration:ID", the new calibration's id
//   - PurgeSearches: Details = "searches=N results=N sketch_files=N held_kept=N"
type Audited struct {
	Row  *domain.AuditRow
	Seal func(*domain.AuditRow) string
}

// appendTx appends the row inside tx, the change's transaction.
func (a *Audited) appendTx(ctx context.Context, tx *Tx) error {
	if a == nil || a.Row == nil {
		return nil
	}
	if err := AppendAuditTx(ctx, tx, a.Row, a.Seal); err != nil {
		return fmt.Errorf("%w %s: %w", domain.ErrAuditAppend, a.Row.Action, err)
	}
	return nil
}

// hook is appendTx as a TxHook, for the helpers shared with the methods
// that still take one (execOne).
func (a *Audited) hook(ctx context.Context) TxHook {
	if a == nil || a.Row == nil {
		return nil
	}
	return func(tx *Tx) error { return a.appendTx(ctx, tx) }
}

// setDetails and setTarget fill in the field of the row that the change
// decides (see Audited).
func (a *Audited) setDetails(format string, args ...any) {
	if a != nil && a.Row != nil {
		a.Row.Details = fmt.Sprintf(format, args...)
	}
}

func (a *Audited) setTarget(format string, args ...any) {
	if a != nil && a.Row != nil {
		a.Row.Target = fmt.Sprintf(format, args...)
	}
}
