// Package domain holds SketchMatch's plain data types that cross the
// storage seam (references, subjects, searches and their reviews, users,
// sessions and tokens, calibrations, audit rows, face records, ...) and the
// error codes the store returns (ErrNotFound, ErrBusy, ...; IsNotFound,
// IsUnavailable).
//
// It carries no database machinery and imports no driver: internal/store
// reads and writes these types and translates its driver's errors into
// these values, so packages above the store depend on domain for what
// they exchange with it and on store only for the database itself
// (store.DB, store.Tx, store.Audited, store.TxHook).
package domain
