package report

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testJPEG(t testing.TB, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x) + seed, uint8(y), seed, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sample(t testing.TB, n int) (Search, []Candidate) {
	s := Search{ID: 42, CaseNumber: "2026-CR-00123", Username: "officer.jones", At: time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC),
		SketchJPEG: testJPEG(t, 200, 250, 3), SketchSHA256: strings.Repeat("ab12", 16), Model: "faceplugin-arcface@a407bbbabc33",
		Calibration: "#3", HOGWeight: 1.5, FaceSource: "detected", GallerySize: 10400, K: n, Filter: "sex: female; age 30–45",
		Generated: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), GeneratedBy: "officer.jones"}
	var cands []Candidate
	thumb := testJPEG(t, 96, 120, 9)
	for i := 1; i <= n; i++ {
		c := Candidate{Rank: i, ReferenceID: int64(1000 + i), Label: "Person Ünal-" + strconv.Itoa(i), Score: 0.9 - float64(i)/100,
			Band: "mid", BandText: "In a gallery of 10400 references, a different person scores this high in about 1 search in 20.", ThumbJPEG: thumb}
		if i == 3 {
			c.Deleted, c.ThumbJPEG = true, nil
		}
		cands = append(cands, c)
	}
	return s, cands
}

func TestWriteReport(t *testing.T) {
	s, cands := sample(t, 50)
	for _, paper := range []string{A4, Letter} {
		t.Run(paper, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, s, cands, paper); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
				t.Fatalf("not a PDF: %q", buf.Bytes()[:8])
			}
			pdftotext, err := exec.LookPath("pdftotext")
			if err != nil {
				t.Skip("pdftotext not installed (apt-get install poppler-utils; .ci/run installs it): the content checks need it")
			}
			path := filepath.Join(t.TempDir(), "r.pdf")
			os.WriteFile(path, buf.Bytes(), 0o644)
			info, err := exec.Command("pdfinfo", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			pages := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(info)
			size := regexp.MustCompile(`(?m)^Page size:\s+([\d.]+) x ([\d.]+)`).FindSubmatch(info)
			if pages == nil || size == nil {
				t.Fatalf("pdfinfo: %s", info)
			}
			if n, _ := strconv.Atoi(string(pages[1])); n < 3 || n > 8 {
				t.Errorf("%s pages for 50 candidates", pages[1])
			}
			w, _ := strconv.ParseFloat(string(size[1]), 64)
			if want := map[string]float64{A4: 595.28, Letter: 612}[paper]; w < want-1 || w > want+1 {
				t.Errorf("page width %.1f pt, want %.1f (%s)", w, want, paper)
			}
			out, err := exec.Command(pdftotext, "-layout", path, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			text := string(out)
			flat := strings.Join(strings.Fields(text), " ")
			for _, want := range []string{"2026-CR-00123", s.SketchSHA256, "officer.jones", "not an identification", "Person Ünal-50",
				"reference #1050", "(deleted since)", "faceplugin-arcface@a407bbbabc33", "sex: female", "10400"} {
				if !strings.Contains(flat, want) {
					t.Errorf("the report's text lacks %q", want)
				}
			}
		})
	}
}

func TestWriteReportMissingSketchAndNoCandidates(t *testing.T) {
	s, _ := sample(t, 0)
	s.SketchJPEG = nil
	var buf bytes.Buffer
	if err := Write(&buf, s, nil, A4); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
}

func BenchmarkWriteReport50(b *testing.B) {
	s, cands := sample(b, 50)
	for b.Loop() {
		var buf bytes.Buffer
		if err := Write(&buf, s, cands, A4); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteReportReview: the report carries each candidate's review mark
// and note, the conclusion of a closed search, and names the candidates
// never reviewed.
func TestWriteReportReview(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext not installed (apt-get install poppler-utils)")
	}
	text := func(t *testing.T, s Search, cands []Candidate) string {
		t.Helper()
		var buf bytes.Buffer
		if err := Write(&buf, s, cands, A4); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "r.pdf")
		os.WriteFile(path, buf.Bytes(), 0o644)
		out, err := exec.Command(pdftotext, "-layout", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}
	s, cands := sample(t, 4)
	at := time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC)
	cands[0].SubjectID, cands[0].SubjectName, cands[0].Photos = 77, "R-0412", 3
	cands[0].Review, cands[0].ReviewNote, cands[0].ReviewedBy, cands[0].ReviewedAt = "referred", "scar matches", "officer.jones", at
	cands[1].Review, cands[1].ReviewedBy, cands[1].ReviewedAt = "excluded", "officer.jones", at
	for _, c := range []struct {
		name   string
		closed bool
		want   []string
	}{
		{"Open", false, []string{"R-0412", "person #77", "3 photos, best shown", "REFERRED", "scar matches", "EXCLUDED",
			"not reviewed", "Open: the review of this search is not finished", "Never reviewed (2 of 4): candidates #3, #4"}},
		{"Closed", true, []string{"Closed on 2026-11-30 10:00 UTC by officer.jones", "Conclusion: Top candidate referred to CID."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := s
			if c.closed {
				s.Closed, s.ClosedAt, s.ClosedBy, s.Conclusion = true, time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), "officer.jones", "Top candidate referred to CID."
			}
			got := text(t, s, cands)
			for _, want := range c.want {
				if !strings.Contains(got, want) {
					t.Errorf("the report's text lacks %q", want)
				}
			}
		})
	}
	t.Run("AllReviewed", func(t *testing.T) {
		for i := range cands {
			cands[i].Review, cands[i].ReviewedBy, cands[i].ReviewedAt = "excluded", "x", at
		}
		if got := text(t, s, cands); !strings.Contains(got, "Every listed candidate was reviewed.") {
			t.Errorf("text: %s", got)
		}
	})
}
