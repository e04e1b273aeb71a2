package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Finding 6 of issue 12: a password typed into the username field was
// logged verbatim. Unknown names reach neither the log nor the audit trail
// as typed; a known account's name still does.
func TestTypedUsernameNeverLogged(t *testing.T) {
	for _, tc := range []struct {
		name, username string
		wantLogged     bool // the typed name may appear (a real account)
	}{
		{"UnknownWellFormed", "Summer2024secret", false},
		{"UnknownWithSpaces", "my secret passphrase", false},
		{"KnownWrongPassword", "carol", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			resp, _ := e.client().postForm("/login", url.Values{"username": {tc.username}, "password": {"some password"}})
			if resp.StatusCode != 401 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var trail strings.Builder
			e.db.EachAudit(context.Background(), func(r *domain.AuditRow) error {
				trail.WriteString(r.Username + " " + r.Target + " " + r.Details + "\n")
				return nil
			})
			inLog := strings.Contains(e.log.String(), tc.username)
			inAudit := strings.Contains(trail.String(), tc.username)
			if !tc.wantLogged && (inLog || inAudit) {
				t.Fatalf("typed username found (log %v, audit %v):\n%s", inLog, inAudit, trail.String())
			}
			if tc.wantLogged && !inAudit {
				t.Fatalf("a known account's failed login is not attributed:\n%s", trail.String())
			}
		})
	}
}
