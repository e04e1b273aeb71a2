package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/auth"
)

// Finding 5 of issue 12: times were stored to the second and a session's
// start was taken when its login began, so logins racing an admin's
// password reset (or a disable) left sessions opened with the old password
// alive. A per-user session generation, bumped by the change and checked on
// every request, ends them all.
func TestSessionsEndWithGeneration(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(f *fixture) error
	}{
		{"PasswordReset", func(f *fixture) error {
			return f.svc.SetPassword(ctx, f.actor, f.officer.ID, "a brand new passphrase 2026")
		}},
		{"Disable", func(f *fixture) error { return f.svc.SetDisabled(ctx, f.actor, f.officer.ID, true) }},
	} {
		// Deterministic: a login that read the account before the change
		// inserts its session after it, in the same second.
		t.Run(tc.name+"/InsertedAfterChange", func(t *testing.T) {
			f := newFixture(t)
			if err := tc.change(f); err != nil {
				t.Fatal(err)
			}
			tok := strings.Repeat("A", 43)
			sum := sha256.Sum256([]byte(tok))
			now := f.clock.Now().Unix()
			// user_gen left at its default: the generation the login read.
			if _, err := f.db.Exec(`INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at)
				VALUES (?, ?, ?, ?, ?)`, hex.EncodeToString(sum[:]), f.officer.ID, now, now, now+3600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.svc.Authenticate(ctx, tok); err == nil {
				t.Fatal("a session of a login that began before the change is valid")
			}
		})
		t.Run(tc.name+"/Concurrent", func(t *testing.T) {
			saved := auth.HashParams
			auth.HashParams.Memory = 4 << 10 // a check of a few ms, so logins overlap the change
			t.Cleanup(func() { auth.HashParams = saved })
			for run := range 3 {
				f := newFixture(t) // the clock stands still: every time is the same second
				var (
					mu     sync.Mutex
					tokens []string
					done   atomic.Bool
					wg     sync.WaitGroup
				)
				for range 4 {
					wg.Go(func() {
						for !done.Load() {
							if tok, _, err := f.svc.Login(ctx, "officer.smith", officerPW, ip, ""); err == nil {
								mu.Lock()
								tokens = append(tokens, tok)
								mu.Unlock()
							}
						}
					})
				}
				// Let some logins succeed, then change the account while
				// more are in flight.
				for {
					mu.Lock()
					n := len(tokens)
					mu.Unlock()
					if n >= 4 {
						break
					}
				}
				if err := tc.change(f); err != nil {
					t.Fatal(err)
				}
				for range 6 { // logins that read the row before the change finish now
					f.svc.Login(ctx, "nobody", "x", ip, "")
				}
				done.Store(true)
				wg.Wait()
				alive := 0
				for _, tok := range tokens {
					if _, _, err := f.svc.Authenticate(ctx, tok); err == nil {
						alive++
					}
				}
				if alive != 0 {
					t.Fatalf("run %d: %d of %d sessions opened with the old password are still valid", run, alive, len(tokens))
				}
			}
		})
	}
}
