package embed

import (
	"context"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The tests use the real ONNX Runtime library (make onnxruntime) and the
// real models from the shared folder (../shared next to the repository, or
// $SKETCHMATCH_SHARED); without them they skip, saying why.

func sharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SKETCHMATCH_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "models", "faceplugin-fr-feature", "fr_feature.onnx")); err != nil {
		t.Skipf("shared models not found (%v): set SKETCHMATCH_SHARED to the folder holding models/ and eval/", err)
	}
	return dir
}

func ortLib(t testing.TB) string {
	t.Helper()
	p := os.Getenv("ORT_LIBRARY_PATH")
	if p == "" {
		p = filepath.Join("..", "..", "lib", "libonnxruntime.so.1")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("ONNX Runtime library not found (%v): run `make onnxruntime` or set ORT_LIBRARY_PATH", err)
	}
	return p
}

func mustInitRuntime(t testing.TB) {
	t.Helper()
	if err := InitRuntime(ortLib(t), ProviderCPU, "", nil); err != nil {
		t.Fatal(err)
	}
}

// repoManifest is the committed manifest of a preset.
func repoManifest(name string) string {
	return filepath.Join("..", "..", "models", name, ManifestFile)
}

// faceModelDir builds a temporary model folder from the committed
// faceplugin-arcface manifest and the shared model files (symlinked).
func faceModelDir(t testing.TB) string {
	t.Helper()
	src := filepath.Join(sharedDir(t), "models", "faceplugin-fr-feature")
	dir := t.TempDir()
	copyFile(t, repoManifest("faceplugin-arcface"), filepath.Join(dir, ManifestFile))
	for _, f := range []string{"fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx"} {
		abs, err := filepath.Abs(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(src, "LICENSE"), filepath.Join(dir, "LICENSE.upstream"))
	return dir
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t testing.TB, dir string, opts Options) *Encoder {
	t.Helper()
	mustInitRuntime(t)
	e, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func loadImage(t testing.TB, p string) image.Image {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return img
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
