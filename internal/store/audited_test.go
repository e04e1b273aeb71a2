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
	if err := db.ReopenSearchAudited(ctx, 424242, entry("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reopening a missing search: %v, want ErrNotFound", err)
	}
	if n := count(); n != 0 {
		t.Fatalf("a failed change left %d audit rows", n)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, username, password_hash, role, created_at, password_changed_at) VALUES (1, 'bob', 'x', 'officer', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	s := &Search{UserID: 1, Username: "bob", SketchSHA256: "s", SketchPath: "s", ModelID: "m", K: 1}
	if err := db.InsertSearch(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.CloseSearch(ctx, s.ID, "bob", "done", nil); err != nil {
		t.Fatal(err)
	}
	a := entry("reopened")
	if err := db.ReopenSearchAudited(ctx, s.ID, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.SearchByID(ctx, s.ID); got.ClosedAt != 0 || count() != 1 || a.Row.ID == 0 || a.Row.Hash != seal(a.Row) {
		t.Fatalf("after the change: %+v, %d rows, audit row %+v", got, count(), a.Row)
	}
	// No entry: the change alone, as with a nil hook.
	if err := db.CloseSearch(ctx, s.ID, "bob", "again", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.ReopenSearchAudited(ctx, s.ID, nil); err != nil || count() != 1 {
		t.Fatalf("nil entry: %v, %d rows", err, count())
	}
}
