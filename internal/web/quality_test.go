package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/domain"
	"github.com/sketchmatch/sketchmatch/internal/quality"
	"github.com/sketchmatch/sketchmatch/internal/quality/qualitytest"
)

// calibrationForm builds the multipart body of POST /admin/quality/calibrate.
func calibrationForm(t testing.TB, source string, photos, sketches map[string][]byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("source", source)
	for field, files := range map[string]map[string][]byte{"photos": photos, "sketches": sketches} {
		for name, data := range files {
			fw, _ := mw.CreateFormFile(field, name)
			fw.Write(data)
		}
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (c *client) postCalibration(source string, photos, sketches map[string][]byte) (*http.Response, string) {
	body, ctype := calibrationForm(c.e.t, source, photos, sketches)
	req, _ := http.NewRequest(http.MethodPost, c.e.ts.URL+"/admin/quality/calibrate", body)
	req.Header.Set("Content-Type", ctype)
	return c.do(req)
}

func TestQualityPage(t *testing.T) {
	e := newEnvWith(t, nil, qualitytest.Encoder{ID: "fake"})
	admin := mustLogin(t, e, "alice")

	t.Run("AdminOnly", func(t *testing.T) {
		officer := mustLogin(t, e, "bob")
		if resp, _ := officer.get("/admin/quality"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("officer GET: status %d, want 403", resp.StatusCode)
		}
		if resp, _ := officer.postCalibration("x", nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("officer POST: status %d, want 403", resp.StatusCode)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		resp, body := admin.get("/admin/quality")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for _, want := range []string{"No calibration: searches run uncentred", "No evaluation of <code>fake</code> yet", `action="/admin/quality/calibrate"`} {
			if !strings.Contains(body, want) {
				t.Fatalf("page lacks %q", want)
			}
		}
	})

	t.Run("ECalibrationUnpaired", func(t *testing.T) {
		photos, sketches := map[string][]byte{}, map[string][]byte{}
		for i := 0; i < 25; i++ {
			photos[fmt.Sprintf("p%02d.png", i)] = qualitytest.Photo(i)
			sketches[fmt.Sprintf("s%02d.png", i)] = qualitytest.Sketch(i)
		}
		resp, body := admin.postCalibration("", photos, sketches)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Only 0 photo/sketch pairs have matching file names") {
			t.Fatalf("status %d, body lacks the pairing message", resp.StatusCode)
		}
	})

	t.Run("Calibrate", func(t *testing.T) {
		photos, sketches := map[string][]byte{}, map[string][]byte{}
		for i := 0; i < 24; i++ {
			name := fmt.Sprintf("%04d.png", i+1)
			photos[name], sketches[name] = qualitytest.Photo(i), qualitytest.Sketch(i)
		}
		sketches["extra.png"] = qualitytest.Sketch(99)
		resp, body := admin.postCalibration("unit training set <b>", photos, sketches)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for _, want := range []string{"Calibration #1 stored", "means: photo and sketch mean of 24 pairs", "rank-1 on the calibration set",
			"1 sketches had no photo of the same name", "unit training set &lt;b&gt;"} {
			if !strings.Contains(body, want) {
				t.Fatalf("response lacks %q", want)
			}
		}
		if c := e.gal.Calibration(); !c.Active || c.ID != 1 || c.NPairs != 24 {
			t.Fatalf("gallery calibration %+v", c)
		}
		if acts := strings.Join(auditActions(t, e.db), " "); !strings.Contains(acts, "calibration:success") {
			t.Fatalf("audit trail lacks the calibration: %s", acts)
		}
		_, body = admin.get("/admin/quality")
		if !strings.Contains(body, "#1 from 24 pairs (unit training set &lt;b&gt;)") {
			t.Fatal("the page does not show the calibration in use")
		}
	})

	t.Run("LatestEvaluation", func(t *testing.T) {
		s := 0.7
		rep := &quality.Report{ModelID: "fake", K: 50, HOGWeight: 1.5, Calibration: "2-fold", GallerySize: 2, N: 2, RankOne: 0.5, RankFive: 1, RankTen: 1,
			CMC: []float64{0.5, 1}, Subsets: []quality.Subset{{Prefix: "cuhk", N: 2, RankOne: 0.5, RankFive: 1, RankTen: 1}},
			Probes: []quality.Probe{{ID: "cuhk-1", Rank: 1, Score: &s}, {ID: "cuhk-2", Rank: 2, Score: &s}}}
		js, _ := json.Marshal(rep)
		png := []byte("\x89PNG\r\n\x1a\nnot really")
		er := &domain.EvalReport{ModelID: "fake", Summary: rep.Summary(), Report: string(js), PlotPNG: png}
		if err := e.db.InsertEvalReport(context.Background(), er); err != nil {
			t.Fatal(err)
		}
		// A newer report of another model is not shown.
		if err := e.db.InsertEvalReport(context.Background(), &domain.EvalReport{ModelID: "other", Summary: "rank-1 0.001", Report: "{}"}); err != nil {
			t.Fatal(err)
		}
		_, body := admin.get("/admin/quality")
		for _, want := range []string{rep.Summary(), fmt.Sprintf("/admin/quality/reports/%d/plot.png", er.ID), "2-fold calibration", "<td>cuhk</td>"} {
			if !strings.Contains(body, want) {
				t.Fatalf("page lacks %q", want)
			}
		}
		if strings.Contains(body, "rank-1 0.001") {
			t.Fatal("the page shows another model's report")
		}
		resp, got := admin.get(fmt.Sprintf("/admin/quality/reports/%d/plot.png", er.ID))
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || got != string(png) {
			t.Fatalf("plot: status %d, type %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
		}
		if resp, _ := admin.get("/admin/quality/reports/999/plot.png"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("plot of a missing report: status %d", resp.StatusCode)
		}
	})
}
