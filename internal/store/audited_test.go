package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestAudited(t *testing.T) { forEachBackend(t, testAudited) }

// The change and its audit row commit together: a change that fails (not
// found) leaves no row; one that succeeds leaves exactly its row.
func testAudited(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	seal := func(r *AuditRow) string { return fmt.Sprintf("%064x", len(r.Details)+len(r.PrevHash)) }
	entry := func(d string) *Audited {
		return &Audited{Row: &AuditRow{At: "2026-01-01T00:00:00Z", Action: "reference_update", Outcome: "success", Details: d}, Seal: seal}
	}
	count := func() int {
		n := 0
		if err := db.EachAudit(ctx, func(*AuditRow) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := db.UpdateReferenceAudited(ctx, 424242, "x", "", entry("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of a missing reference: %v, want ErrNotFound", err)
	}
	if n := count(); n != 0 {
		t.Fatalf("a failed change left %d audit rows", n)
	}
	row := bulkRow(0, false)
	if err := db.InsertReferences(ctx, []NewReferenceWithEmbedding{row}, nil); err != nil {
		t.Fatal(err)
	}
	a := entry("label")
	if err := db.UpdateReferenceAudited(ctx, row.Reference.ID, "new label", "n", a); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ReferenceByID(ctx, row.Reference.ID); got.Label != "new label" || count() != 1 || a.Row.ID == 0 || a.Row.Hash != seal(a.Row) {
		t.Fatalf("after the change: %+v, %d rows, audit row %+v", got, count(), a.Row)
	}
	// No entry: the change alone, as with a nil hook.
	if err := db.UpdateReferenceAudited(ctx, row.Reference.ID, "again", "", nil); err != nil || count() != 1 {
		t.Fatalf("nil entry: %v, %d rows", err, count())
	}
}
