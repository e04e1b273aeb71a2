package embed

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	ort "github.com/yalue/onnxruntime_go"
)

// netIO is what ONNX Runtime reports for one network, resolved against the
// manifest: the names to bind and the shapes to allocate.
type netIO struct {
	path       string
	inName     string
	inShape    ort.Shape // the manifest's shape (batch may be -1)
	outNames   []string  // embedder/landmarks: [output]; detector: [scores, boxes]
	outShapes  []ort.Shape
	dynBatch   bool
	inChannels int
}

// VerifyModel reads dir/model.json, checks every file's sha256 and that
// each network's real inputs and outputs (from ONNX Runtime) agree with the
// manifest, without creating a pool. It needs InitRuntime first. Every
// error names the file and the manifest field at fault.
func VerifyModel(modelDir string) (*Manifest, error) {
	m, _, err := verifyModel(modelDir)
	return m, err
}

func verifyModel(dir string) (*Manifest, map[string]*netIO, error) {
	if ready, _, _, _ := runtimeState(); !ready {
		return nil, nil, ErrRuntimeNotInitialised
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := m.verifyFiles(dir); err != nil {
		return m, nil, err
	}
	ios := map[string]*netIO{}
	for _, nn := range []struct {
		role string
		n    *Network
	}{{"embedder", m.Networks.Embedder}, {"detector", m.Networks.Detector}, {"landmarks", m.Networks.Landmarks}} {
		if nn.n == nil {
			continue
		}
		io, err := checkNetwork(dir, nn.role, nn.n)
		if err != nil {
			return m, nil, err
		}
		ios[nn.role] = io
	}
	return m, ios, nil
}

func checkNetwork(dir, role string, n *Network) (*netIO, error) {
	p := filepath.Join(dir, filepath.FromSlash(n.File))
	field := "networks." + role
	bad := func(f, format string, args ...any) error {
		return &ManifestError{Path: p, Field: field + f, Msg: fmt.Sprintf(format, args...)}
	}
	var ins, outs []ort.InputOutputInfo
	err := withFPMode(false, func() error {
		var err error
		ins, outs, err = ort.GetInputOutputInfo(p)
		return err
	})
	if err != nil {
		return nil, &ManifestError{Path: p, Field: field + ".file", Msg: "ONNX Runtime cannot load it: " + err.Error()}
	}

	// Input.
	if len(ins) != 1 {
		return nil, bad(".input", "the model has %d inputs (%s); only single-input models are supported", len(ins), ioNames(ins))
	}
	in := ins[0]
	if n.Input.Name != "" && n.Input.Name != in.Name {
		return nil, bad(".input.name", "manifest says %q, the model's input is %q", n.Input.Name, in.Name)
	}
	if in.OrtValueType != ort.ONNXTypeTensor || in.DataType != ort.TensorElementDataTypeFloat {
		return nil, bad(".input", "input %q is %s of %s; only float32 tensors are supported", in.Name, in.OrtValueType, in.DataType)
	}
	want := n.Input.Shape
	if len(in.Dimensions) != len(want) {
		return nil, bad(".input.shape", "manifest says %v, the model's input %q has shape %v", want, in.Name, in.Dimensions)
	}
	for i, d := range in.Dimensions {
		switch {
		case d < 0: // dynamic in the model: the manifest decides
		case want[i] != d:
			return nil, bad(".input.shape", "manifest says %v, the model's input %q has shape %v", want, in.Name, in.Dimensions)
		}
	}
	io := &netIO{path: p, inName: in.Name, inShape: ort.NewShape(want...), dynBatch: want[0] == -1, inChannels: n.Input.channels()}

	// Outputs.
	type wantOut struct {
		field string
		spec  OutputSpec
		rank  int
	}
	var wants []wantOut
	if role == "detector" {
		wants = []wantOut{{".outputs.scores", n.Outputs["scores"], 3}, {".outputs.boxes", n.Outputs["boxes"], 3}}
	} else {
		wants = []wantOut{{".output", *n.Output, 2}}
	}
	for _, w := range wants {
		var o *ort.InputOutputInfo
		switch {
		case w.spec.Name == "" && len(outs) == 1:
			o = &outs[0]
		case w.spec.Name == "":
			return nil, bad(w.field+".name", "required: the model has %d outputs (%s)", len(outs), ioNames(outs))
		default:
			for i := range outs {
				if outs[i].Name == w.spec.Name {
					o = &outs[i]
				}
			}
			if o == nil {
				return nil, bad(w.field+".name", "manifest says %q, the model's outputs are %s", w.spec.Name, ioNames(outs))
			}
		}
		if o.OrtValueType != ort.ONNXTypeTensor || o.DataType != ort.TensorElementDataTypeFloat {
			return nil, bad(w.field, "output %q is %s of %s; only float32 tensors are supported", o.Name, o.OrtValueType, o.DataType)
		}
		dims := o.Dimensions
		if len(dims) != w.rank {
			return nil, bad(w.field+".dim", "output %q has shape %v, expected %d axes", o.Name, dims, w.rank)
		}
		if last := dims[len(dims)-1]; last != int64(w.spec.Dim) {
			return nil, bad(w.field+".dim", "manifest says %d, the model's output %q has shape %v", w.spec.Dim, o.Name, dims)
		}
		shape := dims.Clone()
		switch {
		case io.dynBatch && dims[0] >= 0:
			return nil, bad(w.field, "the input batch is dynamic but output %q has a fixed batch: shape %v", o.Name, dims)
		case !io.dynBatch && dims[0] != 1 && dims[0] >= 0:
			return nil, bad(w.field, "output %q has batch %d, expected 1: shape %v", o.Name, dims[0], dims)
		}
		shape[0] = 1
		for i := 1; i < len(shape); i++ {
			if shape[i] < 0 {
				return nil, bad(w.field, "output %q has a dynamic axis other than the batch: shape %v", o.Name, dims)
			}
		}
		io.outNames = append(io.outNames, o.Name)
		io.outShapes = append(io.outShapes, shape)
	}
	if role == "detector" && io.outShapes[0][1] != io.outShapes[1][1] {
		return nil, bad(".outputs", "scores %v and boxes %v disagree on the number of anchors", io.outShapes[0], io.outShapes[1])
	}
	return io, nil
}

func ioNames(infos []ort.InputOutputInfo) string {
	s := "["
	for i, x := range infos {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q %v", x.Name, x.Dimensions)
	}
	return s + "]"
}

// PresetStatus is one model folder under the models directory.
type PresetStatus struct {
	Name      string    // folder name (what MODEL selects)
	Dir       string    // the folder
	Manifest  *Manifest // nil when model.json cannot be read or is invalid
	Installed bool      // every file the manifest lists is present
	// Verified: every checksum matches, and when ShapesChecked also the
	// ONNX inputs and outputs agree with the manifest.
	Verified      bool
	ShapesChecked bool   // ONNX Runtime was initialised, so shapes were checked
	ModelID       string // set when verified
	Err           error  // why it is not verified (nil when Verified)
}

// ListPresets lists the folders of modelsDir that hold a model.json, sorted
// by name, and verifies each one: checksums always, ONNX input/output
// shapes too once InitRuntime has run. A preset whose weights are not
// installed is listed with Installed false and an Err saying how to
// install it.
func ListPresets(modelsDir string) ([]PresetStatus, error) {
	entries, err := os.ReadDir(modelsDir)
	if err != nil {
		return nil, fmt.Errorf("models directory: %w", err)
	}
	ready, _, _, _ := runtimeState()
	var out []PresetStatus
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(modelsDir, e.Name())
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
			continue
		}
		ps := PresetStatus{Name: e.Name(), Dir: dir}
		m, err := ReadManifest(dir)
		if err != nil {
			ps.Err = err
			out = append(out, ps)
			continue
		}
		ps.Manifest = m
		ps.Installed = true
		for _, f := range m.Files {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil {
				ps.Installed = false
			}
		}
		switch {
		case !ps.Installed:
			ps.Err = fmt.Errorf("not installed (run `make models MODELS=%s`)", e.Name())
		case ready:
			_, ps.Err = VerifyModel(dir)
			ps.ShapesChecked = true
		default:
			ps.Err = m.verifyFiles(dir)
		}
		if ps.Err == nil {
			ps.Verified = true
			ps.ModelID = m.ModelID()
		}
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
