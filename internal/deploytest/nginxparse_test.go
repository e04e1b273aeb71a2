package deploytest

import (
	"fmt"
	"strings"
	"testing"
)

// directive is one nginx directive: name, arguments and, for block
// directives (server, location, upstream), the directives inside.
type directive struct {
	Name  string
	Args  []string
	Block []*directive // nil for a simple directive
	Line  int
}

// parseNginx parses nginx configuration text into directives. It knows the
// grammar (words, quotes, comments, ';', '{', '}') but not the directives, so
// the assertions below are about what the file says, and `nginx -t` is what
// says the file is valid.
func parseNginx(src string) ([]*directive, error) {
	toks, err := tokenizeNginx(src)
	if err != nil {
		return nil, err
	}
	pos := 0
	var parse func(depth int) ([]*directive, error)
	parse = func(depth int) ([]*directive, error) {
		var out []*directive
		var cur *directive
		for pos < len(toks) {
			tk := toks[pos]
			pos++
			switch {
			case tk.special && tk.text == ";":
				if cur == nil {
					return nil, fmt.Errorf("line %d: unexpected ';'", tk.line)
				}
				out = append(out, cur)
				cur = nil
			case tk.special && tk.text == "{":
				if cur == nil {
					return nil, fmt.Errorf("line %d: '{' without a directive", tk.line)
				}
				d := cur
				cur = nil
				block, err := parse(depth + 1)
				if err != nil {
					return nil, err
				}
				d.Block = append([]*directive{}, block...)
				out = append(out, d)
			case tk.special && tk.text == "}":
				if cur != nil {
					return nil, fmt.Errorf("line %d: directive %q not terminated by ';'", cur.Line, cur.Name)
				}
				if depth == 0 {
					return nil, fmt.Errorf("line %d: unbalanced '}'", tk.line)
				}
				return out, nil
			default:
				if cur == nil {
					cur = &directive{Name: tk.text, Line: tk.line}
				} else {
					cur.Args = append(cur.Args, tk.text)
				}
			}
		}
		if cur != nil {
			return nil, fmt.Errorf("line %d: directive %q not terminated", cur.Line, cur.Name)
		}
		if depth != 0 {
			return nil, fmt.Errorf("unexpected end of file: missing '}'")
		}
		return out, nil
	}
	return parse(0)
}

type nginxToken struct {
	text    string
	special bool // one of ; { }
	line    int
}

func tokenizeNginx(src string) ([]nginxToken, error) {
	var toks []nginxToken
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			toks = append(toks, nginxToken{text: string(c), special: true, line: line})
			i++
		case c == '"' || c == '\'':
			start := line
			var b strings.Builder
			i++
			for {
				if i >= len(src) {
					return nil, fmt.Errorf("line %d: unterminated quote", start)
				}
				if src[i] == '\\' && i+1 < len(src) {
					b.WriteByte(src[i+1])
					i += 2
					continue
				}
				if src[i] == c {
					i++
					break
				}
				if src[i] == '\n' {
					line++
				}
				b.WriteByte(src[i])
				i++
			}
			toks = append(toks, nginxToken{text: b.String(), line: start})
		default:
			start := i
			for i < len(src) && !strings.ContainsRune(" \t\r\n;{}", rune(src[i])) {
				i++
			}
			toks = append(toks, nginxToken{text: src[start:i], line: line})
		}
	}
	return toks, nil
}

// find returns the directives named name directly inside ds.
func find(ds []*directive, name string) []*directive {
	var out []*directive
	for _, d := range ds {
		if d.Name == name {
			out = append(out, d)
		}
	}
	return out
}

// walk calls fn for every directive of the tree, depth first.
func walk(ds []*directive, fn func(*directive)) {
	for _, d := range ds {
		fn(d)
		walk(d.Block, fn)
	}
}

// args1 returns the single argument of the only directive name in ds.
func args1(t *testing.T, ds []*directive, name string) string {
	t.Helper()
	got := find(ds, name)
	if len(got) != 1 {
		t.Fatalf("want exactly one %q directive here, found %d", name, len(got))
	}
	if len(got[0].Args) != 1 {
		t.Fatalf("line %d: %s has %d arguments, want 1", got[0].Line, name, len(got[0].Args))
	}
	return got[0].Args[0]
}

// headerSet returns the proxy_set_header directives of a block as name → value
// (names lower-cased).
func headerSet(ds []*directive) map[string]string {
	m := map[string]string{}
	for _, d := range find(ds, "proxy_set_header") {
		if len(d.Args) == 2 {
			m[strings.ToLower(d.Args[0])] = d.Args[1]
		}
	}
	return m
}

func TestParseNginx(t *testing.T) {
	t.Run("Nested", func(t *testing.T) {
		ds, err := parseNginx("a 1; # c ; {\nb { c \"x y\"; d 'q;'; }\n")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(ds), 2; got != want {
			t.Fatalf("top-level directives=%d, want %d", got, want)
		}
		if got, want := ds[1].Block[0].Args[0], "x y"; got != want {
			t.Fatalf("quoted arg=%q, want %q", got, want)
		}
		if got, want := ds[1].Block[1].Args[0], "q;"; got != want {
			t.Fatalf("quoted arg=%q, want %q", got, want)
		}
		if got, want := ds[1].Line, 2; got != want {
			t.Fatalf("line=%d, want %d", got, want)
		}
	})
	for name, src := range map[string]string{
		"ErrUnterminated": "a 1",
		"ErrUnbalanced":   "a { b 1; ",
		"ErrExtraBrace":   "a 1; }",
		"ErrQuote":        "a \"1;",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseNginx(src); err == nil {
				t.Fatalf("parseNginx(%q) succeeded, want an error", src)
			}
		})
	}
}
