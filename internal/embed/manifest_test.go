package embed

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// baseManifest is the committed default preset's manifest.
func baseManifest(t *testing.T) *Manifest {
	t.Helper()
	m, err := ReadManifest(filepath.Dir(repoManifest("faceplugin-arcface")))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCommittedManifestsAreValid(t *testing.T) {
	for _, name := range []string{"faceplugin-arcface", "clip-vit-b32"} {
		t.Run(name, func(t *testing.T) {
			m, err := ReadManifest(filepath.Dir(repoManifest(name)))
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != name {
				t.Errorf("name %q, want the folder name %q", m.Name, name)
			}
			if !regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `@[0-9a-f]{12}$`).MatchString(m.ModelID()) {
				t.Errorf("model id %q", m.ModelID())
			}
		})
	}
}

// Each broken manifest is refused with an error naming the field.
func TestManifestValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		field  string
		mutate func(m *Manifest)
	}{
		{"ErrPipeline", "pipeline", func(m *Manifest) { m.Pipeline = "faces" }},
		{"ErrLicenseRequired", "license", func(m *Manifest) { m.License = "" }},
		{"ErrLayout", "networks.embedder.input.layout", func(m *Manifest) { m.Networks.Embedder.Input.Layout = "CHW" }},
		{"ErrSizeDisagreesWithShape", "networks.embedder.input.size", func(m *Manifest) { m.Networks.Embedder.Input.Size = [2]int{112, 96} }},
		{"ErrRGBWithOneChannel", "networks.landmarks.input.color", func(m *Manifest) { m.Networks.Landmarks.Input.Color = ColorRGB }},
		{"ErrResize", "networks.detector.input.resize", func(m *Manifest) { m.Networks.Detector.Input.Resize = "fit" }},
		{"ErrInterpolation", "networks.detector.input.interpolation", func(m *Manifest) { m.Networks.Detector.Input.Interpolation = "lanczos" }},
		{"ErrStdZero", "networks.embedder.input.std[1]", func(m *Manifest) { m.Networks.Embedder.Input.Std = []float64{128, 0, 128} }},
		{"ErrMeanLength", "networks.embedder.input.mean", func(m *Manifest) { m.Networks.Embedder.Input.Mean = []float64{127} }},
		{"ErrScale", "networks.embedder.input.scale", func(m *Manifest) { m.Networks.Embedder.Input.Scale = 0 }},
		{"ErrPathEscapes", "files[0].path", func(m *Manifest) { m.Files[0].Path = "../fr_detect.onnx" }},
		{"ErrChecksumFormat", "files[1].sha256", func(m *Manifest) { m.Files[1].SHA256 = "abc" }},
		{"ErrNetworkNotChecksummed", "networks.embedder.file", func(m *Manifest) { m.Networks.Embedder.File = "other.onnx" }},
		{"ErrDimRequired", "networks.embedder.output.dim", func(m *Manifest) { m.Networks.Embedder.Output = nil }},
		{"ErrThreshold", "networks.detector.score_threshold", func(m *Manifest) { m.Networks.Detector.ScoreThreshold = 0 }},
		{"ErrDetectorOutputs", "networks.detector.outputs.boxes", func(m *Manifest) {
			m.Networks.Detector.Outputs = map[string]OutputSpec{"scores": {Dim: 2}, "boxs": {Dim: 4}}
		}},
		{"ErrLandmarkDim", "networks.landmarks.output.dim", func(m *Manifest) { m.Networks.Landmarks.Output.Dim = 10 }},
		{"ErrFaceNeedsDetector", "networks.detector", func(m *Manifest) { m.Networks.Detector = nil }},
		{"ErrWholeWithDetector", "networks", func(m *Manifest) { m.Pipeline = PipelineWhole }},
		{"ErrFaceWarpIsBilinear", "networks.embedder.input.interpolation", func(m *Manifest) { m.Networks.Embedder.Input.Interpolation = InterpBicubic }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := baseManifest(t)
			tc.mutate(m)
			dir := t.TempDir()
			writeManifest(t, dir, m)
			_, err := ReadManifest(dir)
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a *ManifestError", err)
			}
			if me.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", me.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, ManifestFile)) {
				t.Errorf("error does not name the manifest: %v", err)
			}
		})
	}

	t.Run("ErrUnknownField", func(t *testing.T) {
		dir := t.TempDir()
		data, err := os.ReadFile(repoManifest("faceplugin-arcface"))
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.Replace(string(data), `"flip_tta"`, `"flip"`, 1))
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), `unknown field "flip"`) {
			t.Fatalf("got %v, want an unknown-field error", err)
		}
	})
}

// The model id follows what changes the vectors, not the prose.
func TestModelID(t *testing.T) {
	base := baseManifest(t).ModelID()
	for _, tc := range []struct {
		name    string
		mutate  func(m *Manifest)
		changes bool
	}{
		{"Description", func(m *Manifest) { m.Description = "other words" }, false},
		{"License", func(m *Manifest) { m.License = "other words" }, false},
		{"FlipTTA", func(m *Manifest) { m.FlipTTA = !m.FlipTTA }, true},
		{"Threshold", func(m *Manifest) { m.Networks.Detector.ScoreThreshold += 0.01 }, true},
		{"Checksum", func(m *Manifest) { m.Files[2].SHA256 = strings.Repeat("0", 64) }, true},
		{"Mean", func(m *Manifest) { m.Networks.Embedder.Input.Mean[0] = 127.5 }, true},
		{"Version", func(m *Manifest) { m.Version = "2" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := baseManifest(t)
			tc.mutate(m)
			if got := m.ModelID() != base; got != tc.changes {
				t.Errorf("id changed = %v, want %v (%s vs %s)", got, tc.changes, m.ModelID(), base)
			}
		})
	}
}
