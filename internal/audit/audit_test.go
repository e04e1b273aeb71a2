package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
	"github.com/sketchmatch/sketchmatch/internal/store/storetest"
)

func newLog(t *testing.T) (*audit.Log, *store.DB) {
	t.Helper()
	db := storetest.MustOpenDB(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	db.Now = func() time.Time { now = now.Add(time.Second); return now }
	return &audit.Log{DB: db}, db
}

func record(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		err := l.Record(context.Background(), audit.Entry{
			Username: "alice", ClientIP: "10.0.0.1", Action: audit.ActionLogin,
			Target: fmt.Sprintf("t%d", i), Outcome: audit.OutcomeSuccess, Details: fmt.Sprintf("row %d", i),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestRecordAndList(t *testing.T) {
	ctx := context.Background()
	l, _ := newLog(t)
	record(t, l, 5)

	rows, total, err := l.List(ctx, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := total, 5; got != want {
		t.Fatalf("total=%d, want %d", got, want)
	}
	if got, want := len(rows), 2; got != want {
		t.Fatalf("len(rows)=%d, want %d", got, want)
	}
	if got, want := rows[0].Target, "t5"; got != want {
		t.Fatalf("newest first: rows[0].Target=%q, want %q", got, want)
	}
	if got, want := rows[0].PrevHash, rows[1].Hash; got != want {
		t.Fatalf("row 5 prev_hash=%s, want row 4 hash %s", got, want)
	}
	if !strings.HasSuffix(rows[0].At, "Z") || rows[0].Time().IsZero() {
		t.Fatalf("At=%q, want RFC 3339 UTC", rows[0].At)
	}
	if got, want := rows[0].Time().Nanosecond(), 123456789; got != want {
		t.Fatalf("nanoseconds=%d, want %d", got, want)
	}

	t.Run("FirstRowLinksToGenesis", func(t *testing.T) {
		rows, _, err := l.List(ctx, 1, 4)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rows[0].PrevHash, strings.Repeat("0", 64); got != want {
			t.Fatalf("prev_hash=%s, want %s", got, want)
		}
	})
	t.Run("OffsetPastEnd", func(t *testing.T) {
		rows, total, err := l.List(ctx, 10, 100)
		if err != nil || len(rows) != 0 || total != 5 {
			t.Fatalf("rows=%d total=%d err=%v, want 0 5 nil", len(rows), total, err)
		}
	})
	t.Run("ErrActionRequired", func(t *testing.T) {
		if err := l.Record(ctx, audit.Entry{Outcome: audit.OutcomeSuccess}); err == nil {
			t.Fatal("entry without action recorded")
		}
	})
	t.Run("LongFieldsCut", func(t *testing.T) {
		err := l.Record(ctx, audit.Entry{Action: "x", Outcome: "success",
			Username: strings.Repeat("é", 1000), Details: strings.Repeat("d", 10000) + "\xff"})
		if err != nil {
			t.Fatal(err)
		}
		rows, _, _ := l.List(ctx, 1, 0)
		if n := len(rows[0].Username); n > 512 || !strings.HasPrefix(rows[0].Username, "éé") || strings.ContainsRune(rows[0].Username, '\uFFFD') {
			t.Fatalf("username cut badly: %d bytes", n)
		}
		if n := len(rows[0].Details); n != 4096 {
			t.Fatalf("details=%d bytes, want 4096", n)
		}
	})
}

func TestHash(t *testing.T) {
	base := domain.AuditRow{PrevHash: store.AuditGenesisHash, At: "2025-01-01T00:00:00Z",
		Username: "ab", ClientIP: "1.2.3.4", Action: "login", Target: "c", Outcome: "success", Details: "d"}
	h := audit.Hash(&base)
	if len(h) != 64 {
		t.Fatalf("hash length %d", len(h))
	}
	// Moving bytes from one field to the next must change the hash: the
	// length prefixes make the encoding unambiguous.
	shifted := base
	shifted.Username, shifted.ClientIP = "a", "b1.2.3.4"
	for name, r := range map[string]domain.AuditRow{
		"ShiftedBoundary": shifted,
		"Details":         func() domain.AuditRow { r := base; r.Details = "e"; return r }(),
		"PrevHash":        func() domain.AuditRow { r := base; r.PrevHash = strings.Repeat("1", 64); return r }(),
		"At":              func() domain.AuditRow { r := base; r.At = "2025-01-01T00:00:00.0Z"; return r }(),
	} {
		t.Run(name, func(t *testing.T) {
			if audit.Hash(&r) == h {
				t.Fatal("different content, same hash")
			}
		})
	}
	t.Run("IDNotCovered", func(t *testing.T) {
		r := base
		r.ID, r.Hash = 99, "x"
		if audit.Hash(&r) != h {
			t.Fatal("hash depends on id or stored hash")
		}
	})
}

func TestVerify(t *testing.T) {
	ctx := context.Background()

	t.Run("EmptyIsOK", func(t *testing.T) {
		l, _ := newLog(t)
		res, err := l.Verify(ctx)
		if err != nil || !res.OK || res.Rows != 0 || res.LastHash != store.AuditGenesisHash {
			t.Fatalf("res=%+v err=%v", res, err)
		}
	})

	t.Run("GoodChain", func(t *testing.T) {
		l, _ := newLog(t)
		record(t, l, 10)
		res, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK || res.Rows != 10 || res.FirstBroken != 0 || res.Reason != "" {
			t.Fatalf("res=%+v, want OK with 10 rows", res)
		}
		rows, _, _ := l.List(ctx, 1, 0)
		if res.LastHash != rows[0].Hash {
			t.Fatalf("LastHash=%s, want %s", res.LastHash, rows[0].Hash)
		}
	})

	tamper := []struct {
		name       string
		sql        []string
		wantBroken int64
		wantReason string
	}{
		{"EditedDetails", []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET details = 'nothing happened' WHERE id = 4`}, 4, "edited"},
		{"EditedTime", []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET at = '2020-01-01T00:00:00Z' WHERE id = 2`}, 2, "edited"},
		// An attacker who edits a row and recomputes its hash breaks the next link.
		{"EditedAndResealed", []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET hash = 'ff' WHERE id = 6`}, 6, "edited"},
		{"DeletedMiddleRow", []string{`DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE id = 5`}, 6, "deleted"},
		{"DeletedFirstRow", []string{`DROP TRIGGER audit_log_no_delete`, `DELETE FROM audit_log WHERE id = 1`}, 2, "deleted"},
		{"SwappedRows", []string{`DROP TRIGGER audit_log_no_update`,
			`UPDATE audit_log SET id = -3 WHERE id = 3`, `UPDATE audit_log SET id = 3 WHERE id = 7`, `UPDATE audit_log SET id = 7 WHERE id = -3`}, 3, "previous row"},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			l, db := newLog(t)
			record(t, l, 8)
			for _, q := range tt.sql {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			res, err := l.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK {
				t.Fatalf("tampered chain verified: %+v", res)
			}
			if got, want := res.FirstBroken, tt.wantBroken; got != want {
				t.Fatalf("FirstBroken=%d, want %d (%s)", got, want, res.Reason)
			}
			if !strings.Contains(res.Reason, tt.wantReason) {
				t.Fatalf("Reason=%q, want it to mention %q", res.Reason, tt.wantReason)
			}
		})
	}

	t.Run("ResealedRowBreaksNextLink", func(t *testing.T) {
		l, db := newLog(t)
		record(t, l, 5)
		rows, _, _ := l.List(ctx, 10, 0)
		r := rows[len(rows)-3] // id 3
		r.Details = "forged"
		forged := audit.Hash(&r)
		db.ExecContext(ctx, `DROP TRIGGER audit_log_no_update`)
		if _, err := db.ExecContext(ctx, `UPDATE audit_log SET details = ?, hash = ? WHERE id = ?`, r.Details, forged, r.ID); err != nil {
			t.Fatal(err)
		}
		res, _ := l.Verify(ctx)
		if res.OK || res.FirstBroken != 4 {
			t.Fatalf("res=%+v, want broken at 4", res)
		}
	})
}

func TestTriggersRefuseChanges(t *testing.T) {
	ctx := context.Background()
	l, db := newLog(t)
	record(t, l, 2)
	for _, q := range []string{`UPDATE audit_log SET details = 'x' WHERE id = 1`, `DELETE FROM audit_log WHERE id = 1`} {
		if _, err := db.ExecContext(ctx, q); err == nil {
			t.Fatalf("%s succeeded", q)
		}
	}
}

// Concurrent appends must each read the true last hash (BEGIN IMMEDIATE), or
// two rows would share a prev_hash and the chain would fork.
func TestConcurrentRecord(t *testing.T) {
	ctx := context.Background()
	l, db := newLog(t)
	var mu sync.Mutex
	clock := db.Now
	db.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock() }
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				errs <- l.Record(ctx, audit.Entry{Username: "u", Action: audit.ActionSearch, Outcome: audit.OutcomeSuccess, Details: fmt.Sprint(w, i)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := l.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Rows != 80 {
		t.Fatalf("res=%+v, want 80 rows OK", res)
	}
}
