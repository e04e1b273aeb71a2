package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// maxMetadataCSV bounds the CSV read into memory.
const maxMetadataCSV = 64 << 20

// importMetadata is a validated metadata CSV matched against the files of
// an import. A nil *importMetadata (no --metadata) does nothing.
type importMetadata struct {
	byName    map[string]gallery.MetadataRow
	unmatched []gallery.MetadataRow // rows naming no file of the import
	added     int                   // new references stored with their row
	updated   int                   // references already in the gallery given their row
	unchanged int                   // already in the gallery with the same values
}

// loadImportMetadata reads and validates the whole CSV and matches its rows
// with files by base name. Any error (a bad row, a file name that two of
// the files share) means nothing may be imported.
func loadImportMetadata(path string, files []string) (*importMetadata, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetadataCSV+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxMetadataCSV {
		return nil, fmt.Errorf("larger than %d MiB; split it", maxMetadataCSV>>20)
	}
	rows, err := gallery.ParseMetadataCSV(strings.NewReader(string(data)), time.Now())
	if err != nil {
		return nil, err
	}
	paths := map[string][]string{}
	for _, p := range files {
		paths[filepath.Base(p)] = append(paths[filepath.Base(p)], p)
	}
	m := &importMetadata{byName: map[string]gallery.MetadataRow{}}
	var ambiguous []string
	for _, r := range rows {
		switch ps := paths[r.File]; len(ps) {
		case 0:
			m.unmatched = append(m.unmatched, r)
		case 1:
			m.byName[r.File] = r
		default:
			ambiguous = append(ambiguous, fmt.Sprintf("line %d: %q names %d files: %s", r.Line, r.File, len(ps), strings.Join(ps, ", ")))
		}
	}
	if len(ambiguous) > 0 {
		return nil, fmt.Errorf("rows are matched by file name, and these match more than one file (nothing was imported):\n  %s", strings.Join(ambiguous, "\n  "))
	}
	return m, nil
}

// describe gives an upload its row's metadata and label (a row's label wins
// over --label-from-filename).
func (m *importMetadata) describe(u *gallery.Upload) {
	if m == nil {
		return
	}
	r, ok := m.byName[u.Name]
	if !ok {
		return
	}
	// Metadata is the person's, shared by all their photos: a row that
	// leaves sex, birth year and tags blank does not clear what another
	// row (or an earlier import) said of the person.
	if !r.Meta.IsZero() {
		meta := r.Meta
		u.Meta = &meta
	}
	if r.Label != "" {
		u.Label = r.Label
	}
	// A row's subject wins over the folder's (--subject-from-folder).
	if r.Subject != "" {
		u.Subject, u.SubjectID = r.Subject, 0
	}
	u.CapturedOn = r.CapturedOn
}

// apply counts a new reference stored with its row, and gives a reference
// already in the gallery its row's metadata (and label) when they differ.
func (m *importMetadata) apply(ctx context.Context, g *gallery.Service, who gallery.Actor, res *gallery.Result) error {
	if m == nil {
		return nil
	}
	r, ok := m.byName[res.Name]
	if !ok {
		return nil
	}
	switch {
	case res.Outcome == gallery.Added:
		m.added++
	case res.Outcome == gallery.Duplicate && res.Reference != nil:
		cur, err := g.Metadata(ctx, res.Reference.ID)
		if err != nil {
			return err
		}
		var label *string
		if r.Label != "" && r.Label != res.Reference.Label {
			label = &r.Label
		}
		want := r.Meta
		if want.IsZero() {
			want = cur // a blank row leaves the person's metadata alone
		}
		if label == nil && sameMetadata(cur, want) {
			m.unchanged++
			return nil
		}
		if err := g.SetMetadata(ctx, who, res.Reference.ID, label, want); err != nil {
			return err
		}
		m.updated++
		res.Reason += "; its metadata was updated from the CSV"
	}
	return nil
}

func sameMetadata(a, b domain.Metadata) bool {
	norm := func(s string) string {
		if s == "" {
			return gallery.SexUnknown
		}
		return s
	}
	return norm(a.Sex) == norm(b.Sex) && a.BirthYear == b.BirthYear && slices.Equal(a.Tags, b.Tags)
}

// report prints what the CSV did and returns how many rows matched no file.
func (m *importMetadata) report(w io.Writer) int {
	if m == nil {
		return 0
	}
	fmt.Fprintf(w, "metadata: %d stored with new references, %d updated on references already in the gallery, %d unchanged\n", m.added, m.updated, m.unchanged)
	if n := len(m.unmatched); n > 0 {
		fmt.Fprintf(w, "metadata: %d CSV rows name files that are not in PATH (not applied):\n", n)
		for _, r := range m.unmatched {
			fmt.Fprintf(w, "  line %d: %s\n", r.Line, r.File)
		}
	}
	return len(m.unmatched)
}
