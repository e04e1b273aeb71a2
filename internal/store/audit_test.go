package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

func TestAudit(t *testing.T) { forEachBackend(t, testAudit) }

func testAudit(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	seal := func(r *domain.AuditRow) string { return fmt.Sprintf("%064d", len(r.PrevHash)+int(r.Details[0])) }
	for _, d := range []string{"a", "b", "c"} {
		r := &domain.AuditRow{At: "2025-01-01T00:00:00Z", Action: "x", Outcome: "success", Details: d}
		if err := db.AppendAudit(ctx, r, seal); err != nil {
			t.Fatal(err)
		}
		if r.ID == 0 || r.Hash != seal(r) {
			t.Fatalf("row=%+v", r)
		}
	}
	t.Run("ChainLinks", func(t *testing.T) {
		var got []domain.AuditRow
		if err := db.EachAudit(ctx, func(r *domain.AuditRow) error { got = append(got, *r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].PrevHash != AuditGenesisHash || got[1].PrevHash != got[0].Hash || got[2].PrevHash != got[1].Hash {
			t.Fatalf("rows=%+v", got)
		}
	})
	t.Run("ListNewestFirst", func(t *testing.T) {
		rows, total, err := db.ListAudit(ctx, 2, 1)
		if err != nil || total != 3 || len(rows) != 2 || rows[0].Details != "b" || rows[1].Details != "a" {
			t.Fatalf("rows=%+v total=%d err=%v", rows, total, err)
		}
	})
	t.Run("EachStopsOnError", func(t *testing.T) {
		n := 0
		stop := fmt.Errorf("stop")
		if err := db.EachAudit(ctx, func(*domain.AuditRow) error { n++; return stop }); err != stop || n != 1 {
			t.Fatalf("err=%v n=%d", err, n)
		}
	})
}
