package gallery_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
	"github.com/sketchmatch/sketchmatch/internal/store"
	"github.com/sketchmatch/sketchmatch/internal/store/storetest"
	"github.com/sketchmatch/sketchmatch/internal/testenv"
)

var admin = gallery.Actor{UserID: 1, Username: "alice", ClientIP: "127.0.0.1"}

type fixture struct {
	db   *store.DB
	root string
	svc  *gallery.Service
}

// newFixture builds a gallery over a fresh database; enc may be nil (no model).
func newFixture(t *testing.T, enc gallery.Encoder, hogW float64) *fixture {
	t.Helper()
	return newFixtureWith(t, enc, hogW, "")
}

// newFixtureIn is newFixture with the index's float32 rows in a file in
// indexDir, as the server keeps them.
func newFixtureIn(t *testing.T, enc gallery.Encoder, indexDir string) *fixture {
	t.Helper()
	return newFixtureWith(t, enc, 0, indexDir)
}

func newFixtureWith(t *testing.T, enc gallery.Encoder, hogW float64, indexDir string) *fixture {
	t.Helper()
	db := storetest.MustOpenDB(t)
	root := filepath.Join(t.TempDir(), "refs")
	o := gallery.Options{DB: db, Files: &gallery.Files{Root: root}, Audit: &audit.Log{DB: db}, IndexDir: indexDir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Encoder: enc, HOGWeight: hogW,
		Limits: imagefile.Limits{MaxBytes: 1 << 20, MaxPixels: 40_000_000, MaxSide: 10_000}}
	if enc == nil {
		o.EncoderErr = errors.New("no model in this test")
	}
	svc, err := gallery.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, root: root, svc: svc}
}

func (f *fixture) files(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(f.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != ".lock" {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func (f *fixture) count(t *testing.T) int {
	t.Helper()
	n, _, err := f.db.CountReferences(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testJPEG(t testing.TB, seed uint64, w, h int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(r.IntN(256)), uint8(x), uint8(y), 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

func TestIngestRejects(t *testing.T) {
	good := testJPEG(t, 1, 64, 80)
	var gifBuf bytes.Buffer
	gif.Encode(&gifBuf, image.NewPaletted(image.Rect(0, 0, 4, 4), []color.Color{color.Black, color.White}), nil)
	for _, tc := range []struct {
		name string
		up   gallery.Upload
		code string
	}{
		{"ErrZeroByte", gallery.Upload{Name: "empty.jpg", Data: nil}, apperr.EINVALID},
		{"ErrTextAsJPEG", gallery.Upload{Name: "notes.jpg", Data: []byte("this is not an image at all\n")}, apperr.EUNSUPPORTED},
		{"ErrGIF", gallery.Upload{Name: "anim.gif", Data: gifBuf.Bytes()}, apperr.EUNSUPPORTED},
		{"ErrTruncatedJPEG", gallery.Upload{Name: "cut.jpg", Data: good[:len(good)/2]}, apperr.EINVALID},
		{"ErrPixelFlood", gallery.Upload{Name: "huge.png", Data: testenv.PNGHeader(20000, 20000)}, apperr.EINVALID},
		{"ErrTooLarge", gallery.Upload{Name: "big.jpg", Data: append(bytes.Clone(good), make([]byte, 1<<20)...)}, apperr.ETOOLARGE},
		{"ErrLabelControlChars", gallery.Upload{Name: "ok.jpg", Data: good, Label: "a\x1b[31mred"}, apperr.EINVALID},
		{"ErrNotesTooLong", gallery.Upload{Name: "ok.jpg", Data: good, Notes: string(bytes.Repeat([]byte("n"), 2001))}, apperr.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil, 0)
			res := f.svc.Add(context.Background(), admin, []gallery.Upload{tc.up})
			if got, want := res[0].Outcome, gallery.Rejected; got != want {
				t.Fatalf("outcome=%s, want %s", got, want)
			}
			if got := apperr.Code(res[0].Err); got != tc.code {
				t.Fatalf("code=%s, want %s (%v)", got, tc.code, res[0].Err)
			}
			if res[0].Reason == "" {
				t.Fatal("no reason given")
			}
			if n := f.count(t); n != 0 {
				t.Fatalf("%d rows left behind", n)
			}
			if files := f.files(t); len(files) != 0 {
				t.Fatalf("files left behind: %v", files)
			}
		})
	}
}

func TestIngestDuplicatesAndNames(t *testing.T) {
	f := newFixture(t, nil, 0)
	a, b := testJPEG(t, 1, 64, 80), testJPEG(t, 2, 64, 80)
	ctx := context.Background()
	res := f.svc.Add(ctx, admin, []gallery.Upload{
		{Name: "../../etc/passwd.jpg", Data: a, Label: "A"},
		{Name: "b.jpg", Data: b},
		{Name: "a-again.jpg", Data: a},
	})
	if res[0].Outcome != gallery.Added || res[1].Outcome != gallery.Added || res[2].Outcome != gallery.Duplicate {
		t.Fatalf("outcomes %s %s %s", res[0].Outcome, res[1].Outcome, res[2].Outcome)
	}
	if got, want := res[0].Reference.OriginalName, "passwd.jpg"; got != want {
		t.Fatalf("original name=%q, want %q (base name kept as data)", got, want)
	}
	if p := res[0].Reference.StoredPath; p != gallery.PhotoPath(res[0].Reference.SHA256, ".jpg") {
		t.Fatalf("stored path %q is not content-addressed", p)
	}
	again := f.svc.Add(ctx, admin, []gallery.Upload{{Name: "x.jpg", Data: b}})
	if again[0].Outcome != gallery.Duplicate || again[0].Reference.ID != res[1].Reference.ID {
		t.Fatalf("second upload of the same bytes: %s", again[0].Outcome)
	}
	if got, want := f.count(t), 2; got != want {
		t.Fatalf("references=%d, want %d", got, want)
	}
	if got, want := len(f.files(t)), 4; got != want { // 2 photos + 2 thumbnails
		t.Fatalf("files=%d, want %d", got, want)
	}
}

// A crash between writing the files and committing the row leaves orphan
// files; the next start sweeps them and a rerun adds each image once.
func TestCrashLeftoversSweptAndRerunIdempotent(t *testing.T) {
	f := newFixture(t, nil, 0)
	ctx := context.Background()
	imgs := [][]byte{testJPEG(t, 1, 64, 80), testJPEG(t, 2, 64, 80), testJPEG(t, 3, 64, 80)}
	f.svc.Add(ctx, admin, []gallery.Upload{{Name: "1.jpg", Data: imgs[0]}})
	// Simulate kill -9 mid-import: image 2's files written, no row; and a
	// temp file of an interrupted write.
	files := &gallery.Files{Root: f.root}
	sha := sha256hex(imgs[1])
	files.Write(gallery.PhotoPath(sha, ".jpg"), imgs[1])
	files.Write(gallery.ThumbPath(sha), []byte("thumb"))
	os.WriteFile(filepath.Join(f.root, sha[:2], ".tmp-123"), []byte("partial"), 0o600)
	// ... and a search sketch whose search row never committed.
	files.Write(gallery.SketchPath(sha256hex(imgs[2]), ".jpg"), imgs[2])

	if err := f.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := len(f.files(t)), 2; got != want {
		t.Fatalf("files after the sweep=%d, want %d: %v", got, want, f.files(t))
	}
	var ups []gallery.Upload
	for i, b := range imgs {
		ups = append(ups, gallery.Upload{Name: string(rune('a'+i)) + ".jpg", Data: b})
	}
	f.svc.Add(ctx, admin, ups)
	f.svc.Add(ctx, admin, ups)
	if got, want := f.count(t), 3; got != want {
		t.Fatalf("references=%d, want exactly one per distinct image (%d)", got, want)
	}
	if got, want := len(f.files(t)), 6; got != want {
		t.Fatalf("files=%d, want %d", got, want)
	}
}

func TestDeleteWithoutModel(t *testing.T) {
	f := newFixture(t, nil, 0)
	ctx := context.Background()
	res := f.svc.Add(ctx, admin, []gallery.Upload{{Name: "1.jpg", Data: testJPEG(t, 1, 64, 80)}})
	id := res[0].Reference.ID
	if err := f.svc.Delete(ctx, admin, id); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t); n != 0 {
		t.Fatalf("rows=%d after delete", n)
	}
	if files := f.files(t); len(files) != 0 {
		t.Fatalf("files after delete: %v", files)
	}
	if err := f.svc.Delete(ctx, admin, id); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}
}

func TestSearchWithoutModelIsUnavailable(t *testing.T) {
	f := newFixture(t, nil, 0)
	_, err := f.svc.Search(context.Background(), admin, gallery.Query{Sketch: testJPEG(t, 1, 64, 80), K: 5})
	if apperr.Code(err) != apperr.EUNAVAILABLE {
		t.Fatalf("search without a model: %v", err)
	}
}
