package web

import (
	"html"
	"net/http"
	"strings"
	"testing"
)

// Issue 13: a negative similarity is not shown as a number (it reads like
// a measurement): the result and the compare page both say "< 0".
func TestNegativeSimilarityShownAsBelowZero(t *testing.T) {
	e := newEnv(t, nil)
	d := seedFaces(t, e)
	if _, err := e.db.Exec(`UPDATE search_results SET score = -0.12 WHERE search_id = ?`, d.searchID); err != nil {
		t.Fatal(err)
	}
	bob := mustLogin(t, e, "bob")
	for _, path := range []string{"/searches/" + itoa(d.searchID), "/searches/" + itoa(d.searchID) + "/compare/1"} {
		resp, body := bob.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		body = html.UnescapeString(body)
		if strings.Contains(body, "-0.12") || !strings.Contains(body, "< 0") {
			t.Errorf("GET %s shows the negative score as a number", path)
		}
	}
}
