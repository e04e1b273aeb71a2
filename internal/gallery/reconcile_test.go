package gallery_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/audit"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
	"github.com/sketchmatch/sketchmatch/internal/imagefile"
)

// The start-up sweep reports a reference whose thumbnail is gone (from
// what its walk saw, not by asking the store path by path) and keeps the
// files that are there.
func TestReconcileReportsMissingFiles(t *testing.T) {
	f := newFixture(t, nil, 0)
	ctx := context.Background()
	img := testJPEG(t, 7, 64, 80)
	f.svc.Add(ctx, admin, []gallery.Upload{{Name: "a.jpg", Data: img}})
	sha := sha256hex(img)
	if err := os.Remove(filepath.Join(f.root, filepath.FromSlash(gallery.ThumbPath(sha)))); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	o := gallery.Options{DB: f.db, Files: &gallery.Files{Root: f.root}, Audit: &audit.Log{DB: f.db},
		Logger: slog.New(slog.NewTextHandler(&log, nil)), EncoderErr: errors.New("no model in this test"),
		Limits: imagefile.Limits{MaxBytes: 1 << 20, MaxPixels: 40_000_000, MaxSide: 10_000}}
	svc, err := gallery.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	svc.Sweep(ctx) // what serve runs at start
	if !strings.Contains(log.String(), "orphan-file sweep done") {
		t.Fatalf("sweep log, want it done:\n%s", log.String())
	}
	out := log.String()
	if strings.Count(out, "reference file missing") != 1 || !strings.Contains(out, gallery.ThumbPath(sha)) || !strings.Contains(out, "missing_files=1") {
		t.Fatalf("sweep log, want one missing thumbnail:\n%s", out)
	}
	if got := len(f.files(t)); got != 1 {
		t.Fatalf("files after the sweep: %d, want the photo kept", got)
	}
}
