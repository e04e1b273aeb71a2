package cli

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/store"
)

// photoDir writes n small distinct JPEGs named 0.jpg, 1.jpg, ... into a
// new folder.
func photoDir(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "photos")
	os.MkdirAll(dir, 0o755)
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 24, 30))
		for p := range img.Pix {
			img.Pix[p] = uint8(p*(i+3) + i)
		}
		img.Set(0, 0, color.RGBA{uint8(i), 1, 2, 255})
		var buf bytes.Buffer
		jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.jpg", i)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeCSV(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "meta.csv")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// openDB opens the database the CLI wrote (setup's DATABASE_PATH).
func openDB(t *testing.T, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, "db", "sm.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// metaByLabel returns every reference's metadata keyed by label.
func metaByLabel(t *testing.T, db *store.DB) map[string]domain.Metadata {
	t.Helper()
	refs, _, err := db.ListReferences(context.Background(), "", "", 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]domain.Metadata{}
	for _, r := range refs {
		m, err := db.MetadataByID(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Label] = m
	}
	return out
}

func TestImportMetadata(t *testing.T) {
	dir := setup(t)
	photos := photoDir(t, 3)
	csvPath := writeCSV(t, "file,label,sex,birth_year,tags\n"+
		"0.jpg,Anna,female,1990,\"glasses; Scar\"\n"+
		"1.jpg,,m,,\n"+
		"9.jpg,Nobody,f,,\n")
	code, out, errs := run(t, "", "import", "--label-from-filename", "--metadata", csvPath, photos)
	if code != 1 { // 9.jpg is not in PATH: reported, and the exit status says so
		t.Fatalf("exit %d, want 1 (an unmatched row)\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"3 added", "metadata: 2 stored with new references", "1 CSV rows name files that are not in PATH", "line 4: 9.jpg"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	db := openDB(t, dir)
	got := metaByLabel(t, db)
	want := map[string]domain.Metadata{
		"Anna": {Sex: "female", BirthYear: 1990, Tags: []string{"glasses", "scar"}},
		"1":    {Sex: "male"},
		"2":    {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("metadata by label:\n got %+v\nwant %+v", got, want)
	}
	t.Run("RerunUpdatesExistingReferences", func(t *testing.T) {
		csv2 := writeCSV(t, "file,label,sex,birth_year,tags\n0.jpg,Anna,female,1990,glasses;scar\n2.jpg,Two,unknown,1975,\n")
		code, out, errs := run(t, "", "import", "--metadata", csv2, photos)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		if !strings.Contains(out, "0 stored with new references, 1 updated on references already in the gallery, 1 unchanged") {
			t.Fatalf("output:\n%s", out)
		}
		if m := metaByLabel(t, db)["Two"]; m.BirthYear != 1975 {
			t.Fatalf("reference 2.jpg not updated: %+v", m)
		}
		var n int
		db.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'reference_update' AND details LIKE '%birth_year=1975%'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d audit rows for the update, want 1", n)
		}
	})
}

// A CSV with any error imports nothing: no reference, no file.
func TestImportMetadataErrorsImportNothing(t *testing.T) {
	const head = "file,label,sex,birth_year,tags\n"
	for _, tc := range []struct {
		name, csv string
		want      []string
	}{
		{"ErrBadSex", head + "0.jpg,A,female,,\n1.jpg,B,x,,\n", []string{"line 3:", `"x" is not female, male or unknown`, "nothing was imported"}},
		{"ErrBadYear", head + "0.jpg,A,f,19x0,\n", []string{"line 2:", "four-digit year"}},
		{"ErrFutureYear", head + "0.jpg,A,f,2999,\n", []string{"line 2:", "in the future"}},
		{"ErrDuplicateFile", head + "0.jpg,A,f,,\n0.jpg,B,m,,\n", []string{"line 3:", "listed twice (first on line 2)"}},
		{"ErrUnknownColumn", "file,label,height\n0.jpg,A,180\n", []string{"line 1:", `unknown column "height"`}},
		{"ErrMissingHeader", "0.jpg,A,female,1990,\n", []string{"line 1:", "missing header"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := setup(t)
			photos := photoDir(t, 2)
			code, out, errs := run(t, "", "import", "--metadata", writeCSV(t, tc.csv), photos)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "db", "sm.db")); err == nil {
				if n, _, _ := openDB(t, dir).CountReferences(context.Background(), ""); n != 0 {
					t.Fatalf("%d references imported from a CSV with an error", n)
				}
			}
			if ents, _ := os.ReadDir(filepath.Join(dir, "refs")); len(ents) != 0 {
				t.Fatalf("files written: %v", ents)
			}
		})
	}
	t.Run("ErrAmbiguousName", func(t *testing.T) {
		dir := setup(t)
		a, b := photoDir(t, 1), photoDir(t, 2) // both hold a 0.jpg
		code, _, errs := run(t, "", "import", "--metadata", writeCSV(t, head+"0.jpg,A,f,,\n"), a, b)
		if code != 1 || !strings.Contains(errs, "line 2:") || !strings.Contains(errs, "names 2 files") {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if _, err := os.Stat(filepath.Join(dir, "db", "sm.db")); err == nil {
			if n, _, _ := openDB(t, dir).CountReferences(context.Background(), ""); n != 0 {
				t.Fatalf("%d references imported", n)
			}
		}
	})
	t.Run("ErrMissingFile", func(t *testing.T) {
		setup(t)
		code, _, errs := run(t, "", "import", "--metadata", filepath.Join(t.TempDir(), "nope.csv"), photoDir(t, 1))
		if code != 1 || !strings.Contains(errs, "nope.csv") {
			t.Fatalf("exit %d: %s", code, errs)
		}
	})
}

// subjectsByFile maps every reference's original file name to its
// subject's name and id.
func subjectsByFile(t *testing.T, db *store.DB) map[string]*domain.Subject {
	t.Helper()
	ctx := context.Background()
	refs, _, err := db.ListReferences(ctx, "", "", 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*domain.Subject{}
	for _, r := range refs {
		s, err := db.SubjectByID(ctx, r.SubjectID)
		if err != nil {
			t.Fatal(err)
		}
		out[r.OriginalName] = s
	}
	return out
}

// TestImportSubjects: --subject-from-folder makes one person per
// sub-folder, named after it; the CSV's subject column adds a photo to a
// person by record number and wins over the folder.
func TestImportSubjects(t *testing.T) {
	dir := setup(t)
	src := photoDir(t, 6)
	root := filepath.Join(t.TempDir(), "gallery")
	for name, to := range map[string]string{"0.jpg": "R-1/a.jpg", "1.jpg": "R-1/b.jpg", "2.jpg": "R-2/c.jpg", "3.jpg": "loose.jpg"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, to)), 0o755)
		if err := os.Rename(filepath.Join(src, name), filepath.Join(root, to)); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := run(t, "", "import", "--subject-from-folder", root)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// The summary counts people; each file's line names its person.
	if !strings.Contains(out, "4 added (3 people)") || !strings.Contains(errs, `a.jpg → person "R-1"`) {
		t.Fatalf("import output does not speak of people:\n%s\n%s", out, errs)
	}
	db := openDB(t, dir)
	got := subjectsByFile(t, db)
	if got["a.jpg"].ID != got["b.jpg"].ID || got["a.jpg"].Name != "R-1" || got["a.jpg"].Photos != 2 {
		t.Fatalf("R-1: %+v %+v", got["a.jpg"], got["b.jpg"])
	}
	if got["c.jpg"].Name != "R-2" || got["c.jpg"].ID == got["a.jpg"].ID {
		t.Fatalf("R-2: %+v", got["c.jpg"])
	}
	if s := got["loose.jpg"]; s.ID == got["a.jpg"].ID || s.ID == got["c.jpg"].ID || s.Photos != 1 {
		t.Fatalf("a loose file must be its own person: %+v", s)
	}
	t.Run("CSVSubjectColumn", func(t *testing.T) {
		more := filepath.Join(t.TempDir(), "more")
		os.MkdirAll(filepath.Join(more, "R-9"), 0o755)
		os.Rename(filepath.Join(src, "4.jpg"), filepath.Join(more, "R-9", "d.jpg"))
		os.Rename(filepath.Join(src, "5.jpg"), filepath.Join(more, "R-9", "e.jpg"))
		csvPath := writeCSV(t, "file,subject,captured_on\nd.jpg,R-2,2019-04-01\ne.jpg,,\n")
		code, out, errs := run(t, "", "import", "--subject-from-folder", "--metadata", csvPath, more)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		got := subjectsByFile(t, db)
		if got["d.jpg"].ID != got["c.jpg"].ID {
			t.Fatalf("d.jpg went to %+v, want R-2 (the CSV's subject)", got["d.jpg"])
		}
		if got["e.jpg"].Name != "R-9" {
			t.Fatalf("e.jpg went to %+v, want its folder R-9", got["e.jpg"])
		}
		var captured string
		db.QueryRow(`SELECT captured_on FROM "references" WHERE original_name = 'd.jpg'`).Scan(&captured)
		if captured != "2019-04-01" {
			t.Fatalf("captured_on %q", captured)
		}
	})
	t.Run("ErrBadCaptureDate", func(t *testing.T) {
		csvPath := writeCSV(t, "file,captured_on\nz.jpg,April\n")
		code, _, errs := run(t, "", "import", "--metadata", csvPath, root)
		if code == 0 || !strings.Contains(errs, "not a date written YYYY-MM-DD") {
			t.Fatalf("exit %d: %s", code, errs)
		}
	})
}
