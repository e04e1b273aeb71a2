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
