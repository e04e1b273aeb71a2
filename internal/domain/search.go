package domain

// Search is one recorded search.
type Search struct {
	ID            int64
	UserID        int64
	Username      string
	CaseNumber    string
	SketchSHA256  string
	SketchPath    string
	ModelID       string
	CalibrationID int64 // the calibration the search was centred with; 0 = none
	HOGWeight     float64
	K             int
	FaceFound     bool
	// FaceSource says how the sketch's face was found: FaceDetected,
	// FaceManual (FaceBox drawn by the officer) or FaceNone (searched on a
	// centred crop: no confidence band). "" for searches recorded before.
	FaceSource  string
	FaceBox     string
	GallerySize int
	// Hold: on legal hold, never purged by retention.
	Hold       bool
	DurationMS float64
	// ClosedAt is when the officer closed the review (0: open); a closed
	// search is read-only except for an admin reopen.
	ClosedAt   int64
	ClosedBy   string
	Conclusion string
	CreatedAt  int64
	Results    []SearchResult
}

// SearchResult is one ranked candidate of a search.
type SearchResult struct {
	Rank        int
	ReferenceID int64
	Label       string
	Score       float64
	Band        string
	// The person ranked (issue 16): ReferenceID is their best photo,
	// ReferenceIDs all their photos that were ranked, best first.
	// SubjectID is 0 for a row recorded before subjects whose reference
	// was deleted before the migration.
	SubjectID    int64
	SubjectName  string
	ReferenceIDs []int64
}

// Values of Search.FaceSource.
const (
	FaceDetected = "detected"
	FaceManual   = "manual"
	FaceNone     = "none"
)

// PurgeCounts is what PurgeSearches removed (or would remove).
type PurgeCounts struct {
	Searches int64
	Results  int64
	Held     int64    // old enough, kept by a legal hold
	Sketches []string // sketch files no remaining search uses (to delete)
}

// SearchFilter is the witness filter a search ran with.
type SearchFilter struct {
	Spec        string // JSON
	Description string
	Kept, Total int
}
