package quality_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/quality"
)

func TestPerturbation(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 200, 250))
	for y := 0; y < 250; y++ {
		for x := 0; x < 200; x++ {
			src.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, src, nil)
	d := &quality.Dataset{Photos: []quality.Image{{ID: "a-1", Ext: ".jpg", Data: buf.Bytes()}}, Sketches: []quality.Image{{ID: "a-1", Ext: ".jpg", Data: buf.Bytes()}}}

	t.Run("Deterministic", func(t *testing.T) {
		p1, err := d.Perturbed(7)
		if err != nil {
			t.Fatal(err)
		}
		p2, _ := d.Perturbed(7)
		p3, _ := d.Perturbed(8)
		if !bytes.Equal(p1.Photos[0].Data, p2.Photos[0].Data) {
			t.Fatal("the same seed gave different images")
		}
		if bytes.Equal(p1.Photos[0].Data, p3.Photos[0].Data) {
			t.Fatal("another seed gave the same image")
		}
		if bytes.Equal(p1.Photos[0].Data, p1.Sketches[0].Data) {
			t.Fatal("photo and sketch of one person got the same perturbation")
		}
		img, _, err := image.Decode(bytes.NewReader(p1.Photos[0].Data))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := img.Bounds().Size(), image.Pt(300, 375); got != want {
			t.Fatalf("canvas %v, want %v (1.5 times the source)", got, want)
		}
	})
	t.Run("Bounds", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 2000; i++ {
			tr := quality.DrawTransform(r)
			if math.Abs(tr.DX) > quality.MaxShift || math.Abs(tr.DY) > quality.MaxShift || tr.Scale < quality.MinScale-1e-12 ||
				tr.Scale > quality.MaxScale+1e-12 || math.Abs(tr.Degrees) > quality.MaxRotation {
				t.Fatalf("transform out of bounds: %+v", tr)
			}
		}
	})
	t.Run("Geometry", func(t *testing.T) {
		// A pure shift moves the source centre by DX·width.
		tr := quality.Transform{DX: 0.1, DY: -0.05, Scale: 1, Degrees: 0}
		out := tr.Apply(src)
		// Source pixel (100,125) lands at canvas (150+20, 187.5-10).
		c := out.RGBAAt(170, 177)
		if d := math.Abs(float64(c.R)-100) + math.Abs(float64(c.G)-125); d > 3 {
			t.Fatalf("shifted centre has colour %v, want about (100,125,200)", c)
		}
		if c := out.RGBAAt(0, 0); c != quality.PadColour {
			t.Fatalf("corner %v, want the pad colour", c)
		}
	})
}
