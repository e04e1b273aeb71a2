// Package audit is SketchMatch's append-only, hash-chained audit trail.
//
// Every row carries the hash of the row before it, and its own hash covers
// that link and all of its content, so editing, deleting or reordering rows
// in the database breaks the chain at the first affected row, which Verify
// names. There is no code path that updates or deletes rows (and the schema's
// triggers refuse both). What a chain cannot show on its own is the removal
// of the newest rows (truncation): for that, keep the row count and last hash
// from Verify somewhere else (the backup log, a ticket) and compare.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// Actions. Keep the strings stable: they are part of the chained content and
// operators filter by them.
const (
	ActionLogin           = "login"
	ActionLoginFailed     = "login_failed"
	ActionLockout         = "lockout"
	ActionLogout          = "logout"
	ActionUserCreate      = "user_create"
	ActionUserDisable     = "user_disable"
	ActionUserEnable      = "user_enable"
	ActionUserUnlock      = "user_unlock"
	ActionPasswordChange  = "password_change"
	ActionSearch          = "search"
	ActionReferenceAdd    = "reference_add"
	ActionReferenceDelete = "reference_delete"
	ActionReferenceUpdate = "reference_update"
	ActionCalibration     = "calibration"
	ActionReindex         = "reindex"
	ActionReportDownload  = "report_download"
	ActionExport          = "export"
	ActionTokenCreate     = "token_create"
	ActionTokenRevoke     = "token_revoke"
	ActionTokenUse        = "token_use"
	// ActionView is a page view or download that showed personal data
	// (faces, searches, reports): one row per view, listing what was shown.
	ActionView = "view"
	// ActionPurge is a retention run; ActionSearchHold sets or clears the
	// legal hold of a search.
	ActionPurge      = "purge"
	ActionSearchHold = "search_hold"
	// People and review (issue 16): a photo moved to another subject, two
	// subjects merged, a subject renamed; a candidate's review mark set or
	// changed; a search's review closed or reopened.
	ActionReferenceMove = "reference_move"
	ActionSubjectMerge  = "subject_merge"
	ActionSubjectUpdate = "subject_update"
	ActionReviewMark    = "review_mark"
	ActionSearchClose   = "search_close"
	ActionSearchReopen  = "search_reopen"
)

// Outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure" // attempted and failed (wrong password, error)
	OutcomeDenied  = "denied"  // refused by policy (disabled, locked, not allowed)
)

// Field limits. Values are cut (on a UTF-8 boundary) rather than refused: an
// audit write must not fail because an attacker sent a long username, and the
// log must not grow without bound from one request.
const (
	maxFieldBytes   = 512
	maxDetailsBytes = 4096
)

// Entry is what a caller records; time and chaining are added by Record.
type Entry struct {
	Username string // who acted ("" for anonymous, the attempted name for failed logins)
	ClientIP string
	Action   string
	Target   string // what was acted on: a username, a reference id, a case number
	Outcome  string
	Details  string // free text for a human reader; never a password or a token
}

// Log writes and reads the audit trail.
type Log struct {
	DB Store
}

// Store is where the Log keeps the trail: it appends sealed rows, reads
// them back a page at a time or all in order (Verify), and stamps rows by
// the store's clock. *store.DB implements it on SQLite and on PostgreSQL.
type Store interface {
	AppendAudit(ctx context.Context, r *domain.AuditRow, seal func(*domain.AuditRow) string) error
	ListAudit(ctx context.Context, limit, offset int) ([]domain.AuditRow, int, error)
	EachAudit(ctx context.Context, fn func(*domain.AuditRow) error) error
	Clock() time.Time
}

var _ Store = (*store.DB)(nil)

func (l *Log) now() time.Time { return l.DB.Clock() }

// Record appends e with the current UTC time.
func (l *Log) Record(ctx context.Context, e Entry) error {
	r, err := l.row(e)
	if err != nil {
		return err
	}
	if err := l.DB.AppendAudit(ctx, r, Hash); err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	return nil
}

// RecordTx appends e inside tx, so it commits (or not) with the change it
// describes.
func (l *Log) RecordTx(ctx context.Context, tx *store.Tx, e Entry) error {
	r, err := l.row(e)
	if err != nil {
		return err
	}
	if err := store.AppendAuditTx(ctx, tx, r, Hash); err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	return nil
}

// Entry is e as the audit row a store change commits with (the store's
// *Audited methods): stamped now, cleaned, sealed with Hash when appended.
func (l *Log) Entry(e Entry) (*store.Audited, error) {
	r, err := l.row(e)
	if err != nil {
		return nil, err
	}
	return &store.Audited{Row: r, Seal: Hash}, nil
}

func (l *Log) row(e Entry) (*domain.AuditRow, error) {
	if e.Action == "" || e.Outcome == "" {
		return nil, fmt.Errorf("audit: action and outcome are required (action=%q outcome=%q)", e.Action, e.Outcome)
	}
	return &domain.AuditRow{
		At:       l.now().UTC().Format(time.RFC3339Nano),
		Username: clean(e.Username, maxFieldBytes),
		ClientIP: clean(e.ClientIP, maxFieldBytes),
		Action:   clean(e.Action, maxFieldBytes),
		Target:   clean(e.Target, maxFieldBytes),
		Outcome:  clean(e.Outcome, maxFieldBytes),
		Details:  clean(e.Details, maxDetailsBytes),
	}, nil
}

// clean makes s valid UTF-8 and at most max bytes, cutting on a rune boundary.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// List returns one page of rows, newest first, and the total number of rows.
// limit is clamped to 1..1000 and offset to ≥ 0.
func (l *Log) List(ctx context.Context, limit, offset int) ([]domain.AuditRow, int, error) {
	limit = min(max(limit, 1), 1000)
	offset = max(offset, 0)
	return l.DB.ListAudit(ctx, limit, offset)
}

// hashDomain separates this hash from any other use of SHA-256 and versions
// the encoding.
const hashDomain = "sketchmatch-audit-v1"

// Hash returns the hex SHA-256 of the canonical encoding of r: a domain tag,
// then prev_hash, at, username, client_ip, action, target, outcome and
// details, each as an 8-byte big-endian length followed by its bytes. The
// length prefixes make the encoding injective, so no choice of field values
// (embedded separators, moved bytes between fields) gives two rows the same
// input. r.ID and r.Hash are not covered: position is bound by prev_hash.
func Hash(r *domain.AuditRow) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{hashDomain, r.PrevHash, r.At, r.Username, r.ClientIP, r.Action, r.Target, r.Outcome, r.Details} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyResult is the outcome of Verify.
type VerifyResult struct {
	Rows        int    // rows read
	OK          bool   // the whole chain is intact
	FirstBroken int64  // id of the first row that fails, 0 when OK
	Reason      string // why that row fails, "" when OK
	LastHash    string // hash of the newest row (the genesis hash for an empty log); record it elsewhere to detect truncation
}

// Verify walks the chain oldest first, recomputing every row's hash and
// checking that each row links to the row before it. It reports the first
// row that fails: a row whose content was edited fails its own hash; a row
// after a deleted (or re-hashed) row fails its link.
func (l *Log) Verify(ctx context.Context) (VerifyResult, error) {
	res := VerifyResult{OK: true}
	prev := store.AuditGenesisHash
	err := l.DB.EachAudit(ctx, func(r *domain.AuditRow) error {
		res.Rows++
		if res.OK {
			reason := ""
			switch {
			case r.PrevHash != prev:
				if res.Rows == 1 {
					reason = "first row does not link to the genesis hash: earlier rows were deleted or the row was edited"
				} else {
					reason = "does not link to the previous row: a row before it was deleted or edited"
				}
			case Hash(r) != r.Hash:
				reason = "content does not match its hash: the row was edited"
			}
			if reason != "" {
				res.OK, res.FirstBroken, res.Reason = false, r.ID, reason
			}
		}
		prev = r.Hash
		return nil
	})
	if err != nil {
		return VerifyResult{}, fmt.Errorf("audit: verify: %w", err)
	}
	res.LastHash = prev
	return res, nil
}
