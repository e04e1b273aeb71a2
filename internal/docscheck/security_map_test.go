package docscheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityMapNamesExistingTests fails when docs/security.md names a test
// (`TestX`, `TestX/Sub`, `FuzzX`) that is not in the repository: a renamed
// or deleted test must take its claim in the ASVS map with it.
func TestSecurityMapNamesExistingTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Test sources by top-level function name.
	defs := map[string][]string{} // name -> file contents defining it
	funcRe := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]*)\(`)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range funcRe.FindAllStringSubmatch(string(b), -1) {
			defs[m[1]] = append(defs[m[1]], string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`((?:Test|Fuzz)[A-Za-z0-9_]*)((?:/[A-Za-z0-9_]+)*)`").FindAllStringSubmatch(string(doc), -1)
	if len(named) < 40 {
		t.Fatalf("docs/security.md names only %d tests; the ASVS map must prove its rows", len(named))
	}
	for _, m := range named {
		name, subs := m[1], strings.Split(strings.TrimPrefix(m[2], "/"), "/")
		srcs, ok := defs[name]
		if !ok {
			t.Errorf("docs/security.md names %s, which no longer exists", m[0])
			continue
		}
		if m[2] == "" {
			continue
		}
		found := false
		for _, src := range srcs {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(src, `"`+s+`"`)
			}
			found = found || all
		}
		if !found {
			t.Errorf("docs/security.md names %s: subtest not found in %s's file", m[0], name)
		}
	}
}
