package domain

import (
	"errors"
	"time"
)

// AuditRow is a row of the append-only, hash-chained audit_log table. At is
// kept as the stored RFC 3339 string because the hash covers those exact bytes.
type AuditRow struct {
	ID       int64
	At       string
	Username string
	ClientIP string
	Action   string
	Target   string
	Outcome  string
	Details  string
	PrevHash string
	Hash     string
}

// Time parses At (zero time if it does not parse).
func (r *AuditRow) Time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.At)
	return t
}

// AuditFilter narrows the audit trail: every set field must match.
type AuditFilter struct {
	Username string // exact (case-insensitive)
	Action   string // exact
	Outcome  string // exact
	From, To string // RFC 3339 UTC bounds on "at" (inclusive from, exclusive to); "" = open
	BeforeID int64  // only rows with a smaller id (a page's cursor); 0 = none
}

// ErrAuditAppend wraps the error of an audit row that could not be
// appended; the change it described was rolled back with it.
var ErrAuditAppend = errors.New("audit: append")
