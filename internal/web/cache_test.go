package web

import (
	"net/http"
	"testing"
)

// Finding 7 of issue 12: photos and sketches were served cacheable for a
// day, so they stayed in a shared workstation's browser cache after logout.
func TestFacesNotCached(t *testing.T) {
	e := newEnv(t, nil)
	d := seedFaces(t, e)
	bob := mustLogin(t, e, "bob")
	for _, path := range []string{
		"/references/" + itoa(d.refID) + "/image",
		"/references/" + itoa(d.refID) + "/thumb",
		"/searches/" + itoa(d.searchID) + "/sketch",
		"/searches/" + itoa(d.searchID),
		"/searches/" + itoa(d.searchID) + "/compare/1",
		"/api/v1/searches/" + itoa(d.searchID),
	} {
		t.Run(path, func(t *testing.T) {
			resp, _ := bob.get(path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control=%q, want no-store", cc)
			}
		})
	}
}
