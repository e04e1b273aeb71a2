package testenv

// Synthetic faces (used by the browser tests and the container image test):
// clearly artificial portraits and pencil-style sketches of
// the same faces, drawn here so that screenshots of the app may be published
// (the dev evaluation faces may not). Everything is deterministic for a seed.

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/vector"
)

const synthW, synthH = 240, 300

// SynthSeed picks the people of the screenshot run.
const SynthSeed = 2026

type pt struct{ X, Y float64 }

func lerpPt(a, b pt, t float64) pt { return pt{a.X + (b.X-a.X)*t, a.Y + (b.Y-a.Y)*t} }

// quad samples a quadratic Bézier curve a→b with control c.
func quad(a, c, b pt, n int) []pt {
	out := make([]pt, 0, n+1)
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		out = append(out, lerpPt(lerpPt(a, c, t), lerpPt(c, b, t), t))
	}
	return out
}

// ellipse samples a closed ellipse (rotated by rot radians).
func ellipse(c pt, rx, ry, rot float64, n int) []pt {
	out := make([]pt, n)
	s, co := math.Sincos(rot)
	for i := range out {
		a := 2 * math.Pi * float64(i) / float64(n)
		x, y := rx*math.Cos(a), ry*math.Sin(a)
		out[i] = pt{c.X + x*co - y*s, c.Y + x*s + y*co}
	}
	return out
}

func signedArea(p []pt) float64 {
	var a float64
	for i := range p {
		j := (i + 1) % len(p)
		a += p[i].X*p[j].Y - p[j].X*p[i].Y
	}
	return a / 2
}

// addPoly adds a closed polygon to z, always with the same winding, so that
// overlapping parts of one path add up instead of cancelling.
func addPoly(z *vector.Rasterizer, p []pt) {
	if len(p) < 3 {
		return
	}
	if signedArea(p) < 0 {
		q := make([]pt, len(p))
		for i := range p {
			q[i] = p[len(p)-1-i]
		}
		p = q
	}
	z.MoveTo(float32(p[0].X), float32(p[0].Y))
	for _, v := range p[1:] {
		z.LineTo(float32(v.X), float32(v.Y))
	}
	z.ClosePath()
}

// strokePolys turns a polyline into quads and round joints of width w.
func strokePolys(line []pt, w float64) [][]pt {
	var polys [][]pt
	h := w / 2
	for i := 0; i+1 < len(line); i++ {
		a, b := line[i], line[i+1]
		dx, dy := b.X-a.X, b.Y-a.Y
		l := math.Hypot(dx, dy)
		if l < 1e-9 {
			continue
		}
		nx, ny := -dy/l*h, dx/l*h
		polys = append(polys, []pt{{a.X + nx, a.Y + ny}, {b.X + nx, b.Y + ny}, {b.X - nx, b.Y - ny}, {a.X - nx, a.Y - ny}})
	}
	for _, p := range line {
		polys = append(polys, ellipse(p, h, h, 0, 10))
	}
	return polys
}

// mask rasterizes polygons into an alpha mask of the canvas size.
func mask(polys ...[]pt) *image.Alpha {
	z := vector.NewRasterizer(synthW, synthH)
	for _, p := range polys {
		addPoly(z, p)
	}
	m := image.NewAlpha(image.Rect(0, 0, synthW, synthH))
	z.Draw(m, m.Bounds(), image.Opaque, image.Point{})
	return m
}

func strokeMask(w float64, lines ...[]pt) *image.Alpha {
	var polys [][]pt
	for _, l := range lines {
		polys = append(polys, strokePolys(l, w)...)
	}
	return mask(polys...)
}

// --- geometry shared by the photo and the sketch -------------------------

type synthEye struct {
	C        pt
	W, H, IR float64 // half-width, half-height, iris radius
}

func (e synthEye) upper() []pt {
	return quad(pt{e.C.X - e.W, e.C.Y}, pt{e.C.X, e.C.Y - 2.2*e.H}, pt{e.C.X + e.W, e.C.Y}, 16)
}
func (e synthEye) lower() []pt {
	return quad(pt{e.C.X - e.W, e.C.Y}, pt{e.C.X, e.C.Y + 1.6*e.H}, pt{e.C.X + e.W, e.C.Y}, 16)
}
func (e synthEye) shape() []pt {
	u, l := e.upper(), e.lower()
	out := append([]pt{}, u...)
	for i := len(l) - 2; i > 0; i-- {
		out = append(out, l[i])
	}
	return out
}

type synthFace struct {
	C                pt
	RX, RY           float64
	Outline          []pt // closed, forehead to chin
	HairTop          []pt // closed
	HairBack         []pt // closed, may be nil
	Crown            pt
	TempleY, ShirtY  float64
	EarL, EarR       []pt
	Neck, Shirt      []pt
	BrowL, BrowR     []pt
	BrowW            float64
	EyeL, EyeR       synthEye
	NoseSide         []pt
	NoseTip          pt
	NoseW            float64
	LipUp, LipLow    []pt // closed
	LipLine          []pt
	Moustache        []pt // closed, may be nil
	Glasses          bool
	Skin, Hair, Iris color.NRGBA
	Bg1, Bg2, Cloth  color.NRGBA
	Lip              color.NRGBA
}

var (
	skinTones  = []color.NRGBA{{241, 200, 170, 255}, {226, 176, 140, 255}, {200, 140, 100, 255}, {160, 108, 76, 255}, {118, 78, 56, 255}, {236, 192, 156, 255}}
	hairTones  = []color.NRGBA{{28, 24, 24, 255}, {68, 44, 30, 255}, {112, 76, 46, 255}, {196, 160, 98, 255}, {150, 150, 152, 255}, {136, 62, 32, 255}}
	irisTones  = []color.NRGBA{{92, 60, 36, 255}, {60, 110, 160, 255}, {80, 120, 80, 255}, {50, 38, 30, 255}}
	bgTones    = []color.NRGBA{{200, 214, 228, 255}, {222, 218, 206, 255}, {206, 222, 210, 255}, {214, 208, 226, 255}}
	clothTones = []color.NRGBA{{52, 72, 120, 255}, {150, 44, 44, 255}, {64, 96, 70, 255}, {90, 90, 96, 255}, {210, 200, 180, 255}, {40, 40, 44, 255}}
)

func uni(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// newSynthFace draws the parameters of one made-up person from seed.
func newSynthFace(seed uint64) *synthFace {
	r := rand.New(rand.NewPCG(seed, 0x5e7c4))
	f := &synthFace{}
	f.C = pt{120 + uni(r, -4, 4), 150 + uni(r, -4, 4)}
	f.RX, f.RY = uni(r, 56, 70), uni(r, 80, 92)
	jaw := uni(r, 0, 0.38)
	cx, cy, rx, ry := f.C.X, f.C.Y, f.RX, f.RY
	for i := 0; i < 72; i++ {
		a := 2 * math.Pi * float64(i) / 72
		s, c := math.Sin(a), math.Cos(a)
		w := 1.0
		if s > 0 {
			w = 1 - jaw*s*s*s
		}
		f.Outline = append(f.Outline, pt{cx + rx*c*w, cy + ry*s})
	}
	f.Skin = skinTones[r.IntN(len(skinTones))]
	f.Hair = hairTones[r.IntN(len(hairTones))]
	f.Iris = irisTones[r.IntN(len(irisTones))]
	f.Bg1 = bgTones[r.IntN(len(bgTones))]
	f.Bg2 = color.NRGBA{uint8(float64(f.Bg1.R) * 0.8), uint8(float64(f.Bg1.G) * 0.8), uint8(float64(f.Bg1.B) * 0.8), 255}
	f.Cloth = clothTones[r.IntN(len(clothTones))]
	f.Lip = color.NRGBA{uint8(math.Min(255, float64(f.Skin.R)*0.85+30)), uint8(float64(f.Skin.G) * 0.62), uint8(float64(f.Skin.B) * 0.62), 255}

	// Eyes, brows.
	ey := cy - ry*uni(r, 0.02, 0.12)
	edx := rx * uni(r, 0.38, 0.48)
	ew := rx * uni(r, 0.2, 0.27)
	eh := ew * uni(r, 0.38, 0.55)
	f.EyeL = synthEye{C: pt{cx - edx, ey}, W: ew, H: eh, IR: math.Min(eh*1.05, ew*0.55)}
	f.EyeR = synthEye{C: pt{cx + edx, ey}, W: ew, H: eh, IR: f.EyeL.IR}
	by := ey - eh - uni(r, 7, 14)
	arch := uni(r, 2, 7)
	tilt := uni(r, -4, 4)
	bw := ew * uni(r, 1.1, 1.35)
	f.BrowW = uni(r, 3, 6.5)
	f.BrowL = quad(pt{cx - edx + bw, by + 1}, pt{cx - edx, by - arch}, pt{cx - edx - bw, by + tilt}, 12)
	f.BrowR = quad(pt{cx + edx - bw, by + 1}, pt{cx + edx, by - arch}, pt{cx + edx + bw, by + tilt}, 12)

	// Nose, mouth.
	tipY := cy + ry*uni(r, 0.24, 0.36)
	f.NoseW = rx * uni(r, 0.17, 0.27)
	f.NoseTip = pt{cx, tipY}
	f.NoseSide = quad(pt{cx - ew*0.35, ey + eh}, pt{cx - f.NoseW*0.55, (ey+tipY)/2 + 6}, pt{cx - f.NoseW*0.8, tipY - 2}, 12)
	my := cy + ry*uni(r, 0.52, 0.62)
	mw := rx * uni(r, 0.3, 0.45)
	up, low := uni(r, 2.5, 6), uni(r, 3.5, 8)
	smile := uni(r, -2, 3.5)
	line := quad(pt{cx - mw, my - smile}, pt{cx, my + smile}, pt{cx + mw, my - smile}, 16)
	f.LipLine = line
	upper := quad(pt{cx - mw, my - smile}, pt{cx, my + smile - 2*up - 2}, pt{cx + mw, my - smile}, 16)
	lower := quad(pt{cx - mw, my - smile}, pt{cx, my + smile + 2*low}, pt{cx + mw, my - smile}, 16)
	f.LipUp = closeShape(upper, line)
	f.LipLow = closeShape(lower, line)
	if r.IntN(5) == 0 {
		mt := my - smile - up - 2
		f.Moustache = closeShape(
			quad(pt{cx - mw - 3, mt + 6}, pt{cx, mt - 14}, pt{cx + mw + 3, mt + 6}, 16),
			quad(pt{cx - mw - 3, mt + 6}, pt{cx, mt - 2}, pt{cx + mw + 3, mt + 6}, 16))
	}
	f.Glasses = r.IntN(4) == 0

	// Ears, neck, shirt.
	f.EarL = ellipse(pt{cx - rx*0.98, (ey + tipY) / 2}, 8, (tipY-ey)/2+8, 0.1, 24)
	f.EarR = ellipse(pt{cx + rx*0.98, (ey + tipY) / 2}, 8, (tipY-ey)/2+8, -0.1, 24)
	nw := rx * uni(r, 0.48, 0.62)
	f.Neck = []pt{{cx - nw, cy + ry*0.4}, {cx + nw, cy + ry*0.4}, {cx + nw*1.05, synthH}, {cx - nw*1.05, synthH}}
	sy := cy + ry + uni(r, 16, 26)
	f.ShirtY = sy
	f.Shirt = append(quad(pt{-10, synthH}, pt{-4, sy + 6}, pt{cx - nw - 6, sy}, 10),
		pt{cx, sy + 30}, pt{cx + nw + 6, sy})
	f.Shirt = append(f.Shirt, quad(pt{cx + nw + 6, sy}, pt{synthW + 4, sy + 6}, pt{synthW + 10, synthH}, 10)...)

	// Hair: a cap over the head down to a hairline; styles vary it.
	style := r.IntN(5)
	bulk := uni(r, 1.04, 1.12)
	hairline := cy - ry*uni(r, 0.45, 0.62)
	side := ey - uni(r, 4, 14)
	f.TempleY = side
	part := uni(r, -0.4, 0.4)
	switch style {
	case 1: // receding
		hairline = cy - ry*uni(r, 0.72, 0.82)
		bulk = uni(r, 1.02, 1.05)
	case 2: // curly, big
		bulk = uni(r, 1.2, 1.3)
	case 3: // long
		f.HairBack = closeShape(
			quad(pt{cx - rx*1.22, cy + ry*0.95}, pt{cx, cy - ry*1.75}, pt{cx + rx*1.22, cy + ry*0.95}, 24),
			[]pt{{cx - rx*1.22, cy + ry*0.95}, {cx + rx*1.22, cy + ry*0.95}})
	}
	f.Crown = pt{cx, cy - ry*bulk}
	var cap []pt
	for i := 0; i <= 40; i++ {
		a := math.Pi + math.Pi*float64(i)/40
		rr := 1.0
		if style == 2 {
			rr = 1 + 0.05*math.Sin(a*13)
		}
		cap = append(cap, pt{cx + rx*bulk*1.03*rr*math.Cos(a), side + (f.Crown.Y-side)*rr*math.Abs(math.Sin(a))})
	}
	// Hairline: from the right temple back to the left one, through a parting.
	right, left := pt{cx + rx*0.96, side}, pt{cx - rx*0.96, side}
	mid := pt{cx + part*rx, hairline - 10}
	hl := quad(right, pt{cx + rx*0.9, hairline}, mid, 10)
	hl = append(hl, quad(mid, pt{cx - rx*0.9, hairline}, left, 10)[1:]...)
	f.HairTop = append(cap, hl...)
	return f
}

// closeShape joins curve a (start→end) and curve b (same start and end) into
// one closed polygon.
func closeShape(a, b []pt) []pt {
	out := append([]pt{}, a...)
	for i := len(b) - 2; i > 0; i-- {
		out = append(out, b[i])
	}
	return out
}

// --- photo -----------------------------------------------------------------

func fill(img *image.RGBA, c color.NRGBA, polys ...[]pt) {
	z := vector.NewRasterizer(synthW, synthH)
	for _, p := range polys {
		addPoly(z, p)
	}
	z.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{})
}

func stroke(img *image.RGBA, c color.NRGBA, w float64, lines ...[]pt) {
	var polys [][]pt
	for _, l := range lines {
		polys = append(polys, strokePolys(l, w)...)
	}
	fill(img, c, polys...)
}

func shade(c color.NRGBA, f float64) color.NRGBA {
	cl := func(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v))) }
	return color.NRGBA{cl(float64(c.R) * f), cl(float64(c.G) * f), cl(float64(c.B) * f), c.A}
}

// blendMask paints colour fn(x, y) through mask m.
func blendMask(img *image.RGBA, m *image.Alpha, fn func(x, y int) color.NRGBA) {
	for y := 0; y < synthH; y++ {
		for x := 0; x < synthW; x++ {
			a := float64(m.AlphaAt(x, y).A) / 255
			if a == 0 {
				continue
			}
			c := fn(x, y)
			ca := a * float64(c.A) / 255
			o := img.RGBAAt(x, y)
			img.SetRGBA(x, y, color.RGBA{
				uint8(float64(o.R)*(1-ca) + float64(c.R)*ca),
				uint8(float64(o.G)*(1-ca) + float64(c.G)*ca),
				uint8(float64(o.B)*(1-ca) + float64(c.B)*ca), 255})
		}
	}
}

// synthPhoto renders f as a flat-shaded colour "photo".
func synthPhoto(f *synthFace) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, synthW, synthH))
	for y := 0; y < synthH; y++ {
		t := float64(y) / synthH
		c := color.NRGBA{
			uint8(float64(f.Bg1.R)*(1-t) + float64(f.Bg2.R)*t),
			uint8(float64(f.Bg1.G)*(1-t) + float64(f.Bg2.G)*t),
			uint8(float64(f.Bg1.B)*(1-t) + float64(f.Bg2.B)*t), 255}
		for x := 0; x < synthW; x++ {
			img.SetRGBA(x, y, color.RGBA{c.R, c.G, c.B, 255})
		}
	}
	if f.HairBack != nil {
		fill(img, shade(f.Hair, 0.85), f.HairBack)
	}
	fill(img, shade(f.Skin, 0.82), f.Neck)
	// Shadow under the chin on the neck.
	fill(img, color.NRGBA{0, 0, 0, 50}, ellipse(pt{f.C.X, f.C.Y + f.RY*0.92}, f.RX*0.6, 14, 0, 32))
	fill(img, f.Cloth, f.Shirt)
	stroke(img, shade(f.Cloth, 0.7), 3, f.Shirt[9:len(f.Shirt)-9])
	fill(img, shade(f.Skin, 0.9), f.EarL, f.EarR)
	stroke(img, shade(f.Skin, 0.7), 1.5, f.EarL, f.EarR)
	// Face: lit from the upper left, darker towards the rim.
	face := mask(f.Outline)
	blendMask(img, face, func(x, y int) color.NRGBA {
		nx, ny := (float64(x)-f.C.X)/f.RX, (float64(y)-f.C.Y)/f.RY
		r2 := nx*nx + ny*ny
		l := 1.02 - 0.1*nx - 0.06*ny - 0.22*r2*r2
		return shade(f.Skin, l)
	})
	// Cheeks, eye sockets.
	fill(img, color.NRGBA{200, 80, 80, 28}, ellipse(pt{f.EyeL.C.X - 2, f.NoseTip.Y - 4}, f.RX*0.22, f.RY*0.1, 0, 32), ellipse(pt{f.EyeR.C.X + 2, f.NoseTip.Y - 4}, f.RX*0.22, f.RY*0.1, 0, 32))
	for _, e := range []synthEye{f.EyeL, f.EyeR} {
		fill(img, color.NRGBA{60, 30, 20, 30}, ellipse(pt{e.C.X, e.C.Y - e.H*0.6}, e.W*1.35, e.H*2.1, 0, 32))
	}
	if f.HairBack == nil {
		fill(img, shade(f.Hair, 0.9), f.HairTop)
	} else {
		fill(img, f.Hair, f.HairTop)
	}
	stroke(img, f.Hair, f.BrowW, f.BrowL, f.BrowR)
	for _, e := range []synthEye{f.EyeL, f.EyeR} {
		fill(img, color.NRGBA{246, 244, 240, 255}, e.shape())
		iris := ellipse(e.C, e.IR, e.IR, 0, 24)
		fill(img, f.Iris, iris)
		fill(img, color.NRGBA{12, 10, 10, 255}, ellipse(e.C, e.IR*0.45, e.IR*0.45, 0, 16))
		fill(img, color.NRGBA{255, 255, 255, 220}, ellipse(pt{e.C.X - e.IR*0.35, e.C.Y - e.IR*0.35}, 1.4, 1.4, 0, 8))
		stroke(img, color.NRGBA{40, 26, 22, 255}, 2.2, e.upper())
		stroke(img, color.NRGBA{90, 60, 50, 140}, 1, e.lower())
	}
	// Nose: a shadow along one side, nostrils, a highlight on the tip.
	stroke(img, shade(f.Skin, 0.72), 2.4, f.NoseSide)
	fill(img, shade(f.Skin, 0.8), ellipse(pt{f.NoseTip.X + f.NoseW*0.15, f.NoseTip.Y + 1}, f.NoseW*0.9, 5, 0, 24))
	fill(img, shade(f.Skin, 1.08), ellipse(pt{f.NoseTip.X - 1, f.NoseTip.Y - 3}, f.NoseW*0.35, 3.2, 0, 16))
	for _, s := range []float64{-1, 1} {
		fill(img, color.NRGBA{70, 40, 32, 255}, ellipse(pt{f.NoseTip.X + s*f.NoseW*0.45, f.NoseTip.Y + 2.5}, 3.2, 1.8, s*0.3, 12))
	}
	fill(img, shade(f.Lip, 0.9), f.LipUp)
	fill(img, f.Lip, f.LipLow)
	stroke(img, shade(f.Lip, 0.55), 1.6, f.LipLine)
	if f.Moustache != nil {
		fill(img, shade(f.Hair, 0.95), f.Moustache)
	}
	if f.Glasses {
		drawGlasses(func(w float64, l []pt) { stroke(img, color.NRGBA{30, 30, 34, 255}, w, l) }, f)
	}
	return img
}

func drawGlasses(line func(w float64, l []pt), f *synthFace) {
	var rims [][]pt
	for _, e := range []synthEye{f.EyeL, f.EyeR} {
		rim := ellipse(pt{e.C.X, e.C.Y + 1}, e.W*1.45, e.H*2.6, 0, 32)
		rims = append(rims, append(rim, rim[0]))
	}
	line(2.4, rims[0])
	line(2.4, rims[1])
	line(2.2, quad(pt{f.EyeL.C.X + f.EyeL.W*1.45, f.EyeL.C.Y}, pt{f.C.X, f.EyeL.C.Y - 6}, pt{f.EyeR.C.X - f.EyeR.W*1.45, f.EyeR.C.Y}, 8))
	line(2.2, []pt{{f.EyeL.C.X - f.EyeL.W*1.45, f.EyeL.C.Y - 2}, {f.C.X - f.RX*0.98, f.EyeL.C.Y - 5}})
	line(2.2, []pt{{f.EyeR.C.X + f.EyeR.W*1.45, f.EyeR.C.Y - 2}, {f.C.X + f.RX*0.98, f.EyeR.C.Y - 5}})
}

// --- sketch ----------------------------------------------------------------

// inkLayer accumulates graphite: 0 = bare paper, 1 = fully dark.
type inkLayer struct {
	v    []float64
	r    *rand.Rand
	hide *image.Alpha // while set, nothing is drawn where it is opaque
}

func (l *inkLayer) add(m *image.Alpha, w float64, pattern func(x, y int) float64) {
	for y := 0; y < synthH; y++ {
		for x := 0; x < synthW; x++ {
			a := float64(m.AlphaAt(x, y).A) / 255
			if l.hide != nil {
				a *= 1 - float64(l.hide.AlphaAt(x, y).A)/255
			}
			if a == 0 {
				continue
			}
			p := 1.0
			if pattern != nil {
				p = pattern(x, y)
			}
			i := y*synthW + x
			l.v[i] = 1 - (1-l.v[i])*(1-math.Min(1, w*a*p))
		}
	}
}

// jitter moves each point a little, as a hand does.
func (l *inkLayer) jitter(line []pt, amt float64) []pt {
	out := make([]pt, len(line))
	for i, p := range line {
		out[i] = pt{p.X + (l.r.Float64()-0.5)*amt, p.Y + (l.r.Float64()-0.5)*amt}
	}
	return out
}

// pencil draws a line twice with a slightly different hand each time.
func (l *inkLayer) pencil(w, dark float64, lines ...[]pt) {
	for pass := 0; pass < 2; pass++ {
		var js [][]pt
		for _, ln := range lines {
			js = append(js, l.jitter(ln, 1.2))
		}
		l.add(strokeMask(w, js...), dark*0.6, nil)
	}
}

func hatch(angle, spacing, width float64) func(x, y int) float64 {
	s, c := math.Sincos(angle)
	return func(x, y int) float64 {
		d := math.Mod(float64(x)*c+float64(y)*s, spacing)
		if d < 0 {
			d += spacing
		}
		return math.Max(0, 1-math.Abs(d-spacing/2)/width)
	}
}

func lum(c color.NRGBA) float64 {
	return (0.3*float64(c.R) + 0.59*float64(c.G) + 0.11*float64(c.B)) / 255
}

// synthSketch renders f as a grey pencil drawing on paper.
func synthSketch(f *synthFace, seed uint64) image.Image {
	l := &inkLayer{v: make([]float64, synthW*synthH), r: rand.New(rand.NewPCG(seed, 0x5ce7c4))}
	hairDark := 0.35 + 0.55*(1-lum(f.Hair))
	// Hair: strands that fan out from the crown.
	radial := func(x, y int) float64 {
		t := math.Max(0, (float64(y)-f.Crown.Y)/f.RY)
		u := (float64(x) - f.C.X) / (0.35 + 0.9*t)
		u += 1.5 * math.Sin(float64(y)*0.08+u*0.05)
		v := math.Mod(u/3.2+1000, 1)
		return math.Max(0, 1-math.Abs(v-0.5)*3.4)
	}
	// What is behind the head is hidden by the face and the hair on top.
	faceM := mask(f.Outline, f.HairTop)
	l.hide = faceM
	if f.HairBack != nil {
		l.add(mask(f.HairBack), hairDark*0.7, radial)
		l.pencil(1.3, 0.8, append(f.HairBack, f.HairBack[0]))
	}
	// Neck and shoulders.
	l.pencil(1.2, 0.7, []pt{f.Neck[0], {f.Neck[3].X, f.ShirtY + 4}}, []pt{f.Neck[1], {f.Neck[2].X, f.ShirtY + 4}})
	l.pencil(1.3, 0.8, f.Shirt)
	l.add(mask(f.Shirt), 0.35*(1-lum(f.Cloth))+0.08, hatch(0.8, 5, 1.1))
	l.add(mask(ellipse(pt{f.C.X, f.C.Y + f.RY*0.95}, f.RX*0.6, 14, 0, 32)), 0.35, hatch(-0.7, 3.5, 1.2))
	l.pencil(1.1, 0.8, append(f.EarL, f.EarL[0]), append(f.EarR, f.EarR[0]))
	l.hide = nil
	// Face: outline below the hair, shading on the right side and the rim.
	var jawLine []pt
	for i := range f.Outline {
		if p := f.Outline[(i+54)%len(f.Outline)]; p.Y > f.TempleY-4 {
			jawLine = append(jawLine, p)
		}
	}
	l.pencil(1.2, 0.85, jawLine)
	hx := hatch(-0.9, 4, 1.0)
	l.add(mask(f.Outline), 0.55*(1-lum(f.Skin))+0.1, func(x, y int) float64 {
		nx, ny := (float64(x)-f.C.X)/f.RX, (float64(y)-f.C.Y)/f.RY
		r2 := nx*nx + ny*ny
		return math.Max(0, math.Min(1, 0.9*nx+1.2*r2*r2-0.5)) * hx(x, y)
	})
	// Hair on top.
	l.add(mask(f.HairTop), hairDark, radial)
	l.add(mask(f.HairTop), hairDark*0.25, nil)
	l.pencil(1.2, 0.9, append(f.HairTop, f.HairTop[0]))
	// Brows: many short hairs along the brow line.
	for _, b := range [][]pt{f.BrowL, f.BrowR} {
		var hairs [][]pt
		for i := 0; i+1 < len(b); i++ {
			for k := 0; k < 3; k++ {
				p := lerpPt(b[i], b[i+1], l.r.Float64())
				o := (l.r.Float64() - 0.5) * f.BrowW
				hairs = append(hairs, []pt{{p.X - 2, p.Y + o + 1.5}, {p.X + 2, p.Y + o - 1.5}})
			}
		}
		l.add(strokeMask(1, hairs...), 0.55+0.3*hairDark, nil)
		l.pencil(f.BrowW*0.5, 0.5, b)
	}
	// Eyes.
	for _, e := range []synthEye{f.EyeL, f.EyeR} {
		l.pencil(1.6, 1, e.upper())
		l.pencil(1, 0.6, e.lower())
		l.add(mask(ellipse(e.C, e.IR, e.IR, 0, 24)), 0.5+0.4*(1-lum(f.Iris)), hatch(0.3, 2.2, 0.9))
		l.pencil(1, 0.8, append(ellipse(e.C, e.IR, e.IR, 0, 24), pt{e.C.X + e.IR, e.C.Y}))
		l.add(mask(ellipse(e.C, e.IR*0.45, e.IR*0.45, 0, 16)), 1, nil)
		l.pencil(0.9, 0.35, quad(pt{e.C.X - e.W*0.9, e.C.Y - e.H*1.6}, pt{e.C.X, e.C.Y - e.H*2.9}, pt{e.C.X + e.W*0.9, e.C.Y - e.H*1.6}, 12))
	}
	// Nose.
	l.pencil(1.1, 0.7, f.NoseSide)
	l.pencil(1.1, 0.85, quad(pt{f.NoseTip.X - f.NoseW, f.NoseTip.Y - 2}, pt{f.NoseTip.X, f.NoseTip.Y + 8}, pt{f.NoseTip.X + f.NoseW, f.NoseTip.Y - 2}, 12))
	for _, s := range []float64{-1, 1} {
		l.add(mask(ellipse(pt{f.NoseTip.X + s*f.NoseW*0.45, f.NoseTip.Y + 2.5}, 3, 1.6, s*0.3, 12)), 0.9, nil)
	}
	// Mouth.
	l.pencil(1.5, 1, f.LipLine)
	l.pencil(1, 0.6, append(f.LipUp, f.LipUp[0]))
	l.add(mask(f.LipUp), 0.4, hatch(0.2, 2.5, 0.9))
	l.add(mask(f.LipLow), 0.18, hatch(0.2, 3.5, 0.9))
	if f.Moustache != nil {
		l.add(mask(f.Moustache), hairDark, hatch(1.2, 2.5, 0.9))
	}
	if f.Glasses {
		drawGlasses(func(w float64, ln []pt) { l.pencil(w*0.6, 0.9, ln) }, f)
	}
	img := image.NewGray(image.Rect(0, 0, synthW, synthH))
	for i, v := range l.v {
		paper := 244 + (l.r.Float64()-0.5)*8
		g := paper*(1-v) + 52*v
		img.Pix[i] = uint8(math.Max(0, math.Min(255, g)))
	}
	return img
}

func encodeJPEG(tb testing.TB, img image.Image, path string) {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// SynthSet writes n synthetic people to dir as photo-NN.jpg and
// sketch-NN.jpg and returns the paths.
func SynthSet(tb testing.TB, dir string, n int, seed uint64) (photos, sketches []string) {
	tb.Helper()
	for i := 0; i < n; i++ {
		f := newSynthFace(seed + uint64(i)*7919)
		p := filepath.Join(dir, "photo-"+twoDigits(i+1)+".jpg")
		s := filepath.Join(dir, "sketch-"+twoDigits(i+1)+".jpg")
		encodeJPEG(tb, synthPhoto(f), p)
		encodeJPEG(tb, synthSketch(f, seed+uint64(i)), s)
		photos, sketches = append(photos, p), append(sketches, s)
	}
	return photos, sketches
}

func twoDigits(n int) string {
	return string([]byte{byte('0' + n/10%10), byte('0' + n%10)})
}
