package auth_test

import (
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/auth"
)

// Finding 11 of issue 12: the policy accepted qwertyuiopasdf, abcabcabcabc
// and Summer2024!!. The strength estimator refuses guessable patterns with
// a message that says what to do, and keeps accepting passphrases.
func TestPasswordStrength(t *testing.T) {
	for _, tc := range []struct {
		pw      string
		ok      bool
		pattern string // named in the message
	}{
		{"qwertyuiopasdf", false, "keyboard or alphabet sequence"},
		{"abcabcabcabc", false, "repeated characters"},
		{"Summer2024!!", false, "a year"},
		{"P@ssw0rd2024!!", false, "a common word"},
		{"Winter2025Winter", false, "a common word"},
		{"1234567890qwerty", false, "keyboard or alphabet sequence"},
		{"correct horse battery staple", true, ""},
		{"plinth oyster marrow", true, ""},
		{"kx7#Pq2!mZ9w", true, ""},
		{"detective.jones99", true, ""},
	} {
		t.Run(tc.pw, func(t *testing.T) {
			err := auth.ValidatePassword("someone", tc.pw)
			bits, _ := auth.EstimatePasswordBits(tc.pw)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused (%.1f bits): %v", bits, err)
				}
				return
			}
			if apperr.Code(err) != apperr.EINVALID {
				t.Fatalf("accepted (%.1f bits)", bits)
			}
			msg := apperr.Message(err)
			for _, want := range []string{tc.pattern, "Use four or more unrelated words"} {
				if !strings.Contains(msg, want) {
					t.Fatalf("message %q lacks %q", msg, want)
				}
			}
		})
	}
}
