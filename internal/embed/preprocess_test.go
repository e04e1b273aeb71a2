package embed

import (
	"errors"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// Tensors of tiny synthetic images against values computed by hand from the
// definitions in manifest.go and image.go. No ONNX Runtime needed.

func rgbaOf(w, h int, px func(x, y int) color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, px(x, y))
		}
	}
	return img
}

func spec(w, h int, layout, colour, resize, interp string) InputSpec {
	c := int64(3)
	shape := []int64{1, c, int64(h), int64(w)}
	if layout == LayoutNHWC {
		shape = []int64{1, int64(h), int64(w), c}
	}
	return InputSpec{Shape: shape, Layout: layout, Color: colour, Size: [2]int{w, h}, Resize: resize,
		Interpolation: interp, Scale: 1, Mean: []float64{0, 0, 0}, Std: []float64{1, 1, 1}}
}

func tensorOf(src *image.RGBA, s InputSpec) []float32 {
	out := make([]float32, s.Size[0]*s.Size[1]*s.channels())
	writeTensor(out, preprocess(src, &s), &s)
	return out
}

func assertClose(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > tol {
			t.Fatalf("%s: [%d] = %v, want %v (all: %v)", name, i, got[i], want[i], got)
		}
	}
}

// 2x1 -> 4x1 bilinear (triangle) upscale: source centres at output
// coordinates -0.25, 0.25, 0.75, 1.25, so the weights of (p0, p1) are
// (1,0), (.75,.25), (.25,.75), (0,1); then (v*0.5 - mean)/std.
func TestPreprocessSquashBilinearLayouts(t *testing.T) {
	src := rgbaOf(2, 1, func(x, y int) color.RGBA {
		return [2]color.RGBA{{0, 100, 200, 255}, {100, 50, 0, 255}}[x]
	})
	r := []float64{0, 25, 75, 100}
	g := []float64{100, 87.5, 62.5, 50}
	b := []float64{200, 150, 50, 0}
	mean, std := []float64{10, 20, 30}, []float64{2, 4, 5}
	norm := func(v []float64, c int) []float64 {
		out := make([]float64, len(v))
		for i := range v {
			out[i] = (v[i]*0.5 - mean[c]) / std[c]
		}
		return out
	}
	nr, ng, nb := norm(r, 0), norm(g, 1), norm(b, 2)

	t.Run("NCHW", func(t *testing.T) {
		s := spec(4, 1, LayoutNCHW, ColorRGB, ResizeSquash, InterpBilinear)
		s.Scale, s.Mean, s.Std = 0.5, mean, std
		want := append(append(append([]float64{}, nr...), ng...), nb...)
		assertClose(t, "tensor", tensorOf(src, s), want, 1e-5)
	})
	t.Run("NHWC", func(t *testing.T) {
		s := spec(4, 1, LayoutNHWC, ColorRGB, ResizeSquash, InterpBilinear)
		s.Scale, s.Mean, s.Std = 0.5, mean, std
		var want []float64
		for i := 0; i < 4; i++ {
			want = append(want, nr[i], ng[i], nb[i])
		}
		assertClose(t, "tensor", tensorOf(src, s), want, 1e-5)
	})
}

// 6x4 -> shortest side 2: virtual 3x2, crop offset round_half_even(0.5) = 0.
// Horizontal 6->3 weights (kernel widened x2): out 0 = (3,3,1)/7 over
// x 0..2, out 1 = (1,3,3,1)/8 over x 1..4; vertical 4->2: row 0 = (3,3,1)/7
// over y 0..2, row 1 = (1,3,3)/7 over y 1..3 (y 4 is outside).
// With R = 10x + 50y, G = 40y, B = 7 the result is separable.
func TestPreprocessShortestCentreCropBilinear(t *testing.T) {
	src := rgbaOf(6, 4, func(x, y int) color.RGBA {
		return color.RGBA{uint8(10*x + 50*y), uint8(40 * y), 7, 255}
	})
	X := []float64{5.0 / 7, 2.5}      // mean x of columns 0, 1
	Y := []float64{5.0 / 7, 16.0 / 7} // mean y of rows 0, 1
	var r, g, b []float64
	for _, y := range Y {
		for _, x := range X {
			r = append(r, 10*x+50*y)
			g = append(g, 40*y)
			b = append(b, 7)
		}
	}
	t.Run("NCHW", func(t *testing.T) {
		s := spec(2, 2, LayoutNCHW, ColorRGB, ResizeShortestCentreCrop, InterpBilinear)
		assertClose(t, "tensor", tensorOf(src, s), append(append(r, g...), b...), 1e-3)
	})
	t.Run("NHWC", func(t *testing.T) {
		s := spec(2, 2, LayoutNHWC, ColorRGB, ResizeShortestCentreCrop, InterpBilinear)
		var want []float64
		for i := range r {
			want = append(want, r[i], g[i], b[i])
		}
		assertClose(t, "tensor", tensorOf(src, s), want, 1e-3)
	})
	t.Run("Tall", func(t *testing.T) { // the same image turned: the crop runs along y
		tall := rgbaOf(4, 6, func(x, y int) color.RGBA { return src.RGBAAt(y, x) })
		s := spec(2, 2, LayoutNCHW, ColorRGB, ResizeShortestCentreCrop, InterpBilinear)
		got := tensorOf(tall, s)
		var want []float64
		for _, c := range [][]float64{r, g, b} { // transpose each 2x2 plane
			want = append(want, c[0], c[2], c[1], c[3])
		}
		assertClose(t, "tensor", got, want, 1e-3)
	})
}

// 2x1 -> 4x1 Catmull-Rom (a = -0.5): output 0 sits at -0.25, so p0 gets
// k(0.25) = 0.8671875 and p1 k(1.25) = -0.0703125, renormalised; output 1
// at 0.25: k(0.25) and k(0.75) = 0.2265625. Overshoot is clamped to 0..255.
func TestPreprocessSquashBicubic(t *testing.T) {
	src := rgbaOf(2, 1, func(x, y int) color.RGBA {
		return [2]color.RGBA{{100, 0, 255, 255}, {0, 100, 255, 255}}[x]
	})
	w0, w1 := 0.8671875/0.796875, -0.0703125/0.796875
	u0, u1 := 0.8671875/1.09375, 0.2265625/1.09375
	r := []float64{100 * w0, 100 * u0, 100 * u1, 100 * w1}
	g := []float64{100 * w1, 100 * u1, 100 * u0, 100 * w0}
	for i := range g {
		g[i] = math.Max(0, g[i])
		r[i] = math.Max(0, r[i])
	}
	b := []float64{255, 255, 255, 255}
	s := spec(4, 1, LayoutNCHW, ColorRGB, ResizeSquash, InterpBicubic)
	assertClose(t, "tensor", tensorOf(src, s), append(append(r, g...), b...), 1e-3)

	t.Run("IdentityWhenSameSize", func(t *testing.T) {
		s := spec(2, 1, LayoutNCHW, ColorRGB, ResizeShortestCentreCrop, InterpBicubic)
		assertClose(t, "tensor", tensorOf(src, s), []float64{100, 0, 0, 100, 255, 255}, 0)
	})
}

// Grey is the BT.601 luma, replicated to every channel; a 1-channel input
// uses mean[0]/std[0].
func TestPreprocessGrey(t *testing.T) {
	src := rgbaOf(1, 1, func(x, y int) color.RGBA { return color.RGBA{100, 50, 200, 255} })
	luma := 0.299*100 + 0.587*50 + 0.114*200 // 82.05
	t.Run("OneChannel", func(t *testing.T) {
		s := InputSpec{Shape: []int64{1, 1, 1, 1}, Layout: LayoutNCHW, Color: ColorGrey, Size: [2]int{1, 1},
			Resize: ResizeSquash, Interpolation: InterpBilinear, Scale: 1.0 / 256, Mean: []float64{0, 0, 0}, Std: []float64{1, 1, 1}}
		assertClose(t, "tensor", tensorOf(src, s), []float64{luma / 256}, 1e-6)
	})
	t.Run("ThreeChannelsReplicated", func(t *testing.T) {
		s := spec(1, 1, LayoutNHWC, ColorGrey, ResizeSquash, InterpBicubic)
		s.Scale, s.Mean, s.Std = 1.0/255, []float64{0.48145466, 0.4578275, 0.40821073}, []float64{0.26862954, 0.26130258, 0.27577711}
		var want []float64
		for c := 0; c < 3; c++ {
			want = append(want, (luma/255-s.Mean[c])/s.Std[c])
		}
		assertClose(t, "tensor", tensorOf(src, s), want, 1e-5)
	})
}

// torchvision's Resize(size) + CenterCrop(size): long side int(size*long/short),
// crop offset round((len-size)/2) with round-half-to-even.
func TestResizePlan(t *testing.T) {
	for _, tc := range []struct {
		w, h, size   int
		virtW, virtH int
		x0, y0       int
	}{
		{640, 480, 224, 298, 224, 37, 0},
		{480, 640, 224, 224, 298, 0, 37},
		{301, 224, 224, 301, 224, 38, 0}, // 38.5 -> 38
		{224, 301, 224, 224, 301, 0, 38},
		{225, 224, 224, 225, 224, 0, 0}, // 0.5 -> 0
		{227, 224, 224, 227, 224, 2, 0}, // 1.5 -> 2
		{200, 250, 112, 112, 140, 0, 14},
		{100, 100, 224, 224, 224, 0, 0},
	} {
		s := spec(tc.size, tc.size, LayoutNCHW, ColorRGB, ResizeShortestCentreCrop, InterpBicubic)
		vw, vh, win := resizePlan(tc.w, tc.h, &s)
		if vw != tc.virtW || vh != tc.virtH || win.Min != image.Pt(tc.x0, tc.y0) || win.Dx() != tc.size || win.Dy() != tc.size {
			t.Errorf("%dx%d -> %d: virtual %dx%d window %v, want %dx%d at (%d,%d)", tc.w, tc.h, tc.size, vw, vh, win, tc.virtW, tc.virtH, tc.x0, tc.y0)
		}
	}
	s := spec(320, 240, LayoutNCHW, ColorRGB, ResizeSquash, InterpBilinear)
	if vw, vh, win := resizePlan(200, 250, &s); vw != 320 || vh != 240 || win != image.Rect(0, 0, 320, 240) {
		t.Errorf("squash: %d %d %v", vw, vh, win)
	}
}

func TestFlatten(t *testing.T) {
	t.Run("AlphaOnWhite", func(t *testing.T) {
		img := image.NewNRGBA(image.Rect(5, 5, 21, 21)) // non-zero origin
		img.SetNRGBA(5, 5, color.NRGBA{0, 0, 0, 0})
		img.SetNRGBA(6, 5, color.NRGBA{0, 0, 0, 128})
		img.SetNRGBA(7, 5, color.NRGBA{255, 0, 0, 255})
		img.SetNRGBA(8, 5, color.NRGBA{0, 0, 255, 64})
		got, err := flatten(img)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rect != image.Rect(0, 0, 16, 16) {
			t.Fatalf("bounds %v", got.Rect)
		}
		for _, tc := range []struct {
			x    int
			want color.RGBA
		}{
			{0, color.RGBA{255, 255, 255, 255}},
			{1, color.RGBA{127, 127, 127, 255}},
			{2, color.RGBA{255, 0, 0, 255}},
			{3, color.RGBA{191, 191, 255, 255}},
		} {
			c := got.RGBAAt(tc.x, 0)
			for i, d := range []int{int(c.R) - int(tc.want.R), int(c.G) - int(tc.want.G), int(c.B) - int(tc.want.B)} {
				if d < -1 || d > 1 || c.A != 255 {
					t.Errorf("pixel %d channel %d: got %v, want %v", tc.x, i, c, tc.want)
				}
			}
		}
	})
	t.Run("GreyReplicated", func(t *testing.T) {
		img := image.NewGray(image.Rect(0, 0, 16, 16))
		img.SetGray(3, 4, color.Gray{77})
		got, err := flatten(img)
		if err != nil {
			t.Fatal(err)
		}
		if c := got.RGBAAt(3, 4); c != (color.RGBA{77, 77, 77, 255}) {
			t.Errorf("got %v", c)
		}
	})
	t.Run("ErrTooSmall", func(t *testing.T) {
		_, err := flatten(image.NewRGBA(image.Rect(0, 0, 15, 200)))
		if got, want := apperr.Code(err), apperr.EINVALID; got != want {
			t.Fatalf("code %q, want %q (%v)", got, want, err)
		}
		_, err = flatten(nil)
		if got, want := apperr.Code(err), apperr.EINVALID; got != want {
			t.Fatalf("nil image: code %q, want %q", got, want)
		}
	})
}

func TestMirrorAndGray(t *testing.T) {
	img := rgbf{w: 2, h: 1, pix: []float32{10, 200.4, 20, 100.6, 30, 0}} // planar: R R G G B B
	m := mirror(img)
	assertClose(t, "mirror", m.pix, []float64{200.4, 10, 100.6, 20, 0, 30}, 1e-4)
	g := toGray(img)
	if got, want := g.Pix[0], uint8(math.Round(0.299*10+0.587*20+0.114*30)); got != want {
		t.Errorf("grey[0] = %d, want %d", got, want)
	}
	if got, want := g.Pix[1], uint8(math.Round(0.299*200.4+0.587*100.6)); got != want {
		t.Errorf("grey[1] = %d, want %d", got, want)
	}
}

// A known similarity transform is recovered exactly from 5 points, and
// its inverse undoes it.
func TestSimilarity(t *testing.T) {
	th := 15 * math.Pi / 180
	s := 0.6
	a, b := s*math.Cos(th), s*math.Sin(th)
	want := affine{a: a, b: -b, c: 7, d: b, e: a, f: -3}
	inv := want.invertSimilarity()
	var src [5][2]float64
	for i, p := range arcFaceTemplate {
		src[i][0], src[i][1] = inv.apply(p[0], p[1])
	}
	got, ok := similarity(src, arcFaceTemplate)
	if !ok {
		t.Fatal("degenerate")
	}
	for _, d := range []float64{got.a - want.a, got.b - want.b, got.c - want.c, got.d - want.d, got.e - want.e, got.f - want.f} {
		if math.Abs(d) > 1e-9 {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	x, y := inv.apply(want.apply(12, 34))
	if math.Abs(x-12) > 1e-9 || math.Abs(y-34) > 1e-9 {
		t.Errorf("inverse: (%v,%v)", x, y)
	}
	if _, ok := similarity([5][2]float64{}, arcFaceTemplate); ok {
		t.Error("all points on one spot must be degenerate")
	}
}

// alignFace puts each of 5 coloured dots, drawn where a transformed face's
// points are, onto its template position; also when the face is 3x larger
// than the crop (the pre-downscale path).
func TestAlignFace(t *testing.T) {
	colours := [5]color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 0, 255}, {0, 255, 255, 255}}
	for _, tc := range []struct {
		name   string
		scale  float64 // source pixels per crop pixel
		radius int
	}{{"SameScale", 1.3, 3}, {"LargeFace", 3.2, 7}} {
		t.Run(tc.name, func(t *testing.T) {
			th := -12 * math.Pi / 180
			a, b := tc.scale*math.Cos(th), tc.scale*math.Sin(th)
			toSrc := affine{a: a, b: -b, c: 60, d: b, e: a, f: 40}
			var pts [5][2]float64
			for i, p := range arcFaceTemplate {
				pts[i][0], pts[i][1] = toSrc.apply(p[0], p[1])
			}
			src := rgbaOf(500, 500, func(x, y int) color.RGBA {
				for i, p := range pts {
					if math.Hypot(float64(x)-p[0], float64(y)-p[1]) <= float64(tc.radius) {
						return colours[i]
					}
				}
				return color.RGBA{128, 128, 128, 255}
			})
			crop, ok := alignFace(src, pts, 112)
			if !ok {
				t.Fatal("not aligned")
			}
			for i, p := range arcFaceTemplate {
				x, y := int(math.Round(p[0])), int(math.Round(p[1]))
				got := crop.at(x, y)
				c := colours[i]
				for k, want := range []uint8{c.R, c.G, c.B} {
					if math.Abs(float64(got[k])-float64(want)) > 40 {
						t.Errorf("point %d at (%d,%d): got %v, want %v", i, x, y, got, c)
						break
					}
				}
			}
		})
	}
}

func TestLandmarkCrop(t *testing.T) {
	for _, tc := range []struct {
		name string
		box  faceBox
		w, h int
		want image.Rectangle
	}{
		{"Inside", faceBox{x1: 50, y1: 60, x2: 130, y2: 160}, 300, 300, image.Rect(40, 60, 140, 160)},
		{"ShiftedInside", faceBox{x1: 0, y1: 0, x2: 40, y2: 80}, 300, 300, image.Rect(0, 0, 80, 80)},
		{"LargerThanImage", faceBox{x1: 10, y1: -50, x2: 190, y2: 290}, 200, 250, image.Rect(0, 0, 200, 250)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := landmarkCrop(tc.box, 1, tc.w, tc.h); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFivePointsAndBestFace(t *testing.T) {
	pts := make([]float64, 136)
	for i := range 68 {
		pts[2*i], pts[2*i+1] = float64(i), float64(1000+i)
	}
	got := fivePoints(pts)
	want := [5][2]float64{{38.5, 1038.5}, {44.5, 1044.5}, {30, 1030}, {48, 1048}, {54, 1054}}
	for i := range want {
		if math.Abs(got[i][0]-want[i][0]) > 1e-9 || math.Abs(got[i][1]-want[i][1]) > 1e-9 {
			t.Errorf("point %d = %v, want %v", i, got[i], want[i])
		}
	}

	scores := []float32{0.9, 0.1, 0.2, 0.8, 0.05, 0.95}
	boxes := []float32{0, 0, 0.1, 0.1, 0.25, 0.5, 0.75, 1, 0.5, 0.5, 0.625, 0.625}
	f := bestFace(scores, boxes, 200, 100)
	if f.score != 0.95 || f.x1 != 100 || f.y1 != 50 || f.x2 != 125 || f.y2 != 62.5 {
		t.Errorf("best face %+v", f)
	}
}

func TestBatchErrorUnwrap(t *testing.T) {
	inv := apperr.Errorf(apperr.EINVALID, "bad")
	err := error(&BatchError{Errs: []error{nil, inv, nil}})
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae != inv {
		t.Fatalf("errors.As did not find the image's error in %v", err)
	}
}
