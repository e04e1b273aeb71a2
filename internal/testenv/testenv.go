// Package testenv finds what tests need outside the package: the repository
// root, ../shared (models and the dev evaluation set), the installed ONNX
// Runtime library and model preset. Tests skip with a clear message when
// something is absent.
package testenv

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/embed"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Shared returns ../shared (or $SKETCHMATCH_SHARED), skipping the test when absent.
func Shared(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("SKETCHMATCH_SHARED")
	if dir == "" {
		dir = filepath.Join(Root(), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "eval", "dev", "photos")); err != nil {
		tb.Skipf("skipping: ../shared (models and the dev evaluation set) is not present at %s", dir)
	}
	return dir
}

// ORTLibrary returns the installed ONNX Runtime library, skipping when absent.
func ORTLibrary(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(Root(), "lib", "libonnxruntime.so.1")
	if v := os.Getenv("ORT_LIBRARY_PATH"); v != "" && filepath.IsAbs(v) {
		p = v
	}
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("skipping: ONNX Runtime library not installed at %s (run make onnxruntime)", p)
	}
	return p
}

// ModelDir returns the installed default preset folder, skipping when absent.
func ModelDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(Root(), "models", "faceplugin-arcface")
	m, err := embed.ReadManifest(dir)
	if err != nil {
		tb.Skipf("skipping: model preset not readable (%v); run make models", err)
	}
	for _, f := range m.Files {
		if _, err := os.Stat(filepath.Join(dir, f.Path)); err != nil {
			tb.Skipf("skipping: model preset not installed (%s missing); run make models", f.Path)
		}
	}
	return dir
}

var (
	encOnce sync.Once
	enc     *embed.Encoder
	encErr  error
)

// Encoder returns the default preset's encoder, opened once per test binary.
func Encoder(tb testing.TB) *embed.Encoder {
	tb.Helper()
	lib := ORTLibrary(tb)
	dir := ModelDir(tb)
	encOnce.Do(func() {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if encErr = embed.InitRuntime(lib, "cpu", "", log); encErr != nil {
			return
		}
		enc, encErr = embed.Open(context.Background(), dir, embed.Options{Workers: 1, Queue: 64, IntraOpThreads: runtime.NumCPU(), Logger: log})
	})
	if encErr != nil {
		tb.Fatalf("opening the encoder: %v", encErr)
	}
	return enc
}

// DevPair is one person of the dev set.
type DevPair struct {
	ID     string // e.g. cuhk-f-010-01; never shown to the system under test
	Photo  string // path
	Sketch string // path
}

// DevPairs lists ../shared/eval/dev pairs, sorted by id.
func DevPairs(tb testing.TB) []DevPair {
	tb.Helper()
	dev := filepath.Join(Shared(tb), "eval", "dev")
	ents, err := os.ReadDir(filepath.Join(dev, "photos"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []DevPair
	for _, e := range ents {
		id := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		sk := filepath.Join(dev, "sketches", e.Name())
		if _, err := os.Stat(sk); err != nil {
			continue
		}
		out = append(out, DevPair{ID: id, Photo: filepath.Join(dev, "photos", e.Name()), Sketch: sk})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
