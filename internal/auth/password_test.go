package auth_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/auth"
)

// maxLenPassword is 256 characters without a pattern (hex of chained
// SHA-256), the longest password accepted.
var maxLenPassword = func() string {
	var b strings.Builder
	sum := sha256.Sum256([]byte("seed"))
	for b.Len() < auth.MaxPasswordLen {
		b.WriteString(hex.EncodeToString(sum[:]))
		sum = sha256.Sum256(sum[:])
	}
	return b.String()[:auth.MaxPasswordLen]
}()

func TestMain(m *testing.M) {
	// Cheap argon2 so the suite stays fast; the cost of DefaultParams is
	// measured by BenchmarkHashPasswordDefault.
	auth.HashParams = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	os.Exit(m.Run())
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name, username, password string
		ok                       bool
	}{
		{"OKPassphrase", "alice", "correct horse battery staple", true},
		{"OKTwelveExactly", "alice", "tr0ub4dor&3x", true},
		{"OKTwelveRunesMultiByte", "alice", "Üñïcødé pâßw", true}, // 12 runes, more bytes
		{"OKSpacesAndSymbols", "alice", "  ~ mixed   UP and down ~  ", true},
		{"OKMaxLength", "alice", maxLenPassword, true}, // not a pattern: "abcd"×64 now fails the strength check
		{"ErrTooShort", "alice", "short pass1", false},
		{"ErrTooShortRunes", "alice", "Üñïcødé pâß", false}, // 11 runes, 15 bytes
		{"ErrTooLong", "alice", maxLenPassword + "e", false},
		{"ErrContainsUsername", "alice", "xxALICExx is here", false},
		{"ErrIsUsernameCaseInsensitive", "BobTheBuilder", "bobthebuilder", false},
		{"ErrCommon", "alice", "password123456", false},
		{"ErrCommonCaseInsensitive", "alice", "Password123456", false},
		{"ErrCommonKeyboardWalk", "alice", "qwertyuiop123", false},
		{"ErrCommonDigits", "alice", "123456789012", false},
		{"ErrCommonSeason", "alice", "september2024!", false},
		{"ErrCommonLeet", "alice", "p@$$w0rd12345", false},
		{"ErrCommonWithSpaces", "alice", "  letmein123456  ", false},
		{"ErrRepeated", "alice", "zzzzzzzzzzzzzzzzzzzzzzzzzzz", false},
		{"ErrTwoChars", "alice", "xyxyxyxyxyxyxyxyxyxy", false},
		{"ErrInvalidUTF8", "alice", "valid prefix \xff\xfe", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.ValidatePassword(tt.username, tt.password)
			if tt.ok && err != nil {
				t.Fatalf("ValidatePassword(%q)=%v, want ok", tt.password, err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatalf("ValidatePassword(%q) accepted", tt.password)
				}
				if got, want := apperr.Code(err), apperr.EINVALID; got != want {
					t.Fatalf("code=%q, want %q", got, want)
				}
			}
		})
	}
}

func TestValidateUsername(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"abc", true}, {"j.doe-2_x", true}, {strings.Repeat("a", 64), true}, {"Officer.SMITH", true},
		{"ab", false}, {strings.Repeat("a", 65), false}, {"has space", false}, {"semi;colon", false},
		{"émile", false}, {"", false}, {"new\nline", false}, {"slash/x", false},
	} {
		if err := auth.ValidateUsername(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateUsername(%q)=%v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerify(t *testing.T) {
	const pw = "correct horse battery staple"
	h1, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := auth.HashPassword(pw)
	t.Run("PHCFormat", func(t *testing.T) {
		m := phc.FindStringSubmatch(h1)
		if m == nil {
			t.Fatalf("hash %q is not a PHC argon2id string", h1)
		}
		if m[1] != "64" || m[2] != "1" || m[3] != "1" {
			t.Fatalf("params m=%s t=%s p=%s, want the test HashParams", m[1], m[2], m[3])
		}
	})
	t.Run("SaltedDifferently", func(t *testing.T) {
		if h1 == h2 {
			t.Fatal("two hashes of one password are equal")
		}
	})
	for name, tt := range map[string]struct {
		hash, pw string
		want     bool
	}{
		"Right":       {h1, pw, true},
		"RightOther":  {h2, pw, true},
		"Wrong":       {h1, pw + "!", false},
		"WrongCase":   {h1, strings.ToUpper(pw), false},
		"Empty":       {h1, "", false},
		"PrefixMatch": {h1, "correct horse", false},
	} {
		t.Run(name, func(t *testing.T) {
			ok, err := auth.VerifyPassword(tt.hash, tt.pw)
			if err != nil || ok != tt.want {
				t.Fatalf("VerifyPassword=%v,%v want %v", ok, err, tt.want)
			}
		})
	}
	t.Run("UnicodeNormalised", func(t *testing.T) {
		composed, decomposed := "caf\u00e9 au lait s'il vous pla\u00eet", "cafe\u0301 au lait s'il vous plai\u0302t"
		h, _ := auth.HashPassword(composed)
		if ok, _ := auth.VerifyPassword(h, decomposed); !ok {
			t.Fatal("decomposed form of the same password does not verify")
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		for _, bad := range []string{"", "plain", "$2a$10$abcdefghijklmnopqrstuv", strings.Replace(h1, "argon2id", "argon2i", 1),
			strings.Replace(h1, "v=19", "v=16", 1), strings.Replace(h1, "m=64", "m=99999999", 1),
			strings.Replace(h1, "t=1", "t=0", 1), h1[:len(h1)-10], h1 + "$x"} {
			if ok, err := auth.VerifyPassword(bad, pw); ok || err == nil {
				t.Errorf("VerifyPassword(%q)=%v,%v want false and an error", bad, ok, err)
			}
		}
	})
}

func TestCommonPasswordList(t *testing.T) {
	f, err := os.Open("common-passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		n++
		if utf8.RuneCountInString(line) < 8 || line != strings.ToLower(line) || strings.TrimSpace(line) != line {
			t.Errorf("bad entry %q", line)
		}
		if !auth.IsCommonPassword(line) {
			t.Fatalf("embedded list lacks %q", line)
		}
	}
	if n < 3000 {
		t.Fatalf("%d entries, want a few thousand", n)
	}
	if auth.IsCommonPassword("a genuinely uncommon phrase") {
		t.Fatal("uncommon phrase reported as common")
	}
}

func TestGeneratePassword(t *testing.T) {
	a, b := auth.GeneratePassword(), auth.GeneratePassword()
	if a == b || len(a) < 20 {
		t.Fatalf("GeneratePassword gave %q and %q", a, b)
	}
	if err := auth.ValidatePassword("admin", a); err != nil {
		t.Fatalf("generated password fails the policy: %v", err)
	}
}

// BenchmarkHashPasswordDefault measures the production parameters
// (target 50-100 ms per hash): go test -bench HashPasswordDefault ./internal/auth
func BenchmarkHashPasswordDefault(b *testing.B) {
	saved := auth.HashParams
	auth.HashParams = auth.DefaultParams
	defer func() { auth.HashParams = saved }()
	for b.Loop() {
		if _, err := auth.HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
