package domain

import (
	"image"
)

// Reference is a gallery photo.
type Reference struct {
	ID           int64
	SHA256       string
	Label        string
	Notes        string
	OriginalName string
	ContentType  string
	SizeBytes    int64
	Width        int
	Height       int
	StoredPath   string
	ThumbPath    string
	CreatedBy    string
	CreatedAt    int64
	UpdatedAt    int64
	// ManualBox is a face box drawn by an admin (empty: use detection).
	ManualBox image.Rectangle
	// SubjectID is the person the photo belongs to. InsertReference with
	// SubjectID 0 creates a new subject named SubjectName (or, when that is
	// empty, the label) in the same transaction.
	SubjectID   int64
	SubjectName string
	// CapturedOn is the photo's capture date (YYYY-MM-DD, "" = unknown).
	CapturedOn string
	// HasEmbedding and Face are filled by ListReferences for the model it
	// is asked about (Face nil: not embedded yet).
	HasEmbedding bool
	Face         *FaceRecord
}

// NewEmbedding is the vector stored with a new reference.
type NewEmbedding struct {
	ModelID   string
	Vector    []float32
	FaceFound bool
	HOG       []byte
	HOGWide   []byte // HOG of the wide aligned crop (float16), may be nil
	// Face is the face-quality record (nil: stored as unchecked, which
	// reindex redoes). FaceFound must equal Face.Found when both are set.
	Face *FaceRecord
}

// StoredEmbedding is one row of the embeddings cache (without the HOG
// descriptor, which only the re-ranker reads, for its candidates: see HOGs).
type StoredEmbedding struct {
	ReferenceID int64
	Vector      []float32
	FaceFound   bool
}

// NewReferenceWithEmbedding is one row of a bulk insert: a reference and,
// when Embedding is non-nil, its embedding.
type NewReferenceWithEmbedding struct {
	Reference *Reference
	Embedding *NewEmbedding
}
