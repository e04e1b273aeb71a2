package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/auth"
)

// Finding 4 of issue 12: login read the user row, checked the password, then
// trusted the stale row, so guesses sent at once were all checked against
// the real hash and the right one could succeed after the lock (and clear it).
func TestLockoutUnderConcurrentGuesses(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		wrong      int
		rights     int // attempts with the right password
		wantChecks int // wrong guesses checked against the real hash, at most
	}{
		{"ThirtyWrong", 30, 0, 5},
		// MaxFailures wrong guesses and the right password at (nearly) the same
		// time: the right one may win before the lock, never after it.
		{"FiveWrongThreeRight", 5, 3, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A check that takes a few milliseconds, as a real one does
			// (~70 ms), so the guesses overlap.
			saved := auth.HashParams
			auth.HashParams.Memory = 8 << 10
			t.Cleanup(func() { auth.HashParams = saved })
			for run := range 6 {
				f := newFixture(t)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range tc.wrong {
					wg.Go(func() {
						<-start
						f.svc.Login(ctx, "officer.smith", "wrong guess "+strings.Repeat("x", i%7+1), ip, "")
					})
				}
				for range tc.rights {
					wg.Go(func() {
						<-start
						time.Sleep(2 * time.Millisecond) // after the guesses have read the row
						f.svc.Login(ctx, "officer.smith", officerPW, ip, "")
					})
				}
				close(start)
				wg.Wait()

				checked, lockouts := 0, 0
				for _, r := range f.auditRows(t) {
					if r.Action == audit.ActionLoginFailed && strings.HasPrefix(r.Details, "wrong password") {
						checked++
					}
					if r.Action == audit.ActionLockout {
						lockouts++
					}
				}
				u, _ := f.svc.GetUser(ctx, f.officer.ID)
				if tc.wantChecks >= 0 && checked > tc.wantChecks {
					t.Fatalf("run %d: %d wrong guesses checked against the real hash, want at most %d", run, checked, tc.wantChecks)
				}
				if tc.rights == 0 && (lockouts != 1 || !u.Locked(f.clock.Now())) {
					t.Fatalf("run %d: %d lockout rows, locked=%v; want exactly one lock in force", run, lockouts, u.Locked(f.clock.Now()))
				}
				// A success may come before the lock, never after it: once
				// a lockout is recorded, the account must still be locked.
				if lockouts > 0 && !u.Locked(f.clock.Now()) {
					t.Fatalf("run %d: the lock was recorded but is no longer in force (a success cleared it)", run)
				}
			}
		})
	}
}
