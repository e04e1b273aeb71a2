package config

import (
	"strings"
	"testing"
)

// Finding 9 of issue 12: weak SECRET_KEY values of the right length were
// accepted in production.
func TestSecretKeyStrength(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{
		{"ErrRepeatedLetter", strings.Repeat("a", 32), false},
		{"ErrRepeatedWord", strings.Repeat("changeme", 4), false},
		{"ErrZeros", strings.Repeat("0", 32), false},
		{"ErrSequence", "abcdefghijklmnopqrstuvwxyz0123456789", false},
		{"ErrRepeatedHex", strings.Repeat("0123456789abcdef", 2), false},
		{"OpensslHex", "3f8a1c9e4b7d2a6f0e5c8b1d9a4f7e2c6b0d3a8f5e1c7b9d2a4f6e8c0b3d5a7f", true},
		{"OpensslBase64", "q3Vw8ZkP1mX7rT2yB9cF4hJ6gD0sLnE5aWuYiOtRvKs=", true},
		{"LongPassphrase", "plinth-oyster-marrow-cabinet-fjord-vellum-71", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromLookup(lookup(map[string]string{"APP_ENV": "production", "SECRET_KEY": tc.key}))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused (%.0f bits): %v", SecretBits(tc.key), err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %q (%.0f bits) in production (%v)", tc.key, SecretBits(tc.key), c.Production())
			}
			for _, want := range []string{"SECRET_KEY", "openssl rand -hex 32"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q does not say %q", err, want)
				}
			}
			// Development keeps accepting it (a warning-free local setup).
			if _, err := FromLookup(lookup(map[string]string{"SECRET_KEY": tc.key})); err != nil {
				t.Fatalf("development refused it: %v", err)
			}
		})
	}
}
