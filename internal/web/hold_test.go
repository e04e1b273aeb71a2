package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The legal hold of a search (data retention): admins only, audited,
// a clear 4xx for bad input.
func TestSearchHold(t *testing.T) {
	e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "1000"})
	d := seedFaces(t, e)
	sr := itoa(d.searchID)
	for _, tc := range []struct {
		name, user, path, hold string
		status                 int
		wantHeld               bool
	}{
		{"OfficerForbidden", "bob", "/api/v1/searches/" + sr + "/hold", "1", http.StatusForbidden, false},
		{"ErrBadValue", "alice", "/api/v1/searches/" + sr + "/hold", "maybe", http.StatusBadRequest, false},
		{"ErrNoSuchSearch", "alice", "/api/v1/searches/9999/hold", "1", http.StatusNotFound, false},
		{"HoldAPI", "alice", "/api/v1/searches/" + sr + "/hold", "1", http.StatusOK, true},
		{"ReleaseForm", "alice", "/searches/" + sr + "/hold", "0", http.StatusSeeOther, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLogin(t, e, tc.user)
			resp, body := c.postForm(tc.path, url.Values{"hold": {tc.hold}})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body)
			}
			if held, _ := e.db.SearchHeld(context.Background(), d.searchID); held != tc.wantHeld {
				t.Fatalf("held=%v, want %v", held, tc.wantHeld)
			}
			if tc.status < 300 || tc.status == http.StatusSeeOther {
				acts := auditActions(t, e.db)
				if acts[len(acts)-1] != "search_hold:success" {
					t.Fatalf("last audit row %s", acts[len(acts)-1])
				}
			}
		})
	}
}

// The result page offers admins the hold and shows it.
func TestHoldOnResultPage(t *testing.T) {
	e := newEnv(t, nil)
	sr := itoa(seedFaces(t, e).searchID)
	admin := mustLogin(t, e, "alice")
	_, body := admin.get("/searches/" + sr)
	if !strings.Contains(body, "Put on legal hold") {
		t.Fatal("the result page offers no hold to an admin")
	}
	resp, _ := admin.postForm("/searches/"+sr+"/hold", url.Values{"hold": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("hold: %d", resp.StatusCode)
	}
	_, body = admin.get(resp.Header.Get("Location"))
	if !strings.Contains(body, "on legal hold") || !strings.Contains(body, "Release the hold") {
		t.Fatal("the result page does not show the hold")
	}
	_, body = mustLogin(t, e, "bob").get("/searches/" + sr)
	if strings.Contains(body, "legal hold") {
		t.Fatal("an officer is offered the hold")
	}
}
