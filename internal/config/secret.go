package config

import (
	"math"
	"strings"
)

// MinSecretBits is the least estimated entropy accepted for SECRET_KEY in
// production. `openssl rand -hex 32` gives 256 bits (estimated ~250).
const MinSecretBits = 128

// SecretBits estimates the entropy of a secret in bits, erring low: each
// character costs log2 of the alphabet its character classes suggest (16 for
// hex, 26/52/62 for letters and digits, 95 with punctuation), except that a
// run of 3 or more characters repeating earlier text costs only what it
// takes to point back at it (as LZ77 would code it), and a character that
// continues a run (0123…, abcd…) costs one bit. So 'a'×32, '0'×32 and
// 'changeme'×4 score ~10, ~8 and ~47 bits, while a random 32-byte hex or
// base64 string scores 200 or more. It is a guard against placeholders and
// patterns, not a proof of randomness.
func SecretBits(s string) float64 {
	if s == "" {
		return 0
	}
	alpha := alphabet(s)
	perChar := math.Log2(float64(alpha))
	bits := 0.0
	for i := 0; i < len(s); {
		best := 0
		for j := 0; j < i; j++ {
			k := 0
			for i+k < len(s) && s[j+k] == s[i+k] {
				k++
			}
			best = max(best, k)
		}
		if best >= 3 {
			bits += math.Log2(float64(i)) + math.Log2(float64(best)) + 1
			i += best
			continue
		}
		if i >= 2 && int(s[i])-int(s[i-1]) == int(s[i-1])-int(s[i-2]) && abs(int(s[i])-int(s[i-1])) <= 1 {
			bits++ // continues a run such as 0123… or aaa…
		} else {
			bits += perChar
		}
		i++
	}
	return bits
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// alphabet is the size of the smallest usual alphabet that contains s.
func alphabet(s string) int {
	var lower, upper, digit, hexLetter, other bool
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'f':
			lower, hexLetter = true, true
		case r >= 'A' && r <= 'F':
			upper, hexLetter = true, true
		case r >= 'g' && r <= 'z':
			lower = true
		case r >= 'G' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		default:
			other = true
		}
	}
	onlyHex := !other && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F')
	}) < 0
	switch {
	case onlyHex && hexLetter && !(lower && upper):
		return 16
	case onlyHex && !hexLetter:
		return 10
	}
	n := 0
	if lower {
		n += 26
	}
	if upper {
		n += 26
	}
	if digit {
		n += 10
	}
	if other {
		n += 33
	}
	return max(n, 2)
}
