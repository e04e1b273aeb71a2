package store

import (
	"context"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

func TestSessions(t *testing.T) { forEachBackend(t, testSessions) }

func testSessions(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	u := authTestUser(t, db, "dave", "officer")
	other := authTestUser(t, db, "erin", "officer")
	t0 := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	insert := func(hash string, userID int64, created time.Time) {
		t.Helper()
		s := &domain.Session{TokenHash: hash, UserID: userID, CreatedAt: created, LastSeenAt: created,
			ExpiresAt: created.Add(12 * time.Hour), ClientIP: "10.1.1.1", UserAgent: "ua"}
		if err := db.InsertSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	insert("h1", u.ID, t0)
	insert("h2", u.ID, t0.Add(time.Hour))
	insert("h3", other.ID, t0)

	t.Run("GetJoinsUser", func(t *testing.T) {
		s, su, err := db.SessionByTokenHash(ctx, "h1")
		if err != nil {
			t.Fatal(err)
		}
		if s.UserID != u.ID || su.Username != "dave" || !s.CreatedAt.Equal(t0) || !s.ExpiresAt.Equal(t0.Add(12*time.Hour)) || s.ClientIP != "10.1.1.1" || s.UserAgent != "ua" {
			t.Fatalf("session=%+v user=%+v", s, su)
		}
		if _, _, err := db.SessionByTokenHash(ctx, "nope"); !domain.IsNotFound(err) {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("ErrDuplicateHash", func(t *testing.T) {
		if err := db.InsertSession(ctx, &domain.Session{TokenHash: "h1", UserID: other.ID}); err == nil {
			t.Fatal("duplicate token hash overwrote a session")
		}
	})
	t.Run("Touch", func(t *testing.T) {
		db.TouchSession(ctx, "h1", t0.Add(5*time.Minute))
		db.TouchSession(ctx, "h1", t0.Add(2*time.Minute)) // never backwards
		s, _, _ := db.SessionByTokenHash(ctx, "h1")
		if !s.LastSeenAt.Equal(t0.Add(5 * time.Minute)) {
			t.Fatalf("LastSeenAt=%v", s.LastSeenAt)
		}
	})
	t.Run("DeleteExpired", func(t *testing.T) {
		// At t0+40m with 30m idle: h3 (seen t0) and h1 (seen t0+5m) are idle; h2 was seen at t0+1h.
		n, err := db.DeleteExpiredSessions(ctx, t0.Add(40*time.Minute), 30*time.Minute)
		if err != nil || n != 2 {
			t.Fatalf("deleted %d (%v), want 2", n, err)
		}
		n, _ = db.DeleteExpiredSessions(ctx, t0.Add(13*time.Hour+time.Minute), 24*time.Hour)
		if n != 1 {
			t.Fatalf("absolute expiry deleted %d, want 1", n)
		}
	})
	t.Run("DeleteOneAndAll", func(t *testing.T) {
		// Own users: the count must not depend on the siblings.
		u := authTestUser(t, db, "fay", "officer")
		other := authTestUser(t, db, "gus", "officer")
		insert("a1", u.ID, t0)
		insert("a2", u.ID, t0)
		insert("b1", other.ID, t0)
		if ok, err := db.DeleteSession(ctx, "a1"); !ok || err != nil {
			t.Fatalf("DeleteSession=%v,%v", ok, err)
		}
		if ok, _ := db.DeleteSession(ctx, "a1"); ok {
			t.Fatal("deleted twice")
		}
		if n, err := db.DeleteUserSessions(ctx, u.ID); n != 1 || err != nil {
			t.Fatalf("DeleteUserSessions=%d,%v", n, err)
		}
		if _, _, err := db.SessionByTokenHash(ctx, "b1"); err != nil {
			t.Fatal("another user's session deleted")
		}
	})
}
