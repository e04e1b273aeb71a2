package domain

// Calibration is a per-modality centring (mean photo and mean sketch
// embedding) for one model, with the score bands derived from it.
type Calibration struct {
	ID         int64
	ModelID    string
	CreatedAt  int64
	CreatedBy  string
	Source     string
	NPairs     int
	PhotoMean  []float32
	SketchMean []float32
	Bands      string // JSON
	// Fusion is the fused-search model (internal/fusion, binary); nil
	// when the calibration only centres. FusionNote says what calibrate
	// chose and why.
	Fusion     []byte
	FusionNote string
}

// EvalReport is a stored `sketchmatch eval` result.
type EvalReport struct {
	ID        int64
	ModelID   string
	CreatedAt int64
	Summary   string
	Report    string // JSON
	PlotPNG   []byte
}

// FusionInput is one reference's row for a fused index load: its cached
// fused vector under the calibration when there is one, else the
// descriptors to compute it from.
type FusionInput struct {
	ReferenceID int64
	Vector      []float32 // encoder vector
	Fused       []byte    // cached fused vector (EncodeVector), nil when absent
	HOG         []byte    // float16 descriptors, read only when Fused is nil
	HOGWide     []byte
	// The byte slices are only valid during the callback.
}

// FusedVector is one reference's index row under a calibration.
type FusedVector struct {
	ReferenceID int64
	Vector      []float32
}
