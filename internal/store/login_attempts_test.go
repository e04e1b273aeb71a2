package store

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// The login decision of issue 12 finding 4 is made on the row as it is when
// the statement runs, never on a value read before the password check.
func TestClaimLoginSuccess(t *testing.T) { forEachBackend(t, testClaimLoginSuccess) }

func testClaimLoginSuccess(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		setup string // SQL run on the user (?) before the claim
		hash  string
		want  bool
	}{
		{"Unlocked", `UPDATE users SET failed_logins = 3 WHERE id = ?`, "$argon2id$x", true},
		{"LockEngagedDuringCheck", `UPDATE users SET locked_until = ` + itoa64(now.Add(time.Minute).Unix()) + ` WHERE id = ?`, "$argon2id$x", false},
		{"LockExpired", `UPDATE users SET locked_until = ` + itoa64(now.Add(-time.Second).Unix()) + ` WHERE id = ?`, "$argon2id$x", true},
		{"DisabledDuringCheck", `UPDATE users SET disabled = 1 WHERE id = ?`, "$argon2id$x", false},
		{"PasswordResetDuringCheck", `UPDATE users SET password_hash = 'new' WHERE id = ?`, "$argon2id$x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpenDB(t)
			u := authTestUser(t, db, "bob", "officer")
			if _, err := db.ExecContext(ctx, tc.setup, u.ID); err != nil {
				t.Fatal(err)
			}
			got, err := db.ClaimLoginSuccess(ctx, u.ID, tc.hash, now)
			if err != nil || got != tc.want {
				t.Fatalf("ClaimLoginSuccess=%v,%v want %v", got, err, tc.want)
			}
			fresh, _ := db.UserByID(ctx, u.ID)
			if got && (fresh.FailedLogins != 0 || !fresh.LockedUntil.IsZero()) {
				t.Fatalf("claimed but counter=%d locked=%v", fresh.FailedLogins, fresh.LockedUntil)
			}
		})
	}
}

func TestReserveLoginAttempt(t *testing.T) { forEachBackend(t, testReserveLoginAttempt) }

func testReserveLoginAttempt(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	u := authTestUser(t, db, "bob", "officer")
	// Five reservations are allowed (in flight or failed), the sixth not.
	for i := 1; i <= 6; i++ {
		n, ok, err := db.ReserveLoginAttempt(ctx, u.ID, 5, now)
		if err != nil || ok != (i <= 5) || (ok && n != i) {
			t.Fatalf("attempt %d: %d,%v,%v", i, n, ok, err)
		}
	}
	locked, err := db.LockIfExhausted(ctx, u.ID, 5, now, now.Add(time.Hour))
	if err != nil || !locked {
		t.Fatalf("LockIfExhausted=%v,%v", locked, err)
	}
	if again, _ := db.LockIfExhausted(ctx, u.ID, 5, now, now.Add(2*time.Hour)); again {
		t.Fatal("the lock was engaged twice")
	}
	if _, ok, _ := db.ReserveLoginAttempt(ctx, u.ID, 5, now.Add(59*time.Minute)); ok {
		t.Fatal("attempt allowed during the lock")
	}
	if n, ok, _ := db.ReserveLoginAttempt(ctx, u.ID, 5, now.Add(time.Hour)); !ok || n != 1 {
		t.Fatalf("after the lock: %d,%v want 1,true", n, ok)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
