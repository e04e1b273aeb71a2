// Package report renders the case report of a search as a PDF: who
// searched, when and for which case, the sketch, the candidates with their
// scores and bands, the pipeline that produced them and the standing
// statement that they are investigative leads, not identifications. It
// knows nothing of HTTP or the database: the caller gathers the content.
package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
)

// Statement is printed on every report.
const Statement = "These candidates are investigative leads for human review, ranked by similarity to the sketch. " +
	"A similarity score is not a probability and not an identification; the person in the sketch may not be in the gallery at all."

// Search is the content of a report.
type Search struct {
	Zone         *time.Location // times are shown in it (nil: UTC)
	ID           int64
	CaseNumber   string
	Username     string
	At           time.Time
	SketchJPEG   []byte // the sketch, as JPEG (nil: missing on the server)
	SketchSHA256 string
	Model        string
	Calibration  string
	HOGWeight    float64
	FaceSource   string // detected, manual, none
	GallerySize  int
	K            int
	Filter       string // the witness filter, "" when none
	Generated    time.Time
	GeneratedBy  string
	// The review (issue 16): Closed with who, when and the conclusion;
	// an open search's report says the review is not finished.
	Closed     bool
	ClosedAt   time.Time
	ClosedBy   string
	Conclusion string
}

// Candidate is one listed candidate.
type Candidate struct {
	Rank        int
	ReferenceID int64
	Label       string
	Score       float64
	Band        string // high, mid, low or ""
	BandText    string
	ThumbJPEG   []byte // nil when the reference was deleted or its file is missing
	Deleted     bool
	// The person: SubjectID 0 for a row recorded before subjects whose
	// photo was deleted since; Photos is how many photos of theirs were
	// listed.
	SubjectID   int64
	SubjectName string
	Photos      int
	// Review is the officer's mark ("" = never reviewed).
	Review     string
	ReviewNote string
	ReviewedBy string
	ReviewedAt time.Time
}

// Paper sizes.
const (
	A4     = "A4"
	Letter = "Letter"
)

// Write renders the report to w.
func Write(w io.Writer, s Search, cands []Candidate, paper string) error {
	if paper != Letter {
		paper = A4
	}
	zone := s.Zone
	if zone == nil {
		zone = time.UTC
	}
	pdf := fpdf.New("P", "mm", paper, "")
	pdf.SetTitle(fmt.Sprintf("SketchMatch search #%d", s.ID), true)
	pdf.SetAuthor("SketchMatch", true)
	pdf.SetCreator("SketchMatch", true)
	pdf.SetCreationDate(s.Generated)
	pdf.SetModificationDate(s.Generated)
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.AddUTF8FontFromBytes("gomono", "", gomono.TTF)
	pdf.SetMargins(15, 15, 15)
	pdf.SetAutoPageBreak(true, 18)
	pageW, _ := pdf.GetPageSize()
	contentW := pageW - 30
	pdf.SetFooterFunc(func() {
		pdf.SetY(-13)
		pdf.SetFont("go", "", 7.5)
		pdf.SetTextColor(90, 90, 90)
		pdf.CellFormat(contentW, 4, fmt.Sprintf("SketchMatch search #%d · case %s · generated %s by %s · page %d of {nb}",
			s.ID, orDash(s.CaseNumber), s.Generated.In(zone).Format("2006-01-02 15:04 MST"), s.GeneratedBy, pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AliasNbPages("{nb}")
	pdf.AddPage()

	pdf.SetFont("go", "B", 16)
	pdf.CellFormat(contentW, 8, fmt.Sprintf("Sketch search #%d — case report", s.ID), "", 1, "L", false, 0, "")
	pdf.Ln(1)
	// The statement, boxed.
	pdf.SetFont("go", "B", 9)
	pdf.SetFillColor(235, 242, 252)
	pdf.MultiCell(contentW, 4.6, Statement, "1", "L", true)
	pdf.Ln(3)

	// Sketch on the left, facts on the right.
	top := pdf.GetY()
	const sketchW = 55.0
	sketchH := 0.0
	if len(s.SketchJPEG) > 0 {
		info := pdf.RegisterImageOptionsReader("sketch", fpdf.ImageOptions{ImageType: "JPG"}, bytes.NewReader(s.SketchJPEG))
		if info != nil && info.Width() > 0 {
			sketchH = sketchW * info.Height() / info.Width()
			pdf.ImageOptions("sketch", 15, top, sketchW, sketchH, false, fpdf.ImageOptions{ImageType: "JPG"}, 0, "")
		}
	}
	if sketchH == 0 {
		pdf.SetFont("go", "", 8)
		pdf.SetXY(15, top)
		pdf.MultiCell(sketchW, 4, "(the sketch file is missing on the server)", "1", "C", false)
		sketchH = 10
	}
	face := map[string]string{"detected": "detected", "manual": "marked by hand", "none": "none found (searched anyway: no confidence given)"}[s.FaceSource]
	if face == "" {
		face = "—"
	}
	facts := [][2]string{
		{"Case number", orDash(s.CaseNumber)},
		{"Searched by", s.Username},
		{"When", s.At.In(zone).Format("2006-01-02 15:04:05 MST")},
		{"Face in the sketch", face},
		{"References searched", fmt.Sprint(s.GallerySize)},
		{"Candidates", fmt.Sprintf("%d of %d requested", len(cands), s.K)},
	}
	if s.Filter != "" {
		facts = append(facts, [2]string{"Witness filter", s.Filter})
	}
	facts = append(facts,
		[2]string{"Model", s.Model},
		[2]string{"Calibration", s.Calibration},
		[2]string{"HOG re-ranking weight", fmt.Sprintf("%g", s.HOGWeight)},
	)
	x := 15 + sketchW + 6
	pdf.SetXY(x, top)
	for _, f := range facts {
		pdf.SetX(x)
		pdf.SetFont("go", "B", 8.5)
		pdf.CellFormat(38, 5, f[0], "", 0, "L", false, 0, "")
		pdf.SetFont("go", "", 8.5)
		pdf.MultiCell(contentW-sketchW-6-38, 5, f[1], "", "L", false)
	}
	pdf.SetY(max(pdf.GetY(), top+sketchH) + 3)
	// The hash on one line, in a fixed-width face, so it can be compared.
	pdf.SetFont("go", "B", 8.5)
	pdf.CellFormat(28, 5, "Sketch SHA-256", "", 0, "L", false, 0, "")
	pdf.SetFont("gomono", "", 8)
	pdf.CellFormat(contentW-28, 5, s.SketchSHA256, "", 1, "L", false, 0, "")
	pdf.Ln(3)

	// Candidates: a table with a thumbnail per row.
	pdf.SetFont("go", "B", 11)
	pdf.CellFormat(contentW, 6, "Candidates", "", 1, "L", false, 0, "")
	if len(cands) == 0 {
		pdf.SetFont("go", "", 9)
		pdf.CellFormat(contentW, 6, "No candidates.", "", 1, "L", false, 0, "")
	}
	const rowH, thumbW = 24.0, 18.0
	cols := []float64{10, thumbW + 4, 46, 18, 42, contentW - 10 - thumbW - 4 - 46 - 18 - 42}
	header := []string{"#", "Photo", "Person (best photo)", "Similarity", "Band", "Review"}
	drawHeader := func() {
		pdf.SetFont("go", "B", 8.5)
		pdf.SetFillColor(240, 240, 240)
		for i, h := range header {
			pdf.CellFormat(cols[i], 6, h, "1", 0, "L", true, 0, "")
		}
		pdf.Ln(-1)
	}
	if len(cands) > 0 {
		drawHeader()
	}
	_, pageH := pdf.GetPageSize()
	for _, c := range cands {
		if pdf.GetY()+rowH > pageH-20 {
			pdf.AddPage()
			drawHeader()
		}
		y := pdf.GetY()
		pdf.SetFont("go", "B", 9)
		pdf.CellFormat(cols[0], rowH, fmt.Sprint(c.Rank), "1", 0, "C", false, 0, "")
		pdf.CellFormat(cols[1], rowH, "", "1", 0, "L", false, 0, "")
		if len(c.ThumbJPEG) > 0 {
			name := fmt.Sprintf("ref-%d", c.ReferenceID)
			info := pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "JPG"}, bytes.NewReader(c.ThumbJPEG))
			if info != nil && info.Width() > 0 {
				w, h := thumbW, thumbW*info.Height()/info.Width()
				if h > rowH-2 {
					h = rowH - 2
					w = h * info.Width() / info.Height()
				}
				pdf.ImageOptions(name, 15+cols[0]+2+(thumbW-w)/2, y+1, w, h, false, fpdf.ImageOptions{ImageType: "JPG"}, 0, "")
			}
		}
		label := c.SubjectName
		if label == "" {
			label = c.Label
		}
		if label == "" {
			label = "(no name)"
		}
		if c.SubjectID != 0 {
			label += fmt.Sprintf("\nperson #%d", c.SubjectID)
		}
		label += fmt.Sprintf("\nreference #%d", c.ReferenceID)
		if c.Photos > 1 {
			label += fmt.Sprintf("\n%d photos, best shown", c.Photos)
		}
		if c.Deleted {
			label += "\n(deleted since)"
		}
		cell(pdf, cols[2], rowH, label, "go", "", 8)
		cell(pdf, cols[3], rowH, fmt.Sprintf("%.3f", c.Score), "go", "", 9)
		band := "—"
		if c.Band != "" || c.BandText != "" {
			band = strings.TrimSpace(strings.ToUpper(c.Band) + " " + c.BandText)
		}
		cell(pdf, cols[4], rowH, band, "go", "", 7)
		cell(pdf, cols[5], rowH, reviewText(c, zone), "go", "", 7.5)
		pdf.SetXY(15, y+rowH)
	}
	pdf.Ln(4)
	pdf.SetFont("go", "B", 11)
	pdf.CellFormat(contentW, 6, "Review", "", 1, "L", false, 0, "")
	pdf.SetFont("go", "", 9)
	state := "Open: the review of this search is not finished."
	if s.Closed {
		state = fmt.Sprintf("Closed on %s by %s.", s.ClosedAt.In(zone).Format("2006-01-02 15:04 MST"), s.ClosedBy)
	}
	pdf.MultiCell(contentW, 4.6, state, "", "L", false)
	if s.Closed {
		conclusion := s.Conclusion
		if conclusion == "" {
			conclusion = "(none written)"
		}
		pdf.MultiCell(contentW, 4.6, "Conclusion: "+conclusion, "", "L", false)
	}
	pdf.MultiCell(contentW, 4.6, neverReviewed(cands), "", "L", false)
	pdf.Ln(4)
	pdf.SetFont("go", "", 8)
	pdf.MultiCell(contentW, 4, "Scores are similarities between the sketch and each photo under the model named above. "+
		"A band, where given, says how often a different person reaches such a score in a gallery of the size searched, "+
		"estimated from calibration searches. Every search and every download of this report is recorded in the audit trail.", "", "L", false)
	if pdf.Err() {
		return pdf.Error()
	}
	return pdf.Output(w)
}

// reviewText is a candidate's review cell.
func reviewText(c Candidate, zone *time.Location) string {
	if c.Review == "" {
		return "not reviewed"
	}
	t := strings.ToUpper(c.Review)
	if c.ReviewNote != "" {
		t += "\n" + c.ReviewNote
	}
	return t + "\n" + c.ReviewedBy + ", " + c.ReviewedAt.In(zone).Format("2006-01-02 15:04")
}

// neverReviewed names the candidates that carry no review mark.
func neverReviewed(cands []Candidate) string {
	var ranks []string
	for _, c := range cands {
		if c.Review == "" {
			ranks = append(ranks, fmt.Sprintf("#%d", c.Rank))
		}
	}
	switch {
	case len(cands) == 0:
		return "No candidates to review."
	case len(ranks) == 0:
		return "Every listed candidate was reviewed."
	}
	return fmt.Sprintf("Never reviewed (%d of %d): candidates %s.", len(ranks), len(cands), strings.Join(ranks, ", "))
}

// cell draws a bordered box of width w and height h with text wrapped
// inside, leaving the cursor at its top right.
func cell(pdf *fpdf.Fpdf, w, h float64, text, family, style string, size float64) {
	x, y := pdf.GetXY()
	pdf.Rect(x, y, w, h, "D")
	pdf.SetFont(family, style, size)
	lines := pdf.SplitText(text, w-2)
	lh := size * 0.45
	if max := int(h / lh); len(lines) > max {
		lines = lines[:max]
	}
	pdf.SetXY(x+1, y+1)
	for _, l := range lines {
		pdf.SetX(x + 1)
		pdf.CellFormat(w-2, lh, l, "", 2, "L", false, 0, "")
	}
	pdf.SetXY(x+w, y)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
