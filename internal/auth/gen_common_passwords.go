//go:build ignore

// gen_common_passwords writes common-passwords.txt (run: go generate in
// internal/auth).
//
// How the list is made, honestly: it is NOT copied from a breach corpus. It
// is generated from patterns that every published analysis of leaked
// passwords puts at the top (and that NIST SP 800-63B 5.1.1.2 names:
// dictionary words, repetitive or sequential characters, context-specific
// words): a hand-written list of the base words that dominate those top
// lists (password, qwerty, letmein, dragon, football, iloveyou, names, sports
// teams...) plus words from this tool's own context (police, officer,
// sketchmatch...), each with the usual decorations (capitalisation is
// irrelevant because matching is case-insensitive; l33t substitutions of
// the 40 commonest words; digit, year and '!' suffixes; doubled words),
// keyboard walks, digit runs, repeated characters, and season/month + year.
// Only entries of 8 or more characters are kept (entries of 8-11 characters
// are already refused by the 12-character minimum and are there for
// completeness). The policy also refuses any password with fewer than three
// distinct characters, which covers repetitions no list can enumerate.
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

var words = strings.Fields(`
password passwd passw0rd p@ssw0rd p@ssword pass qwerty qwert letmein welcome monkey dragon
football baseball basketball soccer hockey golf tennis iloveyou loveyou loveme admin administrator
root sunshine princess master shadow superman batman spiderman ironman trustno1 michael
jennifer jordan hunter charlie starwars whatever freedom computer internet secret login
changeme default guest test tester hello hellothere love lovely angel flower summer winter
spring autumn matrix killer pepper ginger cookie chocolate butterfly purple orange banana
apple cheese chicken mustang corvette ferrari porsche harley yankees cowboys liverpool arsenal
chelsea manchester barcelona madrid united tigger buster maggie bailey ashley jessica daniel
thomas robert andrew joshua matthew william george nicole michelle amanda samantha jasmine
pokemon naruto minecraft fortnite ninja mercedes lakers dallas london paris berlin america
canada mexico thunder rainbow diamond silver golden access security police officer sheriff
detective sergeant lieutenant captain constable precinct station forensic forensics evidence
justice badge patrol dispatch sketch sketchmatch office company qazwsx asdfgh zxcvbn zaq12wsx
abc123 abcdef abcdefgh iloveu blessed jesus christ heaven faith family friends friend
mother father sister brother baby babygirl sweetie honey darling beautiful pretty
happy smile cool awesome super hello123 welcome1 letmein1 monkey1 dragon1 master1
soccer1 pass123 test123 admin123 root123 user username account system server database
network wireless oracle cisco linux windows microsoft google yahoo facebook instagram
twitter youtube apple123 samsung nokia iphone android galaxy dolphin tiger lion eagle
falcon wolf bear panther jaguar phoenix spartan warrior knight legend hero champion
winner lucky money dollar million gold platinum crystal sparkle unicorn dinosaur
elephant penguin kitten puppy doggie kitty snoopy mickey minnie donald garfield
scooby tweety barbie bubbles peanut cupcake muffin candy sugar vanilla strawberry
cherry lemon mango coffee pizza burger hotdog beer vodka whiskey party music guitar
piano drums rock metal jazz rocky rambo rangers giants eagles steelers packers
patriots bulls celtics redsox dodgers angels raiders broncos chargers saints
jets dolphins bears vikings lions ravens texans titans colts jaguars browns bengals
seahawks cardinals falcons panthers buccaneers juventus milan bayern ajax celtic
rangers1 qwerty1 asdf1234 zxcv1234 qwer1234 1q2w3e4r 1qaz2wsx qazwsxedc
`)

var keyboardWalks = strings.Fields(`
qwertyuiop qwertyuiop[] asdfghjkl asdfghjkl; zxcvbnm zxcvbnm,./ qwertyui qwertyuio
qwertyuiopasdfghjkl qwertyuiopasdfghjklzxcvbnm asdfghjklqwertyuiop azertyuiop azertyuiop^$
qwertzuiop qwertzuiopü yxcvbnm 1qaz2wsx3edc 1qaz2wsx3edc4rfv 1qaz2wsx3edc4rfv5tgb
qazwsxedcrfv qazwsxedcrfvtgb zaq1xsw2cde3 zaq12wsxcde3 1q2w3e4r5t 1q2w3e4r5t6y
1q2w3e4r5t6y7u 1q2w3e4r5t6y7u8i 1q2w3e4r5t6y7u8i9o 1q2w3e4r5t6y7u8i9o0p q1w2e3r4t5
q1w2e3r4t5y6 q1w2e3r4t5y6u7 q1w2e3r4t5y6u7i8 qweasdzxc qweasdzxc123 asdqwezxc
!qaz@wsx !qaz@wsx#edc !qaz2wsx 1qaz!qaz 1qazxsw2 2wsx3edc 3edc4rfv 4rfv5tgb
qweqweqwe asdasdasd zxczxczxc qweasd123 qwe123qwe123 mnbvcxz lkjhgfdsa poiuytrewq
0987654321 9876543210 09876543210 poiuytrewq123 abcdefghijkl abcdefghijklmnop
abcdefghijklmnopqrstuvwxyz zyxwvutsrqponm zyxwvutsrqponmlkjihgfedcba 1a2b3c4d5e6f
a1b2c3d4e5f6 a1b2c3d4e5f6g7h8 1234qwerasdf 1234qwerasdfzxcv qwerasdfzxcv 123qweasdzxc
`)

var suffixes = []string{"", "1", "12", "123", "1234", "12345", "123456", "123456789",
	"!", "1!", "123!", "01", "69", "2000"}

var seasons = []string{"spring", "summer", "autumn", "fall", "winter"}

var months = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

func leet(s string) string {
	return strings.NewReplacer("a", "@", "o", "0", "e", "3", "i", "1", "s", "$").Replace(s)
}

func main() {
	set := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(s)
		if len([]rune(s)) >= 8 {
			set[s] = true
		}
	}
	for i, w := range words {
		for _, suf := range suffixes {
			add(w + suf)
			if i < 40 {
				add(leet(w) + suf)
			}
		}
		add(w + w)
		add(w + w + "1")
	}
	// The most common words with the years people use.
	for _, w := range words[:30] {
		for y := 1980; y <= 2030; y++ {
			add(fmt.Sprint(w, y))
		}
	}
	// Season / month + year: the classic "rotated every quarter" password.
	for y := 2000; y <= 2035; y++ {
		for _, s := range append(append([]string{}, seasons...), months...) {
			add(fmt.Sprint(s, y))
			add(fmt.Sprint(s, y, "!"))
			add(fmt.Sprint(s, "@", y))
		}
	}
	for _, k := range keyboardWalks {
		for _, suf := range []string{"", "1", "123", "!", "1!", "123!"} {
			add(k + suf)
		}
		add(k + k)
	}
	// Digit runs and repeated characters.
	digits := "12345678901234567890"
	for n := 8; n <= 20; n++ {
		add(digits[:n])
		add(strings.Repeat("0", n))
	}
	for _, p := range []string{"12", "123", "1234", "12345", "123456", "1122", "112233", "121212", "13579", "2468", "69", "666", "777", "987", "4321", "54321"} {
		for r := 2; r <= 8; r++ {
			add(strings.Repeat(p, r))
		}
	}
	for _, c := range "abcdefghijklmnopqrstuvwxyz0123456789" {
		for n := 8; n <= 16; n++ {
			add(strings.Repeat(string(c), n))
		}
	}
	for _, d := range []string{"19", "20"} {
		for y := 0; y <= 99; y++ {
			add(fmt.Sprintf("0101%s%02d", d, y)) // dates as ddmmyyyy
			add(fmt.Sprintf("%s%02d0101", d, y))
		}
	}
	list := make([]string, 0, len(set))
	for s := range set {
		list = append(list, s)
	}
	slices.Sort(list)
	var b strings.Builder
	b.WriteString("# Very common passwords (lower case, one a line), generated by\n")
	b.WriteString("# gen_common_passwords.go from the patterns that dominate leaked-password\n")
	b.WriteString("# analyses; see that file for how. Do not edit by hand: run go generate.\n")
	for _, s := range list {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if err := os.WriteFile("common-passwords.txt", []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d passwords\n", len(list))
}
