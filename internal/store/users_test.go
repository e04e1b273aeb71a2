package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

func authTestUser(t *testing.T, db *DB, name, role string) *domain.User {
	t.Helper()
	u := &domain.User{Username: name, PasswordHash: "$argon2id$x", Role: role}
	if err := db.CreateUser(context.Background(), u, nil); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsers(t *testing.T) { forEachBackend(t, testUsers) }

func testUsers(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	db.Now = func() time.Time { return now }
	alice := authTestUser(t, db, "Alice", "admin")
	bob := authTestUser(t, db, "bob", "officer")

	t.Run("Get", func(t *testing.T) {
		u, err := db.UserByUsername(ctx, "ALICE")
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != alice.ID || u.Username != "Alice" || u.Role != "admin" || !u.CreatedAt.Equal(now) || !u.PasswordChangedAt.Equal(now) || !u.LockedUntil.IsZero() {
			t.Fatalf("user=%+v", u)
		}
		if _, err := db.UserByID(ctx, 999); !domain.IsNotFound(err) {
			t.Fatalf("err=%v, want not found", err)
		}
		if _, err := db.UserByUsername(ctx, "carol"); !domain.IsNotFound(err) {
			t.Fatalf("err=%v, want not found", err)
		}
	})
	t.Run("ErrDuplicate", func(t *testing.T) {
		err := db.CreateUser(ctx, &domain.User{Username: "aLiCe", PasswordHash: "x", Role: "officer"}, nil)
		if got, want := apperr.Code(err), apperr.ECONFLICT; got != want {
			t.Fatalf("code=%q (%v), want %q", got, err, want)
		}
	})
	t.Run("ListAndCount", func(t *testing.T) {
		users, err := db.ListUsers(ctx)
		if err != nil || len(users) != 2 || users[0].Username != "Alice" || users[1].Username != "bob" {
			t.Fatalf("users=%v err=%v", users, err)
		}
		if n, _ := db.CountUsers(ctx); n != 2 {
			t.Fatalf("count=%d", n)
		}
	})
	t.Run("SetPasswordHashClearsLock", func(t *testing.T) {
		db.ReserveLoginAttempt(ctx, bob.ID, 1, now)
		db.LockIfExhausted(ctx, bob.ID, 1, now, now.Add(time.Hour))
		later := now.Add(time.Minute)
		if err := db.SetUserPasswordHash(ctx, bob.ID, "$argon2id$new", later); err != nil {
			t.Fatal(err)
		}
		u, _ := db.UserByID(ctx, bob.ID)
		if u.PasswordHash != "$argon2id$new" || !u.PasswordChangedAt.Equal(later) || !u.LockedUntil.IsZero() || u.FailedLogins != 0 {
			t.Fatalf("user=%+v", u)
		}
		if err := db.SetUserPasswordHash(ctx, 999, "x", later); !domain.IsNotFound(err) {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("Rehash", func(t *testing.T) {
		current, _ := db.UserByID(ctx, bob.ID)
		if err := db.RehashUserPassword(ctx, bob.ID, "stale", "$argon2id$other"); err != nil {
			t.Fatal(err)
		}
		u, _ := db.UserByID(ctx, bob.ID)
		if u.PasswordHash != current.PasswordHash {
			t.Fatal("rehash overwrote a changed hash")
		}
		db.RehashUserPassword(ctx, bob.ID, current.PasswordHash, "$argon2id$re")
		if u, _ := db.UserByID(ctx, bob.ID); u.PasswordHash != "$argon2id$re" {
			t.Fatal("rehash not stored")
		}
	})
	t.Run("Disable", func(t *testing.T) {
		if err := db.SetUserDisabled(ctx, bob.ID, true); err != nil {
			t.Fatal(err)
		}
		if u, _ := db.UserByID(ctx, bob.ID); !u.Disabled {
			t.Fatal("not disabled")
		}
		db.SetUserDisabled(ctx, bob.ID, false)
		if ok, err := db.DisableUserUnlessLastAdmin(ctx, alice.ID); ok || err != nil {
			t.Fatalf("disabled the last admin: %v %v", ok, err)
		}
		if ok, err := db.DisableUserUnlessLastAdmin(ctx, bob.ID); !ok || err != nil {
			t.Fatalf("officer: %v %v", ok, err)
		}
		if _, err := db.DisableUserUnlessLastAdmin(ctx, 999); !domain.IsNotFound(err) {
			t.Fatalf("err=%v", err)
		}
		if n, _ := db.CountActiveAdmins(ctx); n != 1 {
			t.Fatalf("active admins=%d", n)
		}
	})
}

func TestReserveLoginAttemptConcurrent(t *testing.T) {
	forEachBackend(t, testReserveLoginAttemptConcurrent)
}

func testReserveLoginAttemptConcurrent(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := authTestUser(t, db, "carol", "officer")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			if _, _, err := db.ReserveLoginAttempt(ctx, u.ID, 1000, now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := db.UserByID(ctx, u.ID); got.FailedLogins != 20 {
		t.Fatalf("FailedLogins=%d, want 20", got.FailedLogins)
	}
}
