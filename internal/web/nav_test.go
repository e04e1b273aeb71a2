package web

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// currentNav is the href of the navigation entry marked aria-current.
func currentNav(body string) string {
	m := regexp.MustCompile(`<a href="([^"]+)" aria-current="page">`).FindAllStringSubmatch(body, -1)
	if len(m) != 1 {
		return ""
	}
	return m[0][1]
}

// Issue 13: after a new search the navigation highlighted "History". The
// officer's latest search (the one a new search lands on) highlights
// "Search"; older searches and other officers' highlight "History".
func TestSearchPagesNav(t *testing.T) {
	e := newEnv(t, map[string]string{"LOGIN_RATE_LIMIT": "1000"})
	older := seedFaces(t, e) // bob's first search
	d := seedFaces(t, e)     // bob's latest
	var latest domain.Search
	if s, err := e.db.SearchByID(context.Background(), d.searchID); err != nil || s.ID <= older.searchID {
		t.Fatalf("seeding: %v %+v", err, s)
	} else {
		latest = *s
	}
	sr, old := itoa(latest.ID), itoa(older.searchID)
	for _, tc := range []struct {
		name, user, path, want string
	}{
		{"LatestResultIsSearch", "bob", "/searches/" + sr, "/"},
		{"LatestCompareIsSearch", "bob", "/searches/" + sr + "/compare/1", "/"},
		{"OlderResultIsHistory", "bob", "/searches/" + old, "/searches"},
		{"OlderCompareIsHistory", "bob", "/searches/" + old + "/compare/1", "/searches"},
		{"AdminOpeningOfficersSearchIsHistory", "alice", "/searches/" + sr, "/searches"},
		{"HistoryPage", "bob", "/searches", "/searches"},
		{"SearchForm", "bob", "/", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := mustLogin(t, e, tc.user).get(tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", tc.path, resp.StatusCode)
			}
			if got := currentNav(body); got != tc.want {
				t.Fatalf("GET %s as %s: current nav %q, want %q", tc.path, tc.user, got, tc.want)
			}
		})
	}
}

// An unfiltered search is not listed in history as "filtered: (kept 0)"
// (the filters map has no entry for it; index returns the zero value).
func TestHistoryUnfilteredSearchNotMarkedFiltered(t *testing.T) {
	e := newEnv(t, nil)
	seedFaces(t, e)
	_, body := mustLogin(t, e, "bob").get("/searches")
	if !strings.Contains(body, "C-1") {
		t.Fatal("the search is not listed")
	}
	if strings.Contains(body, "filtered:") {
		t.Fatal("an unfiltered search is marked as filtered in history")
	}
}
