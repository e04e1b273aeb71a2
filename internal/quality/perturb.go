package quality

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"

	// Decoders for the formats a set may hold (those the gallery accepts).
	_ "image/png"

	_ "golang.org/x/image/webp"
)

// Perturbation bounds: real uploads are not pre-aligned like CUFS, so the
// robustness check moves every image at random by up to ±15 % of its width
// in x and y, scales it by 0.8–1.25, rotates it by up to ±10° and pads it
// onto a canvas 1.5 times its size, so detection and alignment have work to
// do.
const (
	MaxShift    = 0.15
	MinScale    = 0.8
	MaxScale    = 1.25
	MaxRotation = 10.0 // degrees
	CanvasScale = 1.5
)

// PadColour is the canvas colour: a flat mid-grey that neither modality
// has as background (CUFS photos are blue or white, sketches white), so
// the canvas edge is a real edge the pipeline has to cope with.
var PadColour = color.RGBA{128, 128, 128, 255}

// Transform is one drawn perturbation.
type Transform struct {
	DX, DY  float64 // shift as a fraction of the source width
	Scale   float64
	Degrees float64
}

// DrawTransform draws a perturbation from rng (uniform in each bound;
// the scale log-uniform so shrinking and enlarging are equally likely).
func DrawTransform(rng *rand.Rand) Transform {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	return Transform{
		DX:      u(-MaxShift, MaxShift),
		DY:      u(-MaxShift, MaxShift),
		Scale:   math.Exp(u(math.Log(MinScale), math.Log(MaxScale))),
		Degrees: u(-MaxRotation, MaxRotation),
	}
}

// Apply renders src through t onto a canvas CanvasScale times its size,
// filled with PadColour, sampling bilinearly.
func (t Transform) Apply(src image.Image) *image.RGBA {
	b := src.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Rect, src, b.Min, draw.Src)
	w, h := float64(b.Dx()), float64(b.Dy())
	cw, ch := int(math.Round(w*CanvasScale)), int(math.Round(h*CanvasScale))
	dst := image.NewRGBA(image.Rect(0, 0, cw, ch))
	// Inverse map: canvas point → source point. The source centre lands at
	// the canvas centre plus the shift.
	cx, cy := float64(cw)/2+t.DX*w, float64(ch)/2+t.DY*w
	th := t.Degrees * math.Pi / 180
	cos, sin := math.Cos(th)/t.Scale, math.Sin(th)/t.Scale
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			px, py := float64(x)+0.5-cx, float64(y)+0.5-cy
			sx := cos*px + sin*py + w/2 - 0.5
			sy := -sin*px + cos*py + h/2 - 0.5
			dst.SetRGBA(x, y, bilinear(rgba, sx, sy))
		}
	}
	return dst
}

// bilinear samples img at (x, y) in pixel-centre coordinates; outside the
// image it blends towards PadColour.
func bilinear(img *image.RGBA, x, y float64) color.RGBA {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	at := func(px, py int) [4]float64 {
		if px < 0 || py < 0 || px >= w || py >= h {
			return [4]float64{float64(PadColour.R), float64(PadColour.G), float64(PadColour.B), 255}
		}
		o := py*img.Stride + 4*px
		p := img.Pix[o : o+4]
		return [4]float64{float64(p[0]), float64(p[1]), float64(p[2]), float64(p[3])}
	}
	if x0 < -1 || y0 < -1 || x0 >= w || y0 >= h {
		return PadColour
	}
	a, b, c, d := at(x0, y0), at(x0+1, y0), at(x0, y0+1), at(x0+1, y0+1)
	var out [4]uint8
	for i := 0; i < 4; i++ {
		v := (a[i]*(1-fx)+b[i]*fx)*(1-fy) + (c[i]*(1-fx)+d[i]*fx)*fy
		out[i] = uint8(math.Max(0, math.Min(255, math.Round(v))))
	}
	return color.RGBA{out[0], out[1], out[2], out[3]}
}

// Perturbed returns a copy of d with every photo and sketch perturbed and
// re-encoded as JPEG (quality 92). Each image's transform is drawn from a
// generator seeded by seed and the image's kind and ID, so one image's
// perturbation does not depend on which other files the set holds.
func (d *Dataset) Perturbed(seed uint64) (*Dataset, error) {
	out := &Dataset{}
	for _, set := range []struct {
		kind string
		in   []Image
		out  *[]Image
	}{{"photo", d.Photos, &out.Photos}, {"sketch", d.Sketches, &out.Sketches}} {
		for _, im := range set.in {
			src, _, err := image.Decode(bytes.NewReader(im.Data))
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", set.kind, im.ID, err)
			}
			h := fnv.New64a()
			h.Write([]byte(set.kind + "/" + im.ID))
			rng := rand.New(rand.NewPCG(seed, h.Sum64()))
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, DrawTransform(rng).Apply(src), &jpeg.Options{Quality: 92}); err != nil {
				return nil, err
			}
			*set.out = append(*set.out, Image{ID: im.ID, Ext: ".jpg", Data: buf.Bytes()})
		}
	}
	return out, nil
}
