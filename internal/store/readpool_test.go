package store

import (
	"context"
	"testing"
	"time"
)

func TestIsRead(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"SELECT 1", true},
		{"\n\t  select id FROM users", true},
		{"(SELECT 1)", true},
		{"INSERT INTO t VALUES (1)", false},
		{"UPDATE t SET x = 1", false},
		{"DELETE FROM t", false},
		{"WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", false},
		{"VACUUM INTO ?", false},
		{"SEL", false},
	}
	for _, tc := range tests {
		if got := isRead(tc.query); got != tc.want {
			t.Errorf("isRead(%q) = %v, want %v", tc.query, got, tc.want)
		}
	}
}

// TestReadPool: on SQLite reads run on a query_only pool of their own
// (db.go); on PostgreSQL the one pool. Either way reads see every
// committed write and are not held up by a write in progress.
func TestReadPool(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		db := MustOpenDB(t)
		if _, err := db.ExecContext(ctx, `CREATE TABLE readpool_t (x INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		count := func(t *testing.T) int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM readpool_t`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		t.Run("ReadsSeeCommittedWrites", func(t *testing.T) {
			for i := 1; i <= 20; i++ {
				if i%2 == 0 {
					if _, err := db.ExecContext(ctx, `INSERT INTO readpool_t (x) VALUES (?)`, i); err != nil {
						t.Fatal(err)
					}
				} else {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO readpool_t (x) VALUES (?)`, i); err != nil {
						t.Fatal(err)
					}
					if err := tx.Commit(); err != nil {
						t.Fatal(err)
					}
				}
				if got := count(t); got != i {
					t.Fatalf("after %d committed inserts a read counts %d", i, got)
				}
			}
		})

		t.Run("ReadNotBlockedByOpenWrite", func(t *testing.T) {
			before := count(t)
			tx, err := db.BeginTx(ctx, nil) // holds SQLite's write lock
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `INSERT INTO readpool_t (x) VALUES (-1)`); err != nil {
				t.Fatal(err)
			}
			done := make(chan int, 1)
			go func() {
				var n int
				db.QueryRowContext(ctx, `SELECT COUNT(*) FROM readpool_t`).Scan(&n)
				done <- n
			}()
			select {
			case n := <-done:
				if n != before {
					t.Fatalf("a read during an open write counted %d, want the committed %d", n, before)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a read waited for an open write transaction")
			}
		})

		t.Run("WriteDuringLongRead", func(t *testing.T) {
			before := count(t)
			rows, err := db.QueryContext(ctx, `SELECT x FROM readpool_t`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			if !rows.Next() {
				t.Fatal("no rows")
			}
			seen := 1
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if _, err := db.ExecContext(wctx, `INSERT INTO readpool_t (x) VALUES (100)`); err != nil {
				t.Fatalf("a write during a long read: %v", err)
			}
			// A second read during the long one, on another connection.
			if got := count(t); got != before+1 {
				t.Fatalf("a read after the write counts %d, want %d", got, before+1)
			}
			for rows.Next() {
				seen++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if seen != before {
				t.Fatalf("the long read saw %d rows, want its snapshot's %d", seen, before)
			}
		})

		if db.Dialect != SQLite {
			return
		}
		t.Run("ReadPoolRefusesWrites", func(t *testing.T) {
			if db.ro == nil {
				t.Fatal("no read pool on SQLite")
			}
			if _, err := db.ro.ExecContext(ctx, `INSERT INTO readpool_t (x) VALUES (7)`); err == nil {
				t.Fatal("the read pool accepted an INSERT")
			}
			if _, err := db.ro.ExecContext(ctx, `CREATE TABLE readpool_u (x INTEGER)`); err == nil {
				t.Fatal("the read pool accepted a CREATE TABLE")
			}
			var n int
			if err := db.ro.QueryRowContext(ctx, `SELECT COUNT(*) FROM readpool_t`).Scan(&n); err != nil {
				t.Fatal(err)
			}
		})
	})
}
