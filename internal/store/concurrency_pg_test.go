package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/pgtest"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Appends from several instances (DB handles) at once keep one linear
// chain: every row links to the row before it.
func TestAuditAppendsFromSeveralInstances(t *testing.T) {
	pgtest.Shared(t)
	t.Run("postgres", func(t *testing.T) {
		ctx := context.Background()
		first := MustOpenDB(t)
		dbs := []*DB{first, MustOpenDB2(t, first), MustOpenDB2(t, first)}
		seal := func(r *domain.AuditRow) string {
			h := sha256.Sum256([]byte(r.PrevHash + r.At + r.Action))
			return hex.EncodeToString(h[:])
		}
		var wg sync.WaitGroup
		for i, db := range dbs {
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; k < 10; k++ {
						r := &domain.AuditRow{At: fmt.Sprint(i, w, k), Action: "x", Outcome: "success"}
						if err := db.AppendAudit(ctx, r, seal); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		prev, n := AuditGenesisHash, 0
		first.EachAudit(ctx, func(r *domain.AuditRow) error {
			if r.PrevHash != prev || seal(r) != r.Hash {
				t.Fatalf("row %d does not link to the row before it", r.ID)
			}
			prev, n = r.Hash, n+1
			return nil
		})
		if n != 120 {
			t.Fatalf("rows=%d, want 120", n)
		}
	})
}

// Two admins disabling each other from two instances at once leave one
// admin enabled.
func TestLastAdminFromSeveralInstances(t *testing.T) {
	pgtest.Shared(t)
	t.Run("postgres", func(t *testing.T) {
		ctx := context.Background()
		db := MustOpenDB(t)
		other := MustOpenDB2(t, db)
		for round := 0; round < 10; round++ {
			a := authTestUser(t, db, fmt.Sprint("a", round), "admin")
			b := authTestUser(t, db, fmt.Sprint("b", round), "admin")
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); db.DisableUser(ctx, a.ID, nil) }()
			go func() { defer wg.Done(); other.DisableUser(ctx, b.ID, nil) }()
			wg.Wait()
			if n, err := db.CountActiveAdmins(ctx); err != nil || n < 1 {
				t.Fatalf("round %d: %d active admins (err %v), want at least 1", round, n, err)
			}
			// Back to no admins enabled before the next round.
			for _, id := range []int64{a.ID, b.ID} {
				db.SetUserDisabled(ctx, id, true)
			}
		}
	})
}
