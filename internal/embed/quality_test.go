package embed

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"math"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

func TestDetectionsNMS(t *testing.T) {
	// Three anchors: two on one face (overlapping), one elsewhere, one weak.
	scores := []float32{0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6, 0.4}
	boxes := []float32{
		0.10, 0.10, 0.40, 0.50,
		0.12, 0.11, 0.41, 0.52,
		0.60, 0.10, 0.90, 0.50,
		0.00, 0.00, 1.00, 1.00,
	}
	for _, c := range []struct {
		thr  float32
		want int
	}{{0.5, 2}, {0.75, 1}, {0.95, 0}, {0.3, 3}} {
		got := detections(scores, boxes, 100, 100, c.thr)
		if len(got) != c.want {
			t.Errorf("threshold %.2f: %d faces, want %d (%+v)", c.thr, len(got), c.want, got)
		}
		for i := 1; i < len(got); i++ {
			if got[i].score > got[i-1].score {
				t.Errorf("threshold %.2f: not sorted by confidence", c.thr)
			}
		}
	}
}

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		name    string
		noseX   float64
		wantYaw float64
	}{{"frontal", 50, 0}, {"turned", 60, 30}, {"turned other way", 40, -30}, {"beyond", 90, 90}} {
		var q FaceQuality
		q.geometry([5][2]float64{{30, 40}, {70, 40}, {c.noseX, 60}, {35, 80}, {65, 80}})
		if q.InterocularPx != 40 {
			t.Errorf("%s: interocular %.1f, want 40", c.name, q.InterocularPx)
		}
		if math.Abs(q.YawDeg-c.wantYaw) > 0.01 {
			t.Errorf("%s: yaw %.2f, want %.2f", c.name, q.YawDeg, c.wantYaw)
		}
	}
}

func TestLaplacianVariance(t *testing.T) {
	flat := image.NewGray(image.Rect(0, 0, 20, 20))
	draw.Draw(flat, flat.Rect, image.NewUniform(color.Gray{128}), image.Point{}, draw.Src)
	checker := image.NewGray(image.Rect(0, 0, 20, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 20; x++ {
			if (x+y)%2 == 0 {
				checker.Pix[y*20+x] = 255
			}
		}
	}
	if v := laplacianVariance(flat); v != 0 {
		t.Errorf("flat image: %v, want 0", v)
	}
	sharp := laplacianVariance(checker)
	b := imaging.Blur(checker, 1.5)
	bg := image.NewGray(b.Rect)
	draw.Draw(bg, bg.Rect, b, image.Point{}, draw.Src)
	blurred := laplacianVariance(bg)
	if !(sharp > blurred) {
		t.Errorf("sharp %v should exceed blurred %v", sharp, blurred)
	}
}

func TestCheckBox(t *testing.T) {
	b := image.Rect(0, 0, 200, 250)
	for _, c := range []struct {
		box image.Rectangle
		ok  bool
	}{
		{image.Rect(20, 30, 180, 220), true},
		{image.Rect(0, 0, 200, 250), true},
		{image.Rect(-1, 0, 100, 100), false},
		{image.Rect(100, 100, 201, 200), false},
		{image.Rect(10, 10, 20, 40), false},
		{image.Rectangle{}, false},
	} {
		err := CheckBox(c.box, b)
		if (err == nil) != c.ok {
			t.Errorf("%v: err %v, want ok=%v", c.box, err, c.ok)
		}
		if err != nil && apperr.Code(err) != apperr.EINVALID {
			t.Errorf("%v: code %s, want EINVALID", c.box, apperr.Code(err))
		}
	}
}

// nonFaces are synthetic images without a face: what a careless upload or
// a hostile one looks like.
func nonFaces() map[string]image.Image {
	out := map[string]image.Image{}
	g := image.NewRGBA(image.Rect(0, 0, 300, 300))
	for y := 0; y < 300; y++ {
		for x := 0; x < 300; x++ {
			g.Set(x, y, color.RGBA{uint8(x * 255 / 300), uint8(y * 255 / 300), 128, 255})
		}
	}
	out["gradient"] = g
	// Stripes of "text": short dark bars on paper.
	txt := image.NewRGBA(image.Rect(0, 0, 320, 240))
	draw.Draw(txt, txt.Rect, image.NewUniform(color.White), image.Point{}, draw.Src)
	for line := 0; line < 8; line++ {
		for word := 0; word < 6; word++ {
			x0, y0 := 20+word*48, 20+line*26
			draw.Draw(txt, image.Rect(x0, y0, x0+20+(word*7+line*3)%18, y0+10), image.NewUniform(color.Black), image.Point{}, draw.Src)
		}
	}
	out["text"] = txt
	// A landscape: sky, sun, hills, grass.
	ls := image.NewRGBA(image.Rect(0, 0, 400, 260))
	for y := 0; y < 260; y++ {
		for x := 0; x < 400; x++ {
			hill := 150 + 30*math.Sin(float64(x)/40)
			c := color.RGBA{120, 170, 235, 255}
			switch {
			case math.Hypot(float64(x-310), float64(y-60)) < 25:
				c = color.RGBA{250, 220, 90, 255}
			case float64(y) > hill:
				c = color.RGBA{60, uint8(110 + y%40), 50, 255}
			}
			ls.Set(x, y, c)
		}
	}
	out["landscape"] = ls
	return out
}

func TestFaceGateRealModel(t *testing.T) {
	mustInitRuntime(t)
	e := mustOpen(t, faceModelDir(t), Options{Workers: 1, IntraOpThreads: 1})
	ctx := context.Background()
	for name, img := range nonFaces() {
		em, err := e.Embed(ctx, img)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if em.FaceFound || em.Face.Found || em.Face.Faces != 0 {
			t.Errorf("%s: face found (%+v)", name, em.Face)
		}
		if !em.Face.Box.Empty() {
			t.Errorf("%s: box %v without a face", name, em.Face.Box)
		}
	}

	paths := devSample(t, 6)
	photos := paths[:6]
	var faces []image.Image
	for _, p := range photos {
		img, err := imaging.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		faces = append(faces, img)
		em, err := e.Embed(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		q := em.Face
		// CUFS photos: 200x250, eyes about 50 px apart, frontal.
		if !q.Found || q.Faces != 1 || q.Manual || q.Confidence < 0.5 {
			t.Errorf("%s: %+v, want one detected face", filepath.Base(p), q)
		}
		if q.InterocularPx < 35 || q.InterocularPx > 65 || math.Abs(q.YawDeg) > 25 || q.Sharpness <= 0 || q.InterocularPx < MinInterocularPx {
			t.Errorf("%s: implausible geometry %+v", filepath.Base(p), q)
		}
		if !q.Box.In(img.Bounds()) && !q.Box.Overlaps(img.Bounds()) {
			t.Errorf("%s: box %v outside the image", filepath.Base(p), q.Box)
		}

		// The same face marked by hand embeds (nearly) like the detection.
		box := q.Box.Intersect(img.Bounds())
		man, err := e.EmbedBox(ctx, img, box)
		if err != nil {
			t.Fatal(err)
		}
		if !man.Face.Found || !man.Face.Manual || man.Face.Confidence != 0 {
			t.Errorf("%s: hand-marked %+v", filepath.Base(p), man.Face)
		}
		if c := dot(man.Vector, em.Vector); c < 0.9 {
			t.Errorf("%s: cosine %.3f between hand-marked and detected face, want >= 0.9", filepath.Base(p), c)
		}
	}

	// Two faces side by side: both counted, the most confident used.
	two := image.NewRGBA(image.Rect(0, 0, 420, 250))
	draw.Draw(two, two.Rect, image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(two, image.Rect(0, 0, 200, 250), faces[0], image.Point{}, draw.Src)
	draw.Draw(two, image.Rect(220, 0, 420, 250), faces[1], image.Point{}, draw.Src)
	em, err := e.Embed(ctx, two)
	if err != nil {
		t.Fatal(err)
	}
	if !em.Face.Found || em.Face.Faces != 2 {
		t.Errorf("two faces: %+v", em.Face)
	}

	// A box outside the image or on a blank region is refused clearly.
	if _, err := e.EmbedBox(ctx, faces[0], image.Rect(150, 200, 260, 300)); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("box outside the image: %v, want EINVALID", err)
	}
}

// TestTinyFaceThreshold measures how an embedding degrades as the face
// shrinks (dev photos downscaled so the eyes are d px apart, compared with
// the full-size embedding) and checks that MinInterocularPx sits where the
// degradation starts: faces at the threshold keep most of their identity,
// faces at half of it lose most of it.
func TestTinyFaceThreshold(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 240 images; skipped with -short")
	}
	mustInitRuntime(t)
	e := mustOpen(t, faceModelDir(t), Options{Workers: 1, IntraOpThreads: 1})
	ctx := context.Background()
	dev := filepath.Join(sharedDir(t), "eval", "dev", "photos")
	names, _ := filepath.Glob(filepath.Join(dev, "*.jpg"))
	if len(names) < 40 {
		t.Skipf("dev photos not found in %s", dev)
	}
	var imgs []image.Image
	var full [][]float32
	var iods []float64
	for i := 0; i < 40; i++ {
		img, err := imaging.Open(names[i*len(names)/40])
		if err != nil {
			t.Fatal(err)
		}
		em, err := e.Embed(ctx, img)
		if err != nil || !em.Face.Found {
			continue
		}
		imgs, full, iods = append(imgs, img), append(full, em.Vector), append(iods, em.Face.InterocularPx)
	}
	meanCos := map[float64]float64{}
	for _, d := range []float64{24, MinInterocularPx, 12, MinInterocularPx / 2} {
		var sum float64
		n := 0
		for i, img := range imgs {
			s := d / iods[i]
			small := imaging.Resize(img, int(float64(img.Bounds().Dx())*s), 0, imaging.Lanczos)
			pad := imaging.New(max(small.Bounds().Dx(), 120), max(small.Bounds().Dy(), 120), color.White)
			pad = imaging.Paste(pad, small, image.Point{})
			em, err := e.Embed(ctx, pad)
			if err != nil {
				t.Fatal(err)
			}
			if em.Face.Found {
				sum += dot(em.Vector, full[i])
			} // a face lost to the detector counts as cosine 0
			n++
		}
		meanCos[d] = sum / float64(n)
		t.Logf("eyes %.0f px apart: mean cosine to the full-size embedding %.3f (%d faces)", d, meanCos[d], n)
	}
	if meanCos[MinInterocularPx] < 0.93 {
		t.Errorf("at the threshold (%d px) the mean cosine is %.3f: the threshold is too low", MinInterocularPx, meanCos[MinInterocularPx])
	}
	if meanCos[MinInterocularPx/2] > meanCos[MinInterocularPx]-0.2 {
		t.Errorf("half the threshold keeps cosine %.3f vs %.3f at the threshold: the threshold is higher than needed", meanCos[MinInterocularPx/2], meanCos[MinInterocularPx])
	}
}
