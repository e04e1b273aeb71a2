package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/auth"
	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
	"github.com/sketchmatch/sketchmatch/internal/store/storetest"
)

// clock is an injectable, advanceable time source shared by the Service
// and the DB (audit timestamps).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const (
	adminPW   = "chief passphrase for tests"
	officerPW = "officer passphrase for tests"
	ip        = "192.0.2.10"
)

type fixture struct {
	svc     *auth.Service
	db      *store.DB
	clock   *clock
	admin   *auth.User
	officer *auth.User
	actor   auth.Actor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := storetest.MustOpenDB(t)
	c := &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}
	db.Now = c.Now
	svc := &auth.Service{DB: db, Audit: &audit.Log{DB: db}, Now: c.Now,
		IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour, MaxFailures: 5, Lockout: 15 * time.Minute}
	ctx := context.Background()
	cli := auth.Actor{Username: "cli:test"}
	admin, err := svc.CreateUser(ctx, cli, "Admin", adminPW, auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	officer, err := svc.CreateUser(ctx, cli, "officer.smith", officerPW, auth.RoleOfficer)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, db: db, clock: c, admin: admin, officer: officer, actor: auth.ActorOf(admin, "198.51.100.7")}
}

func (f *fixture) login(t *testing.T, username, password string) string {
	t.Helper()
	token, u, err := f.svc.Login(context.Background(), username, password, ip, "test-agent")
	if err != nil {
		t.Fatalf("Login(%s): %v", username, err)
	}
	if !strings.EqualFold(u.Username, username) {
		t.Fatalf("Login returned user %q", u.Username)
	}
	return token
}

func (f *fixture) auditRows(t *testing.T) []domain.AuditRow {
	t.Helper()
	rows, _, err := f.svc.Audit.List(context.Background(), 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(rows) // oldest first
	return rows
}

func (f *fixture) lastAudit(t *testing.T) domain.AuditRow {
	t.Helper()
	rows := f.auditRows(t)
	return rows[len(rows)-1]
}

func (f *fixture) sessionCount(t *testing.T, userID int64) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(`SELECT COUNT(*) FROM sessions WHERE user_id = ?`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func isInvalidCredentials(err error) bool {
	return errors.Is(err, auth.ErrInvalidCredentials) &&
		apperr.Code(err) == apperr.EUNAUTHORIZED &&
		apperr.Message(err) == "Invalid username or password."
}

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	t.Run("Stored", func(t *testing.T) {
		if f.officer.ID == 0 || f.officer.Role != auth.RoleOfficer || f.officer.Disabled {
			t.Fatalf("officer=%+v", f.officer)
		}
		u, err := f.svc.GetUserByUsername(ctx, "OFFICER.SMITH")
		if err != nil || u.ID != f.officer.ID {
			t.Fatalf("case-insensitive lookup: %+v, %v", u, err)
		}
		if n, _ := f.svc.CountUsers(ctx); n != 2 {
			t.Fatalf("CountUsers=%d, want 2", n)
		}
		users, _ := f.svc.ListUsers(ctx)
		if len(users) != 2 || users[0].Username != "Admin" {
			t.Fatalf("ListUsers=%+v", users)
		}
		var hash string
		f.db.QueryRow(`SELECT password_hash FROM users WHERE id = ?`, f.officer.ID).Scan(&hash)
		if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, officerPW) {
			t.Fatalf("stored hash %q", hash)
		}
	})
	for _, tt := range []struct {
		name, username, password, role, code string
	}{
		{"ErrDuplicateCaseInsensitive", "ADMIN", "another fine passphrase", auth.RoleOfficer, apperr.ECONFLICT},
		{"ErrBadUsername", "no spaces please", "another fine passphrase", auth.RoleOfficer, apperr.EINVALID},
		{"ErrBadRole", "newuser", "another fine passphrase", "superuser", apperr.EINVALID},
		{"ErrWeakPassword", "newuser", "password123456", auth.RoleOfficer, apperr.EINVALID},
		{"ErrPasswordHasUsername", "newuser", "my name is newuser ok", auth.RoleOfficer, apperr.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateUser(ctx, f.actor, tt.username, tt.password, tt.role)
			if got := apperr.Code(err); got != tt.code {
				t.Fatalf("code=%q (%v), want %q", got, err, tt.code)
			}
		})
	}
	t.Run("Audited", func(t *testing.T) {
		u, err := f.svc.CreateUser(ctx, f.actor, "detective.jones", "a long and private phrase", auth.RoleOfficer)
		if err != nil {
			t.Fatal(err)
		}
		r := f.lastAudit(t)
		if r.Action != audit.ActionUserCreate || r.Username != "Admin" || r.ClientIP != f.actor.ClientIP ||
			r.Target != u.Username || r.Outcome != audit.OutcomeSuccess || r.Details != "role=officer" {
			t.Fatalf("audit row %+v", r)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := f.svc.GetUser(ctx, 9999); apperr.Code(err) != apperr.ENOTFOUND {
			t.Fatalf("err=%v", err)
		}
	})
}

func TestLogin(t *testing.T) {
	ctx := context.Background()

	t.Run("NewTokenEveryTime", func(t *testing.T) {
		f := newFixture(t)
		seen := map[string]bool{}
		for i := 0; i < 3; i++ {
			tok := f.login(t, "officer.smith", officerPW)
			if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
				t.Fatalf("token %q is not 256-bit base64url", tok)
			}
			if seen[tok] {
				t.Fatal("token reused")
			}
			seen[tok] = true
		}
		if got := f.sessionCount(t, f.officer.ID); got != 3 {
			t.Fatalf("sessions=%d, want 3", got)
		}
		// Only hashes are stored.
		rows, _ := f.db.Query(`SELECT token_hash FROM sessions`)
		defer rows.Close()
		for rows.Next() {
			var h string
			rows.Scan(&h)
			if seen[h] {
				t.Fatal("raw token stored")
			}
			found := false
			for tok := range seen {
				sum := sha256.Sum256([]byte(tok))
				found = found || hex.EncodeToString(sum[:]) == h
			}
			if !found {
				t.Fatalf("stored %q is not the SHA-256 of any issued token", h)
			}
		}
		r := f.lastAudit(t)
		if r.Action != audit.ActionLogin || r.Username != "officer.smith" || r.ClientIP != ip || r.Outcome != audit.OutcomeSuccess {
			t.Fatalf("audit row %+v", r)
		}
	})

	t.Run("CaseInsensitiveUsername", func(t *testing.T) {
		f := newFixture(t)
		_, u, err := f.svc.Login(ctx, "OFFICER.Smith", officerPW, ip, "")
		if err != nil || u.Username != "officer.smith" {
			t.Fatalf("u=%+v err=%v", u, err)
		}
	})

	t.Run("FailuresLookIdentical", func(t *testing.T) {
		// Each case on its own fixture, so that it passes alone and in any
		// order (issue 12, finding 13: EmptyPassword counted on its
		// siblings' failures).
		cases := []struct{ name, user, pw, outcome, details string }{
			{"UnknownUser", "nobody", officerPW, audit.OutcomeFailure, "unknown user"},
			{"WrongPassword", "officer.smith", "not the password at all", audit.OutcomeFailure, "wrong password (1 of 5)"},
			{"DisabledRightPassword", "gone.user", "a long and private phrase", audit.OutcomeDenied, "account disabled"},
			{"InvalidUsername", "my secret passphrase", officerPW, audit.OutcomeFailure, "unknown user or oversized input"},
			{"OversizedPassword", "officer.smith", strings.Repeat("x", 5000), audit.OutcomeFailure, "unknown user or oversized input"},
			{"EmptyPassword", "officer.smith", "", audit.OutcomeFailure, "wrong password (1 of 5)"},
		}
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t)
				disabled, _ := f.svc.CreateUser(ctx, f.actor, "gone.user", "a long and private phrase", auth.RoleOfficer)
				if err := f.svc.SetDisabled(ctx, f.actor, disabled.ID, true); err != nil {
					t.Fatal(err)
				}
				tok, u, err := f.svc.Login(ctx, tt.user, tt.pw, ip, "")
				if tok != "" || u != nil || !isInvalidCredentials(err) {
					t.Fatalf("Login=%q,%v,%v want the invalid-credentials error", tok, u, err)
				}
				// Every failure is the one shared error value.
				if err != auth.ErrInvalidCredentials || err.Error() != auth.ErrInvalidCredentials.Error() {
					t.Fatalf("error %v differs from %v", err, auth.ErrInvalidCredentials)
				}
				r := f.lastAudit(t)
				if r.Action != audit.ActionLoginFailed || r.Outcome != tt.outcome || r.Details != tt.details || r.ClientIP != ip {
					t.Fatalf("audit row %+v", r)
				}
				for _, r := range f.auditRows(t) {
					if strings.Contains(r.Username+r.Target, "secret") {
						t.Fatalf("typed-in text %q reached the audit log", r.Username)
					}
				}
			})
		}
	})

	t.Run("LockoutAfterFiveFailures", func(t *testing.T) {
		f := newFixture(t)
		for i := 1; i <= 5; i++ {
			if _, _, err := f.svc.Login(ctx, "officer.smith", "wrong guess number x", ip, ""); !isInvalidCredentials(err) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		rows := f.auditRows(t)
		lock := rows[len(rows)-2]
		if lock.Action != audit.ActionLockout || lock.Target != "officer.smith" || !strings.Contains(lock.Details, "15m0s") {
			t.Fatalf("lockout row %+v", lock)
		}
		u, _ := f.svc.GetUser(ctx, f.officer.ID)
		if !u.Locked(f.clock.Now()) || !u.LockedUntil.Equal(f.clock.Now().Add(15*time.Minute)) {
			t.Fatalf("LockedUntil=%v", u.LockedUntil)
		}
		// The right password does not help while locked, and the answer
		// is the same as for a wrong one.
		if _, _, err := f.svc.Login(ctx, "officer.smith", officerPW, ip, ""); !isInvalidCredentials(err) {
			t.Fatalf("6th attempt with the right password: %v", err)
		}
		if r := f.lastAudit(t); r.Outcome != audit.OutcomeDenied || !strings.Contains(r.Details, "locked") {
			t.Fatalf("audit row %+v", r)
		}
		// Guessing during the lock does not extend it.
		f.clock.Advance(10 * time.Minute)
		f.svc.Login(ctx, "officer.smith", "wrong guess number y", ip, "")
		f.clock.Advance(4*time.Minute + 59*time.Second)
		if _, _, err := f.svc.Login(ctx, "officer.smith", officerPW, ip, ""); !isInvalidCredentials(err) {
			t.Fatalf("login 1s before the lock ends: %v", err)
		}
		f.clock.Advance(time.Second)
		f.login(t, "officer.smith", officerPW)
		u, _ = f.svc.GetUser(ctx, f.officer.ID)
		if u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
			t.Fatalf("after success FailedLogins=%d LockedUntil=%v, want reset", u.FailedLogins, u.LockedUntil)
		}
	})

	t.Run("SuccessResetsCounter", func(t *testing.T) {
		f := newFixture(t)
		for round := 0; round < 3; round++ {
			for i := 0; i < 4; i++ {
				f.svc.Login(ctx, "officer.smith", "wrong guess number x", ip, "")
			}
			f.login(t, "officer.smith", officerPW)
		}
		for _, r := range f.auditRows(t) {
			if r.Action == audit.ActionLockout {
				t.Fatal("locked after 4 failures at a time")
			}
		}
	})

	t.Run("ConcurrentFailuresAllCount", func(t *testing.T) {
		f := newFixture(t)
		var wg sync.WaitGroup
		for i := 0; i < 5; i++ {
			wg.Go(func() { f.svc.Login(ctx, "officer.smith", "wrong guess number x", ip, "") })
		}
		wg.Wait()
		if _, _, err := f.svc.Login(ctx, "officer.smith", officerPW, ip, ""); !isInvalidCredentials(err) {
			t.Fatalf("5 concurrent failures did not lock: %v", err)
		}
	})

	t.Run("RehashOnNewParams", func(t *testing.T) {
		f := newFixture(t)
		saved := auth.HashParams
		defer func() { auth.HashParams = saved }()
		auth.HashParams.Memory = 128
		f.login(t, "officer.smith", officerPW)
		var hash string
		f.db.QueryRow(`SELECT password_hash FROM users WHERE id = ?`, f.officer.ID).Scan(&hash)
		if !strings.Contains(hash, "m=128,") {
			t.Fatalf("hash %q not upgraded", hash)
		}
		f.login(t, "officer.smith", officerPW)
		u, _ := f.svc.GetUser(ctx, f.officer.ID)
		if !u.PasswordChangedAt.Equal(f.officer.PasswordChangedAt) {
			t.Fatal("rehash changed password_changed_at")
		}
	})

	t.Run("ErrAuditUnavailableRevokesSession", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.db.Exec(`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
			t.Fatal(err)
		}
		tok, _, err := f.svc.Login(ctx, "officer.smith", officerPW, ip, "")
		if tok != "" || apperr.Code(err) != apperr.EINTERNAL {
			t.Fatalf("Login=%q,%v, want EINTERNAL and no token", tok, err)
		}
		if n := f.sessionCount(t, f.officer.ID); n != 0 {
			t.Fatalf("%d sessions left after an unrecorded login", n)
		}
	})
}

// Unknown users must cost the same argon2 work as real ones. Measured with
// the production parameters, so the difference (~70 ms vs ~0) is far above
// scheduling noise.
func TestLoginTimingClass(t *testing.T) {
	if testing.Short() {
		t.Skip("uses production argon2 parameters")
	}
	ctx := context.Background()
	f := newFixture(t)
	saved := auth.HashParams
	auth.HashParams = auth.DefaultParams
	defer func() { auth.HashParams = saved }()
	if err := f.svc.SetPassword(ctx, f.actor, f.officer.ID, officerPW); err != nil {
		t.Fatal(err)
	}
	f.svc.MaxFailures = 1000
	// Interleaved rounds, minimum per path: a burst of load on the shared
	// machine then inflates all paths alike instead of one.
	users := []string{"nobody.here", "officer.smith", "bad name!"}
	best := []time.Duration{time.Hour, time.Hour, time.Hour}
	for round := 0; round < 5; round++ {
		for i, user := range users {
			start := time.Now()
			f.svc.Login(ctx, user, "wrong guess number x", ip, "")
			best[i] = min(best[i], time.Since(start))
		}
	}
	unknown, wrong, invalid := best[0], best[1], best[2]
	t.Logf("min of 5: unknown user %v, wrong password %v, invalid username %v", unknown, wrong, invalid)
	// Without the dummy verify the ratio is about 1000; 4 leaves room for noise.
	for name, d := range map[string]time.Duration{"unknown": unknown, "invalid": invalid} {
		if d < wrong/4 || d > wrong*4 {
			t.Errorf("%s-user login took %v, wrong-password login %v: different timing class", name, d, wrong)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login(t, "officer.smith", officerPW)
		s, u, err := f.svc.Authenticate(ctx, tok)
		if err != nil || u.ID != f.officer.ID || s.UserID != f.officer.ID || s.ClientIP != ip || s.UserAgent != "test-agent" {
			t.Fatalf("Authenticate=%+v,%+v,%v", s, u, err)
		}
		if !s.ExpiresAt.Equal(f.clock.Now().Add(12 * time.Hour)) {
			t.Fatalf("ExpiresAt=%v", s.ExpiresAt)
		}
	})

	t.Run("ErrMalformedOrUnknownToken", func(t *testing.T) {
		f := newFixture(t)
		good := f.login(t, "officer.smith", officerPW)
		for _, tok := range []string{"", "x", good[:42], good + "A", strings.Repeat("A", 43), strings.Repeat("+", 43), "' OR 1=1 --"} {
			if _, _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrSessionInvalid) {
				t.Errorf("Authenticate(%q)=%v", tok, err)
			}
		}
	})

	t.Run("LogoutEndsSession", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login(t, "officer.smith", officerPW)
		other := f.login(t, "officer.smith", officerPW)
		if err := f.svc.Logout(ctx, tok, auth.ActorOf(f.officer, ip)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrSessionInvalid) {
			t.Fatalf("after logout: %v", err)
		}
		if _, _, err := f.svc.Authenticate(ctx, other); err != nil {
			t.Fatalf("logout ended another session: %v", err)
		}
		r := f.lastAudit(t)
		if r.Action != audit.ActionLogout || r.Username != "officer.smith" || r.ClientIP != ip {
			t.Fatalf("audit row %+v", r)
		}
		// Logging out again is harmless and not audited twice.
		n := len(f.auditRows(t))
		if err := f.svc.Logout(ctx, tok, auth.ActorOf(f.officer, ip)); err != nil {
			t.Fatal(err)
		}
		if len(f.auditRows(t)) != n {
			t.Fatal("second logout audited")
		}
	})

	t.Run("DisableEndsSessions", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login(t, "officer.smith", officerPW)
		if err := f.svc.SetDisabled(ctx, f.actor, f.officer.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrSessionInvalid) {
			t.Fatalf("disabled user's session: %v", err)
		}
		if n := f.sessionCount(t, f.officer.ID); n != 0 {
			t.Fatalf("%d sessions left", n)
		}
		r := f.lastAudit(t)
		if r.Action != audit.ActionUserDisable || r.Target != "officer.smith" || r.Username != "Admin" {
			t.Fatalf("audit row %+v", r)
		}
		if err := f.svc.SetDisabled(ctx, f.actor, f.officer.ID, false); err != nil {
			t.Fatal(err)
		}
		if r := f.lastAudit(t); r.Action != audit.ActionUserEnable {
			t.Fatalf("audit row %+v", r)
		}
		if _, _, err := f.svc.Authenticate(ctx, tok); err == nil {
			t.Fatal("re-enabling revived an old session")
		}
		f.login(t, "officer.smith", officerPW)
	})

	t.Run("DisabledFlagAloneRefuses", func(t *testing.T) {
		// Even if a session row survived (e.g. disabled by hand in SQL).
		f := newFixture(t)
		tok := f.login(t, "officer.smith", officerPW)
		f.db.Exec(`UPDATE users SET disabled = 1 WHERE id = ?`, f.officer.ID)
		if _, _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrSessionInvalid) {
			t.Fatalf("err=%v", err)
		}
	})

	t.Run("PasswordChangeEndsSessions", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login(t, "officer.smith", officerPW)
		adminTok := f.login(t, "Admin", adminPW)
		const newPW = "a brand new passphrase"
		if err := f.svc.SetPassword(ctx, f.actor, f.officer.ID, newPW); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrSessionInvalid) {
			t.Fatalf("session after password change: %v", err)
		}
		if _, _, err := f.svc.Authenticate(ctx, adminTok); err != nil {
			t.Fatalf("other user's session ended: %v", err)
		}
		if _, _, err := f.svc.Login(ctx, "officer.smith", officerPW, ip, ""); !isInvalidCredentials(err) {
			t.Fatalf("old password still works: %v", err)
		}
		f.login(t, "officer.smith", newPW)
		var r domain.AuditRow
		for _, row := range f.auditRows(t) {
			if row.Action == audit.ActionPasswordChange {
				r = row
			}
		}
		if r.Target != "officer.smith" || r.Username != "Admin" || r.Details != "sessions ended: 1" {
			t.Fatalf("audit row %+v", r)
		}
		for _, row := range f.auditRows(t) {
			if strings.Contains(row.Details+row.Target+row.Username, "passphrase") {
				t.Fatalf("a password reached the audit log: %+v", row)
			}
		}
		t.Run("ErrWeak", func(t *testing.T) {
			if err := f.svc.SetPassword(ctx, f.actor, f.officer.ID, "short"); apperr.Code(err) != apperr.EINVALID {
				t.Fatalf("err=%v", err)
			}
			if err := f.svc.SetPassword(ctx, f.actor, 9999, newPW); apperr.Code(err) != apperr.ENOTFOUND {
				t.Fatalf("err=%v", err)
			}
		})
	})

	t.Run("PasswordResetUnlocks", func(t *testing.T) {
		f := newFixture(t)
		for i := 0; i < 5; i++ {
			f.svc.Login(ctx, "officer.smith", "wrong guess number x", ip, "")
		}
		if err := f.svc.SetPassword(ctx, f.actor, f.officer.ID, "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		f.login(t, "officer.smith", "a brand new passphrase")
	})

	t.Run("IdleExpiry", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login(t, "officer.smith", officerPW)
		// Activity keeps it alive well past one idle period...
		for i := 0; i < 4; i++ {
			f.clock.Advance(29 * time.Minute)
			if _, _, err := f.svc.Authenticate(ctx, tok); err != nil {
				t.Fatalf("after %d×29 min of activity: %v", i+1, err)
			}
		}
		// ...but not 30 minutes and a second of silence.
		f.clock.Advance(30*time.Minute + time.Second)
		if _, _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrSessionInvalid) {
			t.Fatalf("idle session: %v", err)
		}
		if n := f.sessionCount(t, f.officer.ID); n != 0 {
			t.Fatal("expired session row not deleted")
		}
	})

	t.Run("TouchAtMostOncePerMinute", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login(t, "officer.smith", officerPW)
		lastSeen := func() int64 {
			var v int64
			f.db.QueryRow(`SELECT last_seen_at FROM sessions`).Scan(&v)
			return v
		}
		start := lastSeen()
		f.clock.Advance(30 * time.Second)
		f.svc.Authenticate(ctx, tok)
		if lastSeen() != start {
			t.Fatal("touched within a minute")
		}
		f.clock.Advance(31 * time.Second)
		f.svc.Authenticate(ctx, tok)
		if got, want := lastSeen(), f.clock.Now().Unix(); got != want {
			t.Fatalf("last_seen_at=%d, want %d", got, want)
		}
	})

	t.Run("AbsoluteExpiry", func(t *testing.T) {
		f := newFixture(t)
		tok := f.login(t, "officer.smith", officerPW)
		for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
			f.clock.Advance(20 * time.Minute)
			if _, _, err := f.svc.Authenticate(ctx, tok); err != nil {
				t.Fatalf("active session ended after %v: %v", elapsed+20*time.Minute, err)
			}
		}
		f.clock.Advance(20 * time.Minute) // now exactly 12 h
		if _, _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrSessionInvalid) {
			t.Fatalf("session past its 12 h lifetime: %v", err)
		}
	})

	t.Run("PurgeExpired", func(t *testing.T) {
		f := newFixture(t)
		f.login(t, "officer.smith", officerPW)
		f.clock.Advance(10 * time.Minute)
		f.login(t, "Admin", adminPW)
		f.clock.Advance(25 * time.Minute)
		n, err := f.svc.PurgeExpiredSessions(ctx)
		if err != nil || n != 1 {
			t.Fatalf("purged %d (%v), want 1", n, err)
		}
		if f.sessionCount(t, f.admin.ID) != 1 {
			t.Fatal("live session purged")
		}
	})
}

func TestSetDisabledGuards(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	t.Run("ErrSelf", func(t *testing.T) {
		if err := f.svc.SetDisabled(ctx, f.actor, f.admin.ID, true); apperr.Code(err) != apperr.EINVALID {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("ErrLastAdmin", func(t *testing.T) {
		cli := auth.Actor{Username: "cli:root"}
		if err := f.svc.SetDisabled(ctx, cli, f.admin.ID, true); apperr.Code(err) != apperr.ECONFLICT {
			t.Fatalf("err=%v", err)
		}
		second, err := f.svc.CreateUser(ctx, cli, "second.admin", "another admin passphrase", auth.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.SetDisabled(ctx, cli, f.admin.ID, true); err != nil {
			t.Fatalf("disabling one of two admins: %v", err)
		}
		if err := f.svc.SetDisabled(ctx, cli, second.ID, true); apperr.Code(err) != apperr.ECONFLICT {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if err := f.svc.SetDisabled(ctx, f.actor, 9999, true); apperr.Code(err) != apperr.ENOTFOUND {
			t.Fatalf("err=%v", err)
		}
	})
}

// Every auth event leaves a row, the chain verifies, and a hand edit is
// found.
func TestAuditTrail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tok := f.login(t, "officer.smith", officerPW)
	f.svc.Logout(ctx, tok, auth.ActorOf(f.officer, ip))
	for i := 0; i < 5; i++ {
		f.svc.Login(ctx, "officer.smith", "wrong guess number x", ip, "")
	}
	f.svc.SetPassword(ctx, f.actor, f.officer.ID, "a brand new passphrase")
	f.svc.SetDisabled(ctx, f.actor, f.officer.ID, true)
	f.svc.SetDisabled(ctx, f.actor, f.officer.ID, false)

	var got []string
	for _, r := range f.auditRows(t) {
		got = append(got, r.Action)
	}
	want := []string{"user_create", "user_create", "login", "logout",
		"login_failed", "login_failed", "login_failed", "login_failed", "lockout", "login_failed",
		"password_change", "user_disable", "user_enable"}
	if !slices.Equal(got, want) {
		t.Fatalf("actions\n got %v\nwant %v", got, want)
	}
	res, err := f.svc.Audit.Verify(ctx)
	if err != nil || !res.OK || res.Rows != len(want) {
		t.Fatalf("Verify=%+v,%v", res, err)
	}
	if _, err := f.db.Exec(`DROP TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(`UPDATE audit_log SET username = 'someone.else' WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	res, _ = f.svc.Audit.Verify(ctx)
	if res.OK || res.FirstBroken != 3 {
		t.Fatalf("after edit Verify=%+v, want broken at 3", res)
	}
}
