package store

import (
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"
)

// Two counters on one database (two instances) count into the same window.
func TestRateCounterShared(t *testing.T) {
	pgtest.Shared(t)
	t.Run("postgres", func(t *testing.T) {
		db := MustOpenDB(t)
		a, b := NewRateCounter(db, "login"), NewRateCounter(db, "login")
		cur := time.Unix(1_800_000_000, 0)
		prev := cur.Add(-time.Minute)
		for _, c := range []*RateCounter{a, b, a} {
			if err := c.Increment("10.0.0.1", cur); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.IncrementBy("10.0.0.1", prev, 4); err != nil {
			t.Fatal(err)
		}
		if c, p, err := b.Get("10.0.0.1", cur, prev); err != nil || c != 3 || p != 4 {
			t.Fatalf("get=%d,%d err=%v, want 3,4", c, p, err)
		}
		if c, p, err := a.Get("10.0.0.2", cur, prev); err != nil || c != 0 || p != 0 {
			t.Fatalf("other key=%d,%d err=%v", c, p, err)
		}
	})
}

// The shared counter is PostgreSQL's; on SQLite the caller keeps its own.
func TestSharedRateCounter(t *testing.T) {
	if c := (&DB{Dialect: SQLite}).SharedRateCounter("login"); c != nil {
		t.Errorf("SQLite: got a counter, want nil")
	}
	pg := &DB{Dialect: Postgres}
	if c := pg.SharedRateCounter("login"); c == nil || c.db != pg || c.scope != "login" || c.window != time.Minute {
		t.Errorf("PostgreSQL: got %+v, want a login counter on the DB", c)
	}
}
