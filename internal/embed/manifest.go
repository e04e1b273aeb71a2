package embed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ManifestFile is the name of the manifest inside a model folder.
const ManifestFile = "model.json"

// Pipelines.
const (
	PipelineFace  = "face"  // detect + landmarks + align + embed
	PipelineWhole = "whole" // preprocess the whole image + embed
)

// Input layouts, colours, resize modes and interpolations.
const (
	LayoutNCHW = "NCHW"
	LayoutNHWC = "NHWC"

	ColorRGB  = "rgb"
	ColorGrey = "grey" // luma 0.299 R + 0.587 G + 0.114 B, replicated to every channel

	ResizeSquash             = "squash"               // whole image to size, aspect ratio not kept
	ResizeShortestCentreCrop = "shortest_centre_crop" // shortest side to size, then centre crop

	InterpBilinear = "bilinear" // triangle filter, widened when downscaling (PIL/imaging style)
	InterpBicubic  = "bicubic"  // Catmull-Rom (a = -0.5), widened when downscaling
)

// pipelineRevision is part of every model id: bump it when the code changes
// what vectors a manifest produces (alignment, crop rules, fallback), so new
// vectors never mix with old ones in the embeddings cache.
const pipelineRevision = 1

// Manifest is the parsed models/<name>/model.json. Every preprocessing
// step is stated here; the code never guesses one.
type Manifest struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description"`
	// License quotes what the source states about the weights' licence.
	License  string    `json:"license"`
	Source   string    `json:"source"`
	Pipeline string    `json:"pipeline"` // face | whole
	FlipTTA  bool      `json:"flip_tta"` // mean of the image's and its mirror's embeddings, renormalised
	Files    []FileSum `json:"files"`
	Networks Networks  `json:"networks"`
}

// FileSum is one file of the model folder and its sha256 (hex).
type FileSum struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Networks are the ONNX graphs of a pipeline. Detector and Landmarks are
// required by the face pipeline and refused by the whole pipeline.
type Networks struct {
	Embedder  *Network `json:"embedder"`
	Detector  *Network `json:"detector,omitempty"`
	Landmarks *Network `json:"landmarks,omitempty"`
}

// Network is one ONNX graph with its input preprocessing and output.
type Network struct {
	File  string    `json:"file"`
	Input InputSpec `json:"input"`
	// Output is the single output of the embedder (dim = vector length) and
	// of the landmark network (dim = 2 x points, (x, y) relative to the crop).
	Output *OutputSpec `json:"output,omitempty"`
	// Outputs are the named outputs of the detector: "scores" (dim 2, face
	// probability last) and "boxes" (dim 4, x1 y1 x2 y2 relative to the image).
	Outputs map[string]OutputSpec `json:"outputs,omitempty"`
	// ScoreThreshold (detector): the best face below it counts as no face.
	ScoreThreshold float64 `json:"score_threshold,omitempty"`
	// BoxScale (landmarks): the landmark crop is a square centred on the face
	// box whose side is BoxScale times the box height.
	BoxScale float64 `json:"box_scale,omitempty"`
}

// InputSpec says how an image becomes the network's input tensor:
// value = (v*Scale - Mean[c]) / Std[c] for v in 0..255 after resizing.
type InputSpec struct {
	Name          string    `json:"name,omitempty"` // may be omitted when the model has one input
	Shape         []int64   `json:"shape"`          // full shape; -1 marks a dynamic batch
	Layout        string    `json:"layout"`         // NCHW | NHWC
	Color         string    `json:"color"`          // rgb | grey
	Size          [2]int    `json:"size"`           // [width, height]
	Resize        string    `json:"resize"`         // squash | shortest_centre_crop
	Interpolation string    `json:"interpolation"`  // bilinear | bicubic
	Scale         float64   `json:"scale"`
	Mean          []float64 `json:"mean"`
	Std           []float64 `json:"std"`
}

// OutputSpec is one output: its name (may be omitted when the model has one
// output) and the length of its last axis.
type OutputSpec struct {
	Name string `json:"name,omitempty"`
	Dim  int    `json:"dim"`
}

// ManifestError is a manifest that cannot be used: Path is the manifest or
// the model file at fault, Field the manifest field.
type ManifestError struct {
	Path  string
	Field string
	Msg   string
}

func (e *ManifestError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Path, e.Field, e.Msg)
}

// ReadManifest parses and validates dir/model.json without touching the
// model files. Unknown fields are refused: a typo must not silently fall
// back to a default.
func ReadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, &ManifestError{Path: p, Msg: "invalid JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &ManifestError{Path: p, Msg: "trailing data after the JSON object"}
	}
	if err := m.validate(p); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate(p string) error {
	bad := func(field, format string, args ...any) error {
		return &ManifestError{Path: p, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if m.Name == "" {
		return bad("name", "required")
	}
	if m.Version == "" {
		return bad("version", "required")
	}
	if m.License == "" {
		return bad("license", "required: quote what the source states")
	}
	if m.Source == "" {
		return bad("source", "required")
	}
	if len(m.Files) == 0 {
		return bad("files", "required")
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		field := fmt.Sprintf("files[%d]", i)
		if !localName(f.Path) {
			return bad(field+".path", "%q must be a relative path inside the model folder", f.Path)
		}
		if seen[f.Path] {
			return bad(field+".path", "%q listed twice", f.Path)
		}
		seen[f.Path] = true
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size || strings.ToLower(f.SHA256) != f.SHA256 {
			return bad(field+".sha256", "must be 64 lower-case hex digits")
		}
	}

	nets := []struct {
		field string
		n     *Network
	}{{"networks.embedder", m.Networks.Embedder}, {"networks.detector", m.Networks.Detector}, {"networks.landmarks", m.Networks.Landmarks}}
	switch m.Pipeline {
	case PipelineFace:
		for _, nn := range nets {
			if nn.n == nil {
				return bad(nn.field, "required by pipeline %q", m.Pipeline)
			}
		}
	case PipelineWhole:
		if m.Networks.Embedder == nil {
			return bad("networks.embedder", "required")
		}
		if m.Networks.Detector != nil || m.Networks.Landmarks != nil {
			return bad("networks", "pipeline %q uses only the embedder; remove detector and landmarks", m.Pipeline)
		}
	default:
		return bad("pipeline", "%q: must be %q or %q", m.Pipeline, PipelineFace, PipelineWhole)
	}
	for _, nn := range nets {
		if nn.n == nil {
			continue
		}
		if !seen[nn.n.File] {
			return bad(nn.field+".file", "%q is not listed in files (every network must be checksummed)", nn.n.File)
		}
		if err := nn.n.Input.validate(nn.field+".input", bad); err != nil {
			return err
		}
	}

	emb := m.Networks.Embedder
	if emb.Output == nil || emb.Output.Dim <= 0 {
		return bad("networks.embedder.output.dim", "required and > 0")
	}
	if len(emb.Outputs) != 0 || emb.ScoreThreshold != 0 || emb.BoxScale != 0 {
		return bad("networks.embedder", "only file, input and output apply to the embedder")
	}
	if m.Pipeline == PipelineFace {
		if emb.Input.Interpolation != InterpBilinear {
			return bad("networks.embedder.input.interpolation", "the face pipeline warps with bilinear interpolation; %q is not supported", emb.Input.Interpolation)
		}
		if emb.Input.Resize != ResizeShortestCentreCrop {
			return bad("networks.embedder.input.resize", "the face pipeline's no-face fallback is a centred crop: must be %q", ResizeShortestCentreCrop)
		}
		if emb.Input.Size[0] != emb.Input.Size[1] {
			return bad("networks.embedder.input.size", "the ArcFace template needs a square input, got %v", emb.Input.Size)
		}
		det := m.Networks.Detector
		if det.Output != nil || det.BoxScale != 0 {
			return bad("networks.detector", "the detector has outputs (scores, boxes) and score_threshold only")
		}
		if len(det.Outputs) != 2 {
			return bad("networks.detector.outputs", "must name exactly \"scores\" and \"boxes\"")
		}
		if o, ok := det.Outputs["scores"]; !ok || o.Dim != 2 {
			return bad("networks.detector.outputs.scores", "required, with dim 2 (background, face)")
		}
		if o, ok := det.Outputs["boxes"]; !ok || o.Dim != 4 {
			return bad("networks.detector.outputs.boxes", "required, with dim 4 (x1, y1, x2, y2 relative to the image)")
		}
		if det.ScoreThreshold <= 0 || det.ScoreThreshold >= 1 {
			return bad("networks.detector.score_threshold", "required, between 0 and 1")
		}
		if det.Input.Resize != ResizeSquash {
			return bad("networks.detector.input.resize", "box coordinates are relative to the whole image: must be %q", ResizeSquash)
		}
		lm := m.Networks.Landmarks
		if lm.Output == nil || lm.Output.Dim != 2*68 {
			return bad("networks.landmarks.output.dim", "must be 136 (68 points, x and y)")
		}
		if len(lm.Outputs) != 0 || lm.ScoreThreshold != 0 {
			return bad("networks.landmarks", "only file, input, output and box_scale apply to the landmark network")
		}
		if lm.BoxScale <= 0 || lm.BoxScale > 4 {
			return bad("networks.landmarks.box_scale", "required, > 0 and <= 4")
		}
		if lm.Input.Resize != ResizeSquash {
			return bad("networks.landmarks.input.resize", "landmarks are relative to the crop: must be %q", ResizeSquash)
		}
	}
	return nil
}

func (s *InputSpec) validate(field string, bad func(field, format string, args ...any) error) error {
	if len(s.Shape) != 4 {
		return bad(field+".shape", "must have 4 axes, got %v", s.Shape)
	}
	if s.Shape[0] != 1 && s.Shape[0] != -1 {
		return bad(field+".shape", "batch axis must be 1 or -1 (dynamic), got %d", s.Shape[0])
	}
	var c, h, w int64
	switch s.Layout {
	case LayoutNCHW:
		c, h, w = s.Shape[1], s.Shape[2], s.Shape[3]
	case LayoutNHWC:
		h, w, c = s.Shape[1], s.Shape[2], s.Shape[3]
	default:
		return bad(field+".layout", "%q: must be NCHW or NHWC", s.Layout)
	}
	if c != 1 && c != 3 {
		return bad(field+".shape", "channel axis must be 1 or 3 for layout %s, got %d", s.Layout, c)
	}
	if s.Size[0] <= 0 || s.Size[1] <= 0 || int64(s.Size[0]) != w || int64(s.Size[1]) != h {
		return bad(field+".size", "%v ([width, height]) disagrees with shape %v in layout %s", s.Size, s.Shape, s.Layout)
	}
	switch s.Color {
	case ColorRGB:
		if c != 3 {
			return bad(field+".color", "rgb needs 3 channels, shape has %d", c)
		}
	case ColorGrey:
	default:
		return bad(field+".color", "%q: must be rgb or grey", s.Color)
	}
	switch s.Resize {
	case ResizeSquash, ResizeShortestCentreCrop:
	default:
		return bad(field+".resize", "%q: must be %s or %s", s.Resize, ResizeSquash, ResizeShortestCentreCrop)
	}
	switch s.Interpolation {
	case InterpBilinear, InterpBicubic:
	default:
		return bad(field+".interpolation", "%q: must be bilinear or bicubic", s.Interpolation)
	}
	if s.Scale <= 0 {
		return bad(field+".scale", "required and > 0")
	}
	if len(s.Mean) != 3 {
		return bad(field+".mean", "must have 3 values")
	}
	if len(s.Std) != 3 {
		return bad(field+".std", "must have 3 values")
	}
	for i, v := range s.Std {
		if v == 0 {
			return bad(fmt.Sprintf("%s.std[%d]", field, i), "must not be 0")
		}
	}
	if c == 1 && (s.Mean[0] != s.Mean[1] || s.Mean[0] != s.Mean[2] || s.Std[0] != s.Std[1] || s.Std[0] != s.Std[2]) {
		return bad(field+".mean", "a 1-channel input needs the same mean and std for all three entries")
	}
	return nil
}

func (s *InputSpec) channels() int {
	if s.Layout == LayoutNHWC {
		return int(s.Shape[3])
	}
	return int(s.Shape[1])
}

// localName reports whether p is a plain relative path that stays inside
// the model folder.
func localName(p string) bool {
	if p == "" || strings.Contains(p, "\\") || path.IsAbs(p) {
		return false
	}
	c := path.Clean(p)
	return c == p && c != "." && !strings.HasPrefix(c, "../") && c != ".."
}

// ModelID identifies the vectors a model folder produces: the manifest's
// name, "@", and the first 12 hex digits of the sha256 of the canonical
// form of everything that changes the vectors (name, version, pipeline,
// flip_tta, networks, file checksums, the pipeline code revision).
// Description, licence and source do not change it.
func (m *Manifest) ModelID() string {
	canon := struct {
		Revision int       `json:"revision"`
		Name     string    `json:"name"`
		Version  string    `json:"version"`
		Pipeline string    `json:"pipeline"`
		FlipTTA  bool      `json:"flip_tta"`
		Files    []FileSum `json:"files"`
		Networks Networks  `json:"networks"`
	}{pipelineRevision, m.Name, m.Version, m.Pipeline, m.FlipTTA, m.Files, m.Networks}
	b, err := json.Marshal(canon) // struct fields in order, map keys sorted: canonical
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	sum := sha256.Sum256(b)
	return m.Name + "@" + hex.EncodeToString(sum[:])[:12]
}

// verifyFiles checks that every listed file exists and has its sha256.
func (m *Manifest) verifyFiles(dir string) error {
	for i, f := range m.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		got, err := fileSHA256(p)
		if errors.Is(err, os.ErrNotExist) {
			return &ManifestError{Path: p, Field: fmt.Sprintf("files[%d]", i), Msg: "file is missing (install it with `make models MODELS=" + filepath.Base(dir) + "`)"}
		}
		if err != nil {
			return &ManifestError{Path: p, Field: fmt.Sprintf("files[%d]", i), Msg: err.Error()}
		}
		if got != f.SHA256 {
			return &ManifestError{Path: p, Field: fmt.Sprintf("files[%d].sha256", i), Msg: fmt.Sprintf("checksum mismatch: file has %s, manifest says %s; refusing to load", got, f.SHA256)}
		}
	}
	return nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
