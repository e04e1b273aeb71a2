package store

import "context"

// Audited is the audit row a change commits with, and the seal that chains
// it (audit.Hash). audit.Log.Entry builds one. The *Audited store methods
// take it instead of a TxHook: "the change and its audit row, atomically"
// is then the store's promise, and a call site whose hook did nothing but
// record the row passes the entry, not a closure.
type Audited struct {
	Row  *AuditRow
	Seal func(*AuditRow) string
}

// hook appends the row in the change's transaction (nil: no row).
func (a *Audited) hook(ctx context.Context) TxHook {
	if a == nil || a.Row == nil {
		return nil
	}
	return func(tx *Tx) error { return AppendAuditTx(ctx, tx, a.Row, a.Seal) }
}

// ReopenSearchAudited is ReopenSearch with its audit row.
func (db *DB) ReopenSearchAudited(ctx context.Context, id int64, a *Audited) error {
	return db.ReopenSearch(ctx, id, a.hook(ctx))
}
