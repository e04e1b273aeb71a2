package embed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestVerifyModel(t *testing.T) {
	mustInitRuntime(t)
	dir := faceModelDir(t)
	m, err := VerifyModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Name, "faceplugin-arcface"; got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	if !regexp.MustCompile(`^faceplugin-arcface@[0-9a-f]{12}$`).MatchString(m.ModelID()) {
		t.Errorf("model id %q", m.ModelID())
	}
}

// Every way a model folder can disagree with its manifest is refused, and
// the error names the file and the manifest field at fault.
func TestVerifyModelErrors(t *testing.T) {
	mustInitRuntime(t)
	for _, tc := range []struct {
		name  string
		file  string // the file the error must name
		field string
		msg   string
		spoil func(t *testing.T, dir string, m *Manifest)
	}{
		{"ErrMissingFile", "fr_landmark.onnx", "files[1]", "missing", func(t *testing.T, dir string, m *Manifest) {
			if err := os.Remove(filepath.Join(dir, "fr_landmark.onnx")); err != nil {
				t.Fatal(err)
			}
		}},
		{"ErrWrongChecksum", "LICENSE.upstream", "files[3].sha256", "checksum mismatch", func(t *testing.T, dir string, m *Manifest) {
			if err := os.WriteFile(filepath.Join(dir, "LICENSE.upstream"), []byte("changed"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"ErrWrongInputName", "fr_feature.onnx", "networks.embedder.input.name", `"data"`, func(t *testing.T, dir string, m *Manifest) {
			m.Networks.Embedder.Input.Name = "data"
		}},
		{"ErrInputShape", "fr_feature.onnx", "networks.embedder.input.shape", "[1 3 112 112]", func(t *testing.T, dir string, m *Manifest) {
			in := &m.Networks.Embedder.Input
			in.Shape, in.Size = []int64{1, 3, 128, 128}, [2]int{128, 128}
		}},
		{"ErrDynamicBatchOnFixedModel", "fr_feature.onnx", "networks.embedder.input.shape", "[1 3 112 112]", func(t *testing.T, dir string, m *Manifest) {
			m.Networks.Embedder.Input.Shape[0] = -1
		}},
		{"ErrOutputDim", "fr_feature.onnx", "networks.embedder.output.dim", "[1 512]", func(t *testing.T, dir string, m *Manifest) {
			m.Networks.Embedder.Output.Dim = 256
		}},
		{"ErrLandmarkInputLayout", "fr_landmark.onnx", "networks.landmarks.input.shape", "[1 1 64 64]", func(t *testing.T, dir string, m *Manifest) {
			in := &m.Networks.Landmarks.Input
			in.Layout, in.Shape = LayoutNHWC, []int64{1, 64, 64, 1}
		}},
		{"ErrDetectorOutputName", "fr_detect.onnx", "networks.detector.outputs.scores.name", `"confidences"`, func(t *testing.T, dir string, m *Manifest) {
			m.Networks.Detector.Outputs["scores"] = OutputSpec{Name: "confidences", Dim: 2}
		}},
		{"ErrNotONNX", "fr_detect.onnx", "networks.detector.file", "cannot load", func(t *testing.T, dir string, m *Manifest) {
			p := filepath.Join(dir, "fr_detect.onnx")
			os.Remove(p)
			if err := os.WriteFile(p, []byte("not a model"), 0o644); err != nil {
				t.Fatal(err)
			}
			sum, _ := fileSHA256(p)
			m.Files[0].SHA256 = sum
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := faceModelDir(t)
			m, err := ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			tc.spoil(t, dir, m)
			writeManifest(t, dir, m)
			_, err = VerifyModel(dir)
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a *ManifestError", err)
			}
			if got, want := me.Path, filepath.Join(dir, tc.file); got != want {
				t.Errorf("path %q, want %q", got, want)
			}
			if me.Field != tc.field {
				t.Errorf("field %q, want %q", me.Field, tc.field)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q does not say %q", err, tc.msg)
			}
			// Open refuses the same folder with the same error.
			if _, err := Open(context.Background(), dir, Options{}); err == nil || err.Error() != me.Error() {
				t.Errorf("Open: %v, want %v", err, me)
			}
		})
	}
}

// The installed default preset is byte-identical to the shared copy the
// baselines were measured with.
func TestInstalledPresetMatchesShared(t *testing.T) {
	shared := filepath.Join(sharedDir(t), "models", "faceplugin-fr-feature")
	installed := filepath.Dir(repoManifest("faceplugin-arcface"))
	for _, f := range [][2]string{{"fr_feature.onnx", "fr_feature.onnx"}, {"fr_detect.onnx", "fr_detect.onnx"}, {"fr_landmark.onnx", "fr_landmark.onnx"}, {"LICENSE", "LICENSE.upstream"}} {
		got, err := os.ReadFile(filepath.Join(installed, f[1]))
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("default preset not installed (%v): run `make models`", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(shared, f[0]))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s", filepath.Join(installed, f[1]), filepath.Join(shared, f[0]))
		}
	}
	mustInitRuntime(t)
	if _, err := VerifyModel(installed); err != nil {
		t.Fatal(err)
	}
}

// Flushing denormals to zero (session option + the calling thread's mode)
// leaves fr_feature's outputs unchanged: cosine >= 0.99999 with the
// unflushed session on real aligned faces and on random inputs.
func TestDenormalsAsZeroKeepsOutputs(t *testing.T) {
	mustInitRuntime(t)
	dir := faceModelDir(t)
	e := mustOpen(t, dir, Options{IntraOpThreads: 1})
	slow, err := newNetSession(e.emb.io, sessionConfig{intraOpThreads: 1, denormalsAreZero: false}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.destroy()
	fb, err := slow.newBuffers(1)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.destroy()
	w, err := newWorker(e)
	if err != nil {
		t.Fatal(err)
	}
	defer w.destroy()

	var inputs [][]float32
	spec := &e.m.Networks.Embedder.Input
	for _, p := range devSample(t, 4) {
		src, err := flatten(loadImage(t, p))
		if err != nil {
			t.Fatal(err)
		}
		c, err := w.crop(src, image.Rectangle{})
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float32, 3*112*112)
		writeTensor(in, c.img, spec)
		inputs = append(inputs, in)
	}
	rng := rand.New(rand.NewSource(7))
	for k := 0; k < 2; k++ {
		in := make([]float32, 3*112*112)
		for i := range in {
			in[i] = rng.Float32()*2 - 1
		}
		inputs = append(inputs, in)
	}
	fast := w.embB[1]
	var tFast, tSlow time.Duration
	for i, in := range inputs {
		copy(fast.in.GetData(), in)
		copy(fb.in.GetData(), in)
		t0 := time.Now()
		if err := e.emb.run(fast); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if err := slow.run(fb); err != nil {
			t.Fatal(err)
		}
		tFast, tSlow = tFast+t1.Sub(t0), tSlow+time.Since(t1)
		a, b := fast.outs[0].GetData(), fb.outs[0].GetData()
		cos := dot(a, b) / math.Sqrt(dot(a, a)*dot(b, b))
		if cos < 0.99999 {
			t.Errorf("input %d: cosine %.7f between flushed and unflushed outputs", i, cos)
		}
	}
	t.Logf("fr_feature, 1 intra-op thread: %.1f ms/Run with denormals flushed, %.1f ms without",
		float64(tFast.Microseconds())/1000/float64(len(inputs)), float64(tSlow.Microseconds())/1000/float64(len(inputs)))
}

// devSample returns n photos and n sketches of the dev set (read in place,
// never copied).
func devSample(t testing.TB, n int) []string {
	t.Helper()
	dev := filepath.Join(sharedDir(t), "eval", "dev")
	var out []string
	for _, sub := range []string{"photos", "sketches"} {
		names, _ := filepath.Glob(filepath.Join(dev, sub, "*.jpg"))
		if len(names) < n {
			t.Skipf("dev set not found in %s", dev)
		}
		for i := 0; i < n; i++ {
			out = append(out, names[i*len(names)/n])
		}
	}
	return out
}

func TestListPresets(t *testing.T) {
	mustInitRuntime(t)
	models := t.TempDir()
	face := filepath.Join(models, "faceplugin-arcface")
	if err := os.Rename(faceModelDir(t), face); err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(models, "clip-vit-b32")
	if err := os.Mkdir(clip, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, repoManifest("clip-vit-b32"), filepath.Join(clip, ManifestFile))
	if err := os.Mkdir(filepath.Join(models, "not-a-model"), 0o755); err != nil {
		t.Fatal(err)
	}
	ps, err := ListPresets(models)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("got %d presets, want 2: %+v", len(ps), ps)
	}
	if p := ps[0]; p.Name != "clip-vit-b32" || p.Installed || p.Verified || p.Err == nil || !strings.Contains(p.Err.Error(), "make models MODELS=clip-vit-b32") {
		t.Errorf("clip: %+v", p)
	}
	if p := ps[1]; p.Name != "faceplugin-arcface" || !p.Installed || !p.Verified || !p.ShapesChecked || p.Err != nil || !strings.HasPrefix(p.ModelID, "faceplugin-arcface@") {
		t.Errorf("face: %+v", p)
	}
}

func TestInitRuntimeErrors(t *testing.T) {
	mustInitRuntime(t)
	if err := InitRuntime(ortLib(t), "tpu", "", nil); err == nil {
		t.Error("provider tpu accepted")
	}
	if err := InitRuntime(ortLib(t), ProviderCPU, "gpu", nil); err == nil {
		t.Error("fallback gpu accepted")
	}
	if err := InitRuntime("/nonexistent/libonnxruntime.so", ProviderCPU, "", nil); err == nil {
		t.Error("a second library accepted")
	}
	if err := InitRuntime(ortLib(t), ProviderCUDA, "", nil); err == nil {
		t.Error("switching to cuda after cpu accepted")
	}
	if err := InitRuntime(ortLib(t), ProviderCPU, "", nil); err != nil {
		t.Errorf("same call again: %v", err)
	}
	if RuntimeVersion() == "" {
		t.Error("no runtime version")
	}
}

// The CUDA paths need a fresh process (ONNX Runtime is initialised once per
// process), so the test re-runs this test binary.
func TestInitRuntimeCUDA(t *testing.T) {
	if os.Getenv("EMBED_CUDA_CHILD") != "" {
		err := InitRuntime(ortLib(t), ProviderCUDA, os.Getenv("EMBED_CUDA_FALLBACK"), nil)
		_, provider, _, _ := runtimeState()
		if err != nil {
			os.Stdout.WriteString("RESULT error: " + err.Error() + "\n")
		} else {
			os.Stdout.WriteString("RESULT ok provider=" + provider + "\n")
		}
		return
	}
	lib := ortLib(t)
	run := func(fallback string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestInitRuntimeCUDA$", "-test.count=1")
		abs, _ := filepath.Abs(lib)
		cmd.Env = append(os.Environ(), "EMBED_CUDA_CHILD=1", "EMBED_CUDA_FALLBACK="+fallback, "ORT_LIBRARY_PATH="+abs)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`RESULT (.*)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("child said nothing:\n%s", out)
		}
		return string(m[1])
	}
	strict := run("")
	if strict == "ok provider=cuda" {
		t.Logf("the CUDA execution provider loaded: this host has a GPU build")
		return
	}
	for _, want := range []string{"ORT_EXECUTION_PROVIDER=cuda", "libonnxruntime_providers_cuda.so", "ORT_CUDA_FALLBACK=cpu"} {
		if !strings.Contains(strict, want) {
			t.Errorf("error without fallback does not mention %q: %s", want, strict)
		}
	}
	if got, want := run("cpu"), "ok provider=cpu"; got != want {
		t.Errorf("with ORT_CUDA_FALLBACK=cpu: %s, want %s", got, want)
	}
}

// Without InitRuntime (as `sketchmatch models` may run) ListPresets still
// verifies checksums; it runs in a fresh process, like the CUDA test.
func TestListPresetsWithoutRuntime(t *testing.T) {
	if dir := os.Getenv("EMBED_LIST_CHILD"); dir != "" {
		ps, err := ListPresets(dir)
		if err != nil || len(ps) != 1 {
			os.Stdout.WriteString("RESULT error: " + fmt.Sprint(err, ps) + "\n")
			return
		}
		p := ps[0]
		os.Stdout.WriteString(fmt.Sprintf("RESULT verified=%v shapes=%v err=%v\n", p.Verified, p.ShapesChecked, p.Err))
		return
	}
	models := t.TempDir()
	face := filepath.Join(models, "faceplugin-arcface")
	if err := os.Rename(faceModelDir(t), face); err != nil {
		t.Fatal(err)
	}
	run := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestListPresetsWithoutRuntime$", "-test.count=1")
		cmd.Env = append(os.Environ(), "EMBED_LIST_CHILD="+models)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`RESULT (.*)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("child said nothing:\n%s", out)
		}
		return string(m[1])
	}
	if got, want := run(), "verified=true shapes=false err=<nil>"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := os.WriteFile(filepath.Join(face, "LICENSE.upstream"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := run(); !strings.Contains(got, "verified=false") || !strings.Contains(got, "checksum mismatch") {
		t.Errorf("changed file: %s", got)
	}
}
