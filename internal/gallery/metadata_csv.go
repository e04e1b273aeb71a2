package gallery

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
	"github.com/sketchmatch/sketchmatch/internal/domain"
)

// MetadataColumns are the columns of an `import --metadata` CSV. The header
// line must name them (in any order); file is required, the others may be
// left out.
var MetadataColumns = []string{"file", "label", "sex", "birth_year", "tags", "subject", "captured_on"}

// MetadataRow is one validated CSV row.
type MetadataRow struct {
	Line  int
	File  string // base name, matched against the imported files' names
	Label string // "" = none given
	Meta  domain.Metadata
	// Subject is the person's record number or name ("" = none given:
	// the photo's own subject, or its folder's with --subject-from-folder);
	// photos with the same subject are one person.
	Subject    string
	CapturedOn string // YYYY-MM-DD, "" = unknown
}

// CSVError lists every problem found in a metadata CSV, each naming its
// line. Nothing may be imported from a CSV with an error.
type CSVError struct {
	Problems []string
	More     int // problems found beyond those listed
}

const maxCSVProblems = 50

func (e *CSVError) Error() string {
	s := "the metadata CSV has errors (nothing was imported):\n  " + strings.Join(e.Problems, "\n  ")
	if e.More > 0 {
		s += fmt.Sprintf("\n  … and %d more", e.More)
	}
	return s
}

func (e *CSVError) add(line int, format string, args ...any) {
	if len(e.Problems) >= maxCSVProblems {
		e.More++
		return
	}
	e.Problems = append(e.Problems, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
}

// maxCSVRows bounds what one CSV may describe.
const maxCSVRows = 1_000_000

// ParseMetadataCSV reads and validates a whole metadata CSV: every row is
// checked before any is returned, so a caller imports all of it or nothing.
// now bounds birth years. Errors are a *CSVError naming lines.
func ParseMetadataCSV(r io.Reader, now time.Time) ([]MetadataRow, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	errs := &CSVError{}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		errs.add(1, "the file is empty: the first line must name the columns (%s)", strings.Join(MetadataColumns, ","))
		return nil, errs
	}
	if err != nil {
		errs.add(csvLine(err, 1), "%s", csvMessage(err))
		return nil, errs
	}
	col, ok := parseHeader(header, errs)
	if !ok {
		return nil, errs
	}
	cr.FieldsPerRecord = len(header)
	var rows []MetadataRow
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				errs.add(pe.StartLine, "%d fields, the header has %d", len(rec), len(header))
				continue
			}
			// A syntax error: the reader cannot say where the next record
			// starts, so reading stops here.
			errs.add(csvLine(err, 0), "%s (the rest of the file was not read)", csvMessage(err))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rows)+1 > maxCSVRows {
			errs.add(line, "more than %d rows", maxCSVRows)
			break
		}
		row, ok := parseRow(rec, col, line, now, errs)
		if !ok {
			continue
		}
		if first, dup := seen[row.File]; dup {
			errs.add(line, "file %q is listed twice (first on line %d)", row.File, first)
			continue
		}
		seen[row.File] = line
		rows = append(rows, row)
	}
	if len(errs.Problems) > 0 {
		return nil, errs
	}
	return rows, nil
}

func csvLine(err error, fallback int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		return pe.Line
	}
	return fallback
}

func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return "not valid CSV: " + pe.Err.Error()
	}
	return err.Error()
}

// parseHeader maps column names to their positions.
func parseHeader(header []string, errs *CSVError) (map[string]int, bool) {
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\uFEFF") // a BOM some spreadsheets write
	}
	col := map[string]int{}
	var unknown []string
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(MetadataColumns, name):
			unknown = append(unknown, h)
		case hasKey(col, name):
			errs.add(1, "column %q appears twice", name)
		default:
			col[name] = i
		}
	}
	want := strings.Join(MetadataColumns, ",")
	if len(col) == 0 {
		errs.add(1, "missing header: the first line must name the columns (%s), found %q", want, clipText(strings.Join(header, ","), 80))
		return nil, false
	}
	for _, u := range unknown {
		errs.add(1, "unknown column %q (the columns are %s)", clipText(u, 40), want)
	}
	if !hasKey(col, "file") {
		errs.add(1, "no file column (the columns are %s)", want)
	}
	return col, len(errs.Problems) == 0
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// parseRow validates one record, adding its problems to errs.
func parseRow(rec []string, col map[string]int, line int, now time.Time, errs *CSVError) (MetadataRow, bool) {
	cell := func(name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	row := MetadataRow{Line: line, File: cell("file")}
	ok := true
	bad := func(err error) {
		errs.add(line, "%s", apperr.Message(err))
		ok = false
	}
	switch {
	case row.File == "":
		errs.add(line, "the file name is empty")
		ok = false
	case !utf8.ValidString(row.File) || strings.ContainsAny(row.File, "/\\") || row.File == "." || row.File == "..":
		errs.add(line, "file %q must be a file name, not a path", clipText(row.File, 80))
		ok = false
	}
	var err error
	if row.Label, err = cleanText("The label", cell("label"), maxLabel, false); err != nil {
		bad(err)
	}
	if row.Meta.Sex, err = ParseSex(cell("sex")); err != nil {
		bad(err)
	}
	if row.Meta.BirthYear, err = ParseBirthYear(cell("birth_year"), now); err != nil {
		bad(err)
	}
	if row.Meta.Tags, err = ParseTags(cell("tags")); err != nil {
		bad(err)
	}
	if row.Subject, err = CleanSubjectName(cell("subject")); err != nil {
		bad(err)
	}
	if row.CapturedOn, err = cleanDate(cell("captured_on")); err != nil {
		bad(err)
	}
	return row, ok
}
