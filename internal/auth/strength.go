package auth

import (
	"bufio"
	"bytes"
	"math"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// MinPasswordBits is the least estimated strength a new password must have:
// 2^36 ≈ 7×10^10 guesses, past zxcvbn's top score (10^10). Against a stolen
// database at the argon2 cost of DefaultParams that is centuries per account;
// online, the lockout makes it irrelevant. The length rule (12) and the
// common-password list still apply first.
const MinPasswordBits = 36

// EstimatePasswordBits estimates how many bits of guessing a password
// takes, the way zxcvbn does, in small: the password is split into the
// cheapest sequence of patterns an attacker's cracker would try, and the
// costs are added. Patterns and their costs (in bits):
//
//   - a word of 4+ letters from the dictionary (the words inside the
//     common-password list: seasons, months, names, sports teams, ...),
//     also with l33t substitutions: log2(dictionary size), +1 if it has
//     capitals, +1 per substitution;
//   - a keyboard or alphabet run of 3+ (qwerty, asdf, 1234, abc, cba):
//     log2(56 starts × 2 directions) + log2(length);
//   - a repeat of 3+ characters seen earlier (abcabc, aaaa): log2(distance) +
//     log2(length) + 1;
//   - a year 1900-2099: log2(200);
//   - any other character: log2 of the character pool of the whole password
//     (26 lower, 26 upper, 10 digits, 33 others).
//
// It errs generous for unusual patterns (it knows no dates, no vertical
// keyboard lines, no other languages) and is a floor under the length rule,
// not a substitute for the common-password list. patterns names what the
// cheapest reading found (for the message).
func EstimatePasswordBits(pw string) (bits float64, patterns []string) {
	rs := []rune(pw)
	n := len(rs)
	if n == 0 {
		return 0, nil
	}
	lower := make([]rune, n)
	leet := make([]rune, n)
	for i, r := range rs {
		lower[i] = unicode.ToLower(r)
		leet[i] = lower[i]
		if s, ok := leetMap[lower[i]]; ok {
			leet[i] = s
		}
	}
	literal := math.Log2(float64(charPool(rs)))
	dict := dictionary()
	dictBits := math.Log2(float64(len(dict)))

	type step struct {
		cost    float64
		from    int
		pattern string
	}
	best := make([]step, n+1)
	for i := 1; i <= n; i++ {
		best[i].cost = math.Inf(1)
	}
	relax := func(from, to int, cost float64, pattern string) {
		if c := best[from].cost + cost; c < best[to].cost {
			best[to] = step{cost: c, from: from, pattern: pattern}
		}
	}
	for i := 0; i < n; i++ {
		if math.IsInf(best[i].cost, 1) {
			continue
		}
		relax(i, i+1, literal, "")
		// Dictionary words, as typed or with l33t substitutions.
		for l := 4; l <= 20 && i+l <= n; l++ {
			if _, ok := dict[string(leet[i:i+l])]; ok {
				c := dictBits
				for k := i; k < i+l; k++ {
					if unicode.IsUpper(rs[k]) {
						c++
						break
					}
				}
				for k := i; k < i+l; k++ {
					if leet[k] != lower[k] {
						c++
					}
				}
				relax(i, i+l, c, "a common word")
			}
		}
		// Keyboard and alphabet runs.
		if l := runLength(lower, i); l >= 3 {
			for k := 3; k <= l; k++ {
				relax(i, i+k, math.Log2(112)+math.Log2(float64(k)), "a keyboard or alphabet sequence")
			}
		}
		// Repeats of earlier text (overlap allowed: aaaa is a then aaa).
		if i > 0 {
			longest := 0
			dist := 0
			for j := 0; j < i; j++ {
				k := 0
				for i+k < n && lower[j+k] == lower[i+k] {
					k++
				}
				if k > longest {
					longest, dist = k, i-j
				}
			}
			for k := 3; k <= longest; k++ {
				relax(i, i+k, math.Log2(float64(dist))+math.Log2(float64(k))+1, "repeated characters")
			}
		}
		// Years.
		if i+4 <= n {
			y := string(rs[i : i+4])
			if (strings.HasPrefix(y, "19") || strings.HasPrefix(y, "20")) && strings.Trim(y, "0123456789") == "" {
				relax(i, i+4, math.Log2(200), "a year")
			}
		}
	}
	seen := map[string]bool{}
	for i := n; i > 0; i = best[i].from {
		if p := best[i].pattern; p != "" && !seen[p] {
			seen[p] = true
			patterns = append(patterns, p)
		}
	}
	sort.Strings(patterns)
	return best[n].cost, patterns
}

var leetMap = map[rune]rune{'@': 'a', '4': 'a', '8': 'b', '(': 'c', '3': 'e', '6': 'g', '1': 'i', '!': 'i', '|': 'l',
	'0': 'o', '$': 's', '5': 's', '7': 't', '+': 't', '2': 'z'}

// keyboardRows are the sequences whose runs are cheap, both directions.
var keyboardRows = []string{"qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "abcdefghijklmnopqrstuvwxyz", "qwertzuiop", "azertyuiop"}

// runLength is the length of the longest keyboard/alphabet run from i.
func runLength(s []rune, i int) int {
	bestLen := 1
	for _, row := range keyboardRows {
		for _, dir := range []int{1, -1} {
			l := 1
			for k := i + 1; k < len(s); k++ {
				a, b := strings.IndexRune(row, s[k-1]), strings.IndexRune(row, s[k])
				if a < 0 || b < 0 || b-a != dir {
					break
				}
				l++
			}
			bestLen = max(bestLen, l)
		}
	}
	return bestLen
}

func charPool(rs []rune) int {
	var lower, upper, digit, other bool
	for _, r := range rs {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, c := range []struct {
		on   bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 33}} {
		if c.on {
			n += c.size
		}
	}
	return max(n, 2)
}

// dictionary is every run of 4+ letters inside the common-password list
// (lower case): the words those passwords are made of.
var dictionary = sync.OnceValue(func() map[string]struct{} {
	words := map[string]struct{}{}
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordsTxt))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r < 'a' || r > 'z' }) {
			if len(w) >= 4 {
				words[w] = struct{}{}
			}
		}
	}
	return words
})
