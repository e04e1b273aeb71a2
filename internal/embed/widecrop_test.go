package embed

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// TestWideCrop: with the five points already on the ArcFace template, the
// tight crop is the image itself and the wide crop is the image shrunk by
// WideCropShrink about the centre (output pixel c + s·(x − c) shows source
// pixel x), so it reaches beyond the tight crop.
func TestWideCrop(t *testing.T) {
	const size = 112
	src := image.NewRGBA(image.Rect(0, 0, 400, 400))
	// A smooth pattern, offset so that the 112 px template square sits at
	// (off, off) in a larger image that has content around it.
	const off = 144
	val := func(x, y float64) float64 { return 128 + 100*math.Sin(x/9)*math.Cos(y/13) }
	for y := 0; y < 400; y++ {
		for x := 0; x < 400; x++ {
			v := uint8(val(float64(x-off), float64(y-off)))
			src.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	var pts [5][2]float64
	for i, p := range arcFaceTemplate {
		pts[i] = [2]float64{p[0] + off, p[1] + off}
	}
	tight, ok := alignFace(src, pts, size)
	if !ok {
		t.Fatal("alignFace failed")
	}
	same, _ := alignFaceTo(src, pts, size, 1)
	for i := range tight.pix {
		if tight.pix[i] != same.pix[i] {
			t.Fatal("alignFaceTo with shrink 1 differs from alignFace")
		}
	}
	wide, ok := alignFaceTo(src, pts, size, WideCropShrink)
	if !ok {
		t.Fatal("wide crop failed")
	}
	g := wide.plane(0)
	for _, c := range []struct{ x, y int }{{56, 56}, {20, 30}, {100, 90}, {0, 0}, {111, 111}} {
		// Output pixel c shows template point 56 + (c − 56)/s.
		sx := 56 + (float64(c.x)-56)/WideCropShrink
		sy := 56 + (float64(c.y)-56)/WideCropShrink
		want := val(sx, sy)
		if got := float64(g[c.y*size+c.x]); math.Abs(got-want) > 12 {
			t.Errorf("wide crop at (%d, %d) = %.0f, want about %.0f (template point %.0f, %.0f)", c.x, c.y, got, want, sx, sy)
		}
	}
}
