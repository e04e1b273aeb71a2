package web

import (
	"net/http"
	"testing"
)

// BenchmarkPages measures the server-side cost of the pages officers load
// most (session lookup, queries, template) through the whole middleware chain.
func BenchmarkPages(b *testing.B) {
	for _, path := range []string{"/login", "/", "/searches"} {
		b.Run(path, func(b *testing.B) {
			e := newEnvWith(b, map[string]string{"LOG_LEVEL": "info"}, nil)
			c := e.client()
			if path != "/login" {
				if resp := c.login("bob", testPassword); resp.StatusCode != http.StatusSeeOther {
					b.Fatal("login")
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, _ := c.get(path)
				if resp.StatusCode != 200 {
					b.Fatal(resp.StatusCode)
				}
			}
		})
	}
}
