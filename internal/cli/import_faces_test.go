package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

// `sketchmatch import` on a folder with photos, non-faces and a photo of
// two people: everything is stored, the summary says which are not
// searchable and which need review, and a rerun changes nothing.
func TestImportReportsFaces(t *testing.T) {
	lib, model := testenv.ORTLibrary(t), testenv.ModelDir(t)
	dir := setup(t)
	t.Setenv("MODELS_DIR", filepath.Dir(model))
	t.Setenv("MODEL", filepath.Base(model))
	t.Setenv("ORT_LIBRARY_PATH", lib)
	src := filepath.Join(dir, "in")
	os.MkdirAll(src, 0o755)
	for name, data := range testenv.NonFaces(t) {
		os.WriteFile(filepath.Join(src, name), data, 0o644)
	}
	os.WriteFile(filepath.Join(src, "two-people.jpg"), testenv.TwoFaces(t), 0o644)
	for _, p := range testenv.DevPairs(t)[:3] {
		testenv.CopyFile(t, p.Photo, filepath.Join(src, filepath.Base(p.Photo)))
	}
	code, out, errs := run(t, "", "import", src)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`8 added \(8 people\), 0 duplicates, 0 rejected`),
		regexp.MustCompile(`(?m)^4 without a face: not searchable`),
		regexp.MustCompile(`(?m)^  no face  gradient\.png \(reference #\d+\)$`),
		regexp.MustCompile(`(?m)^1 flagged for review \(searchable\):\n  review   two-people\.jpg \(reference #\d+\): 2 faces were detected`),
	} {
		if !want.MatchString(out) {
			t.Errorf("import summary lacks %s:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "gradient.png (no face: not searchable)") {
		t.Errorf("per-file log lacks the no-face note:\n%s", errs)
	}
	if code, out, _ := run(t, "", "import", src); code != 0 || !strings.Contains(out, "0 added (0 people), 8 duplicates") {
		t.Fatalf("rerun: %d %s", code, out)
	}
}
