package domain

import (
	"errors"
)

// Subject is one person of the gallery: a display name or record number
// and one or more reference photos (issue 16).
type Subject struct {
	ID    int64
	Name  string
	Notes string
	// MergedInto is the subject an admin merged this one into (0: live).
	// A merged subject keeps its row so that searches recorded before the
	// merge still name it.
	MergedInto int64
	CreatedBy  string
	CreatedAt  int64
	UpdatedAt  int64
	Photos     int // references of the subject (filled by SubjectByID and ListSubjects)
	// FirstPhoto is the subject's oldest photo (0: none; filled by
	// ListSubjects), shown as its thumbnail in lists.
	FirstPhoto int64
}

// ErrSubjectMerged: the subject was merged into another and takes no photos.
var ErrSubjectMerged = errors.New("subject merged into another")

// Metadata is what a witness can describe of a person (a subject; every
// photo of the person has it). The zero value (and a subject without a
// row) means "unknown" for every field. Calls that take a reference id
// read or write the metadata of that photo's subject.
// Validation and normalisation live in internal/gallery; the store keeps
// what it is given.
type Metadata struct {
	Sex       string   // "female", "male" or "unknown" ("" is read as unknown)
	BirthYear int      // 0 = unknown
	Tags      []string // normalised: lower case, sorted, no duplicates, no commas
}

// IsZero reports whether nothing is known.
func (m Metadata) IsZero() bool {
	return (m.Sex == "" || m.Sex == "unknown") && m.BirthYear == 0 && len(m.Tags) == 0
}
