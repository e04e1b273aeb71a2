package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// Paths relative to this package directory (go test runs here).
const (
	testdataDir = "../../internal/embed/testdata/tinyclip"
	repoORTLib  = "../../lib/libonnxruntime.so.1"
)

// TestCommittedFilesReproduce checks that the committed model.onnx and
// model.json are exactly what `go run ./tools/gentinyclip` writes, and that
// expected.json matches the reference within float32 rounding.
func TestCommittedFilesReproduce(t *testing.T) {
	files, err := generate("model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	const hint = "; regenerate with: go run ./tools/gentinyclip -o internal/embed/testdata/tinyclip/model.onnx"
	for _, name := range []string{"model.onnx", manifestFile} {
		got, err := os.ReadFile(filepath.Join(testdataDir, name))
		if err != nil {
			t.Fatalf("%v%s", err, hint)
		}
		if !bytes.Equal(got, files[name]) {
			t.Errorf("committed %s (%d bytes) differs from the generator's output (%d bytes)%s",
				name, len(got), len(files[name]), hint)
		}
	}

	// expected.json goes through float64 math (exp, erf) whose last bits can
	// differ between platforms, so compare it numerically.
	committed := readExpected(t, filepath.Join(testdataDir, expectedFile))
	var fresh expected
	if err := json.Unmarshal(files[expectedFile], &fresh); err != nil {
		t.Fatal(err)
	}
	if committed.Input != fresh.Input {
		t.Errorf("expected.json input description is stale%s", hint)
	}
	assertClose(t, "expected.json vector", committed.Vector, fresh.Vector, 1e-6)
	assertClose(t, "expected.json normalized", committed.Normalized, fresh.Normalized, 1e-6)
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, err := generate("model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate("model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	if n := len(a["model.onnx"]); n > 64<<10 {
		t.Errorf("model.onnx is %d bytes; it should stay tiny", n)
	}
}

func TestFixedInput(t *testing.T) {
	px := fixedPixelValues()
	if len(px) != channels*imageSize*imageSize {
		t.Fatalf("len = %d", len(px))
	}
	// Spot-check the documented definition: pixel (x=31, y=2) is
	// (248, 16, 255-4*33=123).
	want := [channels]float64{248, 16, 123}
	for c := range channels {
		v := float32((want[c]/255 - clipMean[c]) / clipStd[c])
		if got := px[(c*imageSize+2)*imageSize+31]; got != v {
			t.Errorf("channel %d: got %v want %v", c, got, v)
		}
	}
}

// TestONNXRuntimeMatchesReference runs model.onnx through ONNX Runtime and
// compares with the float64 Go reference on the fixed input and on a second,
// pseudo-random input.
func TestONNXRuntimeMatchesReference(t *testing.T) {
	lib := os.Getenv("ORT_LIBRARY_PATH")
	if lib == "" || !filepath.IsAbs(lib) {
		lib = repoORTLib
	}
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("ONNX Runtime library not found at %s (run `make onnxruntime` in the repo root): %v", lib, err)
	}
	abs, err := filepath.Abs(lib)
	if err != nil {
		t.Fatal(err)
	}
	ort.SetSharedLibraryPath(abs)
	if err := ort.InitializeEnvironment(); err != nil {
		t.Fatalf("InitializeEnvironment: %v", err)
	}
	defer ort.DestroyEnvironment()

	// Load the in-memory generator output rather than the committed file, so
	// this test checks the generator even when the committed copy is stale
	// (TestCommittedFilesReproduce covers that).
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "model.onnx")
	if _, err := writeAll(modelPath); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSession(modelPath, []string{inputName}, []string{outputName}, nil)
	if err != nil {
		t.Fatalf("NewDynamicAdvancedSession: %v", err)
	}
	defer sess.Destroy()

	w := newWeights()
	run := func(name string, pixels []float32) []float32 {
		in, err := ort.NewTensor(ort.NewShape(1, channels, imageSize, imageSize), pixels)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Destroy()
		out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, embedDim))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Destroy()
		if err := sess.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
			t.Fatalf("%s: Run: %v", name, err)
		}
		got := append([]float32(nil), out.GetData()...)
		ref, err := referenceForward(w, pixels)
		if err != nil {
			t.Fatal(err)
		}
		refF32 := make([]float32, len(ref))
		for i, v := range ref {
			refF32[i] = float32(v)
		}
		assertClose(t, name+": ORT vs reference", got, refF32, 1e-4)
		t.Logf("%s: ORT %v", name, got)
		return got
	}

	got := run("fixed input", fixedPixelValues())
	exp := readExpected(t, filepath.Join(dir, expectedFile))
	assertClose(t, "fixed input: ORT vs expected.json", got, exp.Vector, 1e-4)

	// A second input, far from the first, so agreement is not a coincidence.
	noise := make([]float32, channels*imageSize*imageSize)
	for i := range noise {
		noise[i] = float32(math.Sin(float64(i)*0.37) * 2)
	}
	run("sine input", noise)
}

func readExpected(t *testing.T, path string) expected {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(e.Vector) != embedDim || len(e.Normalized) != embedDim {
		t.Fatalf("%s: want %d-d vectors, got %d and %d", path, embedDim, len(e.Vector), len(e.Normalized))
	}
	return e
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	var maxDiff float64
	for i := range got {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
	}
	if !(maxDiff <= tol) {
		t.Errorf("%s: max abs diff %g > %g\n got  %v\n want %v", what, maxDiff, tol, got, want)
	}
}
