package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// Finding 8 of issue 12: viewing was never audited. Every view of faces,
// searches, sketches, reports and exports leaves one row saying what was
// shown, and a view that cannot be recorded is refused.
func TestViewsAudited(t *testing.T) {
	e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "1000"})
	d := seedFaces(t, e)
	ref, sr := itoa(d.refID), itoa(d.searchID)
	for _, tc := range []struct {
		user, path, target, details string
	}{
		{"bob", "/references/" + ref + "/image", "reference:" + ref, "full-size photo"},
		{"bob", "/searches/" + sr, "search:" + sr + " case:C-1", "references shown: " + ref},
		{"bob", "/searches/" + sr + "/compare/1", "search:" + sr + " case:C-1", "reference shown: " + ref},
		{"bob", "/searches/" + sr + "/sketch", "search:" + sr + " case:C-1", "sketch"},
		{"bob", "/api/v1/searches/" + sr, "search:" + sr + " case:C-1", "API export; references: " + ref},
		{"alice", "/searches/" + sr, "search:" + sr + " case:C-1", "references shown: " + ref}, // an admin opening an officer's search
		{"alice", "/references/" + ref, "reference:" + ref, "reference page"},
		{"alice", "/references", "gallery", "references shown: " + ref},
		{"alice", "/api/v1/references", "gallery", "API export; references: " + ref},
		{"alice", "/admin/quality", "quality", "report"},
	} {
		t.Run(tc.user+tc.path, func(t *testing.T) {
			c := mustLogin(t, e, tc.user)
			resp, _ := c.get(tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var last *domain.AuditRow
			e.db.EachAudit(context.Background(), func(r *domain.AuditRow) error {
				cp := *r
				last = &cp
				return nil
			})
			if last == nil || last.Action != "view" || last.Username != tc.user || last.Target != tc.target || !strings.Contains(last.Details, tc.details) {
				t.Fatalf("last audit row %+v, want view of %q by %s with %q", last, tc.target, tc.user, tc.details)
			}
		})
	}
	t.Run("RefusedWhenUnrecorded", func(t *testing.T) {
		c := mustLogin(t, e, "bob")
		if _, err := e.db.Exec(`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
			t.Fatal(err)
		}
		defer e.db.Exec(`DROP TRIGGER audit_broken`)
		for _, path := range []string{"/references/" + ref + "/image", "/searches/" + sr + "/sketch", "/api/v1/searches/" + sr} {
			if resp, body := c.get(path); resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "JFIF") {
				t.Fatalf("%s with the audit log down: %d", path, resp.StatusCode)
			}
		}
	})
}
