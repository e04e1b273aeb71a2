package embed

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// minSide is the smallest width or height accepted: below it no network
// here sees anything useful, and the caller gets EINVALID.
const minSide = 16

// rgbf is an RGB image in float32, planar (all R, then all G, then all B,
// each row-major), values 0..255 (not rounded: resampling and warping keep
// their fractions until the tensor is written). Planar so that NCHW tensors
// and the resampling passes run over contiguous memory.
type rgbf struct {
	w, h int
	pix  []float32
}

func newRGBF(w, h int) rgbf { return rgbf{w: w, h: h, pix: make([]float32, w*h*3)} }

// plane is channel c (0 R, 1 G, 2 B).
func (m rgbf) plane(c int) []float32 { n := m.w * m.h; return m.pix[c*n : (c+1)*n : (c+1)*n] }

// at is the (r, g, b) of pixel (x, y).
func (m rgbf) at(x, y int) [3]float32 {
	n, i := m.w*m.h, y*m.w+x
	return [3]float32{m.pix[i], m.pix[n+i], m.pix[2*n+i]}
}

// flatten returns img as an opaque RGBA image with its origin at (0, 0):
// transparent pixels are composited over white (a sketch on a transparent
// background is a sketch on paper), greyscale is replicated to R, G and B.
// EXIF orientation is the decoder's job and has been applied already.
func flatten(img image.Image) (*image.RGBA, error) {
	if img == nil {
		return nil, apperr.Errorf(apperr.EINVALID, "No image was given.")
	}
	b := img.Bounds()
	if b.Dx() < minSide || b.Dy() < minSide {
		return nil, apperr.Errorf(apperr.EINVALID, "The image is too small (%dx%d pixels); at least %dx%d is needed.", b.Dx(), b.Dy(), minSide, minSide)
	}
	opaque := false
	if o, ok := img.(interface{ Opaque() bool }); ok {
		opaque = o.Opaque()
	}
	if r, ok := img.(*image.RGBA); ok && opaque && b.Min == (image.Point{}) {
		return r, nil
	}
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	if opaque {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
		return dst, nil
	}
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	return dst, nil
}

// kernel is a resampling filter: weight as a function of distance in
// source pixels (at scale 1), and its support.
type kernel struct {
	name    string
	support float64
	at      func(x float64) float64
}

var (
	triangleKernel = kernel{InterpBilinear, 1, func(x float64) float64 {
		x = math.Abs(x)
		if x < 1 {
			return 1 - x
		}
		return 0
	}}
	// Catmull-Rom, the cubic convolution with a = -0.5 (PIL's BICUBIC).
	catmullRomKernel = kernel{InterpBicubic, 2, func(x float64) float64 {
		x = math.Abs(x)
		switch {
		case x < 1:
			return (1.5*x-2.5)*x*x + 1
		case x < 2:
			return ((-0.5*x+2.5)*x-4)*x + 2
		}
		return 0
	}}
)

func kernelFor(interp string) kernel {
	if interp == InterpBicubic {
		return catmullRomKernel
	}
	return triangleKernel
}

// span is the source samples of one output sample: indices start,
// start+1, ... with weights w (normalised to sum 1).
type span struct {
	start int
	w     []float32
}

// resampleWeights gives, for each of dstSize output samples, the source
// samples and normalised weights. Pixel centres are aligned (source
// coordinate of output v is (v+0.5)*src/dst - 0.5); when downscaling the
// kernel is widened by the scale factor so every source pixel counts
// (antialiasing, as PIL and disintegration/imaging do); taps outside the
// image are dropped and the rest renormalised.
func resampleWeights(dstSize, srcSize int, k kernel) []span {
	du := float64(srcSize) / float64(dstSize)
	scale := math.Max(du, 1)
	ru := math.Ceil(scale * k.support)
	out := make([]span, dstSize)
	backing := make([]float32, 0, dstSize*(2*int(ru)+1))
	ws := make([]float64, 0, 2*int(ru)+1)
	for v := range out {
		fu := (float64(v)+0.5)*du - 0.5
		begin := max(int(math.Ceil(fu-ru)), 0)
		end := min(int(math.Floor(fu+ru)), srcSize-1)
		ws = ws[:0]
		var sum float64
		first := -1
		for u := begin; u <= end; u++ {
			w := k.at((float64(u) - fu) / scale)
			if w == 0 && first < 0 {
				continue // leading zero: start later
			}
			if first < 0 {
				first = u
			}
			ws = append(ws, w)
			sum += w
		}
		for len(ws) > 1 && ws[len(ws)-1] == 0 { // trailing zeros
			ws = ws[:len(ws)-1]
		}
		n := len(backing)
		for _, w := range ws {
			backing = append(backing, float32(w/sum))
		}
		out[v] = span{start: first, w: backing[n:len(backing):len(backing)]}
	}
	return out
}

type weightKey struct {
	dst, src int
	kernel   string
}

// weightCache keeps the weights of recent (dst, src) size pairs: the
// detector, landmark and embedder inputs have fixed sizes and photos come
// in few sizes, so most calls hit. Bounded: it is cleared when full.
var weightCache = struct {
	sync.Mutex
	m map[weightKey][]span
}{m: map[weightKey][]span{}}

func cachedWeights(dst, src int, k kernel) []span {
	key := weightKey{dst, src, k.name}
	weightCache.Lock()
	w, ok := weightCache.m[key]
	weightCache.Unlock()
	if ok {
		return w
	}
	w = resampleWeights(dst, src, k)
	weightCache.Lock()
	if len(weightCache.m) >= 128 {
		clear(weightCache.m)
	}
	weightCache.m[key] = w
	weightCache.Unlock()
	return w
}

// resample resizes the region r of src to a virtual virtW x virtH image and
// returns the part of it inside win (win is in the virtual image's
// coordinates). Squash is win = the whole virtual image; resize-then-crop is
// a smaller win, computed without making the full resized image.
func resample(src *image.RGBA, r image.Rectangle, virtW, virtH int, win image.Rectangle, k kernel) rgbf {
	return resampleWith(nil, src, r, virtW, virtH, win, k)
}

// scratch is a worker's reusable resampling memory: the detector's input
// alone is ~0.9 MB of output and ~1 MB of intermediate rows per image,
// which as fresh allocations cost more (zeroing, GC, returning pages to the
// OS) than the arithmetic. A worker runs one image at a time, and what
// resampleWith returns is only valid until its next call with the same
// scratch.
type scratch struct{ out, tmp, row []float32 }

func grow(p *[]float32, n int) []float32 {
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	return (*p)[:n]
}

// resampleWith is resample with the memory of s (nil: fresh allocations).
func resampleWith(s *scratch, src *image.RGBA, r image.Rectangle, virtW, virtH int, win image.Rectangle, k kernel) rgbf {
	if s == nil {
		s = &scratch{}
	}
	ow, oh := win.Dx(), win.Dy()
	out := rgbf{w: ow, h: oh, pix: grow(&s.out, ow*oh*3)}
	n := ow * oh
	pr, pg, pb := out.pix[:n], out.pix[n:2*n], out.pix[2*n:3*n]
	if virtW == r.Dx() && virtH == r.Dy() { // identity: copy the window
		for y := 0; y < oh; y++ {
			off := src.PixOffset(r.Min.X+win.Min.X, r.Min.Y+win.Min.Y+y)
			row := src.Pix[off : off+ow*4]
			or, og, ob := pr[y*ow:(y+1)*ow], pg[y*ow:(y+1)*ow], pb[y*ow:(y+1)*ow]
			for x := range or {
				p := row[x*4 : x*4+3 : x*4+3]
				or[x], og[x], ob[x] = float32(p[0]), float32(p[1]), float32(p[2])
			}
		}
		return out
	}
	wx := cachedWeights(virtW, r.Dx(), k)[win.Min.X:win.Max.X]
	wy := cachedWeights(virtH, r.Dy(), k)[win.Min.Y:win.Max.Y]
	y0, y1 := math.MaxInt, -1
	for _, sp := range wy {
		y0, y1 = min(y0, sp.start), max(y1, sp.start+len(sp.w)-1)
	}
	// Horizontal pass over the source rows the vertical pass needs, into
	// three planes of (y1-y0+1) rows of ow.
	rows := y1 - y0 + 1
	tmp := grow(&s.tmp, 3*rows*ow)
	tr, tg, tb := tmp[:rows*ow], tmp[rows*ow:2*rows*ow], tmp[2*rows*ow:]
	sw := r.Dx()
	x0, x1 := math.MaxInt, -1 // the source columns the window needs
	for _, sp := range wx {
		x0, x1 = min(x0, sp.start), max(x1, sp.start+len(sp.w)-1)
	}
	frgb := grow(&s.row, 3*sw)
	fr, fg, fb := frgb[:sw], frgb[sw:2*sw], frgb[2*sw:]
	for sy := y0; sy <= y1; sy++ {
		off := src.PixOffset(r.Min.X, r.Min.Y+sy)
		row := src.Pix[off : off+sw*4]
		for x := x0; x <= x1; x++ { // each source pixel converted once, not once per tap
			p := row[x*4 : x*4+3 : x*4+3]
			fr[x], fg[x], fb[x] = float32(p[0]), float32(p[1]), float32(p[2])
		}
		base := (sy - y0) * ow
		dr, dg, db := tr[base:base+ow], tg[base:base+ow], tb[base:base+ow]
		for x, sp := range wx {
			ws := sp.w
			end := sp.start + len(ws)
			rr, rg, rb := fr[sp.start:end], fg[sp.start:end], fb[sp.start:end]
			rr, rg, rb = rr[:len(ws)], rg[:len(ws)], rb[:len(ws)]
			if len(ws) == 2 { // upscaling with the triangle kernel: the common case
				w0, w1 := ws[0], ws[1]
				dr[x] = rr[0]*w0 + rr[1]*w1
				dg[x] = rg[0]*w0 + rg[1]*w1
				db[x] = rb[0]*w0 + rb[1]*w1
				continue
			}
			var cr, cg, cb float32
			for i, w := range ws {
				cr += rr[i] * w
				cg += rg[i] * w
				cb += rb[i] * w
			}
			dr[x], dg[x], db[x] = cr, cg, cb
		}
	}
	// Vertical pass, plane by plane.
	clampOut := k.name == InterpBicubic // the cubic kernel's negative lobes can leave 0..255
	for c, t := range [3][]float32{tr, tg, tb} {
		plane := out.pix[c*n : (c+1)*n]
		for y, sp := range wy {
			o := plane[y*ow : (y+1)*ow]
			if len(sp.w) == 2 {
				w0, w1 := sp.w[0], sp.w[1]
				r0 := t[(sp.start-y0)*ow:][:len(o)]
				r1 := t[(sp.start+1-y0)*ow:][:len(o)]
				for j := range o {
					o[j] = r0[j]*w0 + r1[j]*w1
				}
			} else {
				clear(o) // the scratch holds the last image's values
				for i, w := range sp.w {
					row := t[(sp.start+i-y0)*ow:]
					row = row[:len(o)]
					for j, v := range row {
						o[j] += v * w
					}
				}
			}
			if clampOut {
				for j, v := range o {
					if v < 0 {
						o[j] = 0
					} else if v > 255 {
						o[j] = 255
					}
				}
			}
		}
	}
	return out
}

// resizePlan says how an image of w x h becomes the input size of s: the
// virtual resized size and the window cut from it.
//
// shortest_centre_crop follows torchvision's Resize(size) + CenterCrop(size)
// as CLIP uses them: the shorter side becomes the target, the longer one
// int(target * long / short), and the crop offset is round((len - target)/2)
// with Python's round-half-to-even.
func resizePlan(w, h int, s *InputSpec) (virtW, virtH int, win image.Rectangle) {
	tw, th := s.Size[0], s.Size[1]
	if s.Resize == ResizeSquash {
		return tw, th, image.Rect(0, 0, tw, th)
	}
	if w*th <= h*tw { // relatively taller than the target: width decides
		virtW, virtH = tw, int(float64(h)*float64(tw)/float64(w))
	} else {
		virtW, virtH = int(float64(w)*float64(th)/float64(h)), th
	}
	virtW, virtH = max(virtW, tw), max(virtH, th)
	x0 := int(math.RoundToEven(float64(virtW-tw) / 2))
	y0 := int(math.RoundToEven(float64(virtH-th) / 2))
	return virtW, virtH, image.Rect(x0, y0, x0+tw, y0+th)
}

// preprocess resizes the whole image as s says.
func preprocess(src *image.RGBA, s *InputSpec) rgbf {
	return preprocessWith(nil, src, s)
}

// preprocessWith is preprocess with the memory of sc (see scratch).
func preprocessWith(sc *scratch, src *image.RGBA, s *InputSpec) rgbf {
	vw, vh, win := resizePlan(src.Rect.Dx(), src.Rect.Dy(), s)
	return resampleWith(sc, src, src.Rect, vw, vh, win, kernelFor(s.Interpolation))
}

// luma is the grey value of an RGB pixel (ITU-R BT.601 weights).
func luma(r, g, b float32) float64 {
	return 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)
}

// writeTensor writes img (already at the input size) into dst, one image of
// the input tensor: value = (v*scale - mean[c]) / std[c], computed in
// float32 as v*(scale/std[c]) - mean[c]/std[c].
func writeTensor(dst []float32, img rgbf, s *InputSpec) {
	c := s.channels()
	n := img.w * img.h
	dst = dst[:n*c]
	planes := [3][]float32{img.plane(0), img.plane(1), img.plane(2)}
	if s.Color == ColorGrey {
		g := make([]float32, n)
		r, gr, b := planes[0], planes[1][:n], planes[2][:n]
		for i := range g {
			g[i] = float32(luma(r[i], gr[i], b[i]))
		}
		planes = [3][]float32{g, g, g}
	}
	for ch := 0; ch < c; ch++ {
		a := float32(s.Scale / s.Std[ch])
		b := float32(-s.Mean[ch] / s.Std[ch])
		src := planes[ch][:n]
		if s.Layout == LayoutNCHW {
			out := dst[ch*n : (ch+1)*n]
			for i, v := range src {
				out[i] = v*a + b
			}
			continue
		}
		for i, v := range src { // NHWC
			dst[i*c+ch] = v*a + b
		}
	}
}

// mirror returns img flipped left to right.
func mirror(img rgbf) rgbf {
	out := newRGBF(img.w, img.h)
	w := img.w
	for y := 0; y < img.h*3; y++ { // rows of all three planes
		s, d := img.pix[y*w:(y+1)*w], out.pix[y*w:(y+1)*w]
		for x, v := range s {
			d[w-1-x] = v
		}
	}
	return out
}

// toGray is img in grey, rounded to 8 bits (the crop handed to the
// second-stage HOG re-ranker).
func toGray(img rgbf) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, img.w, img.h))
	r, gr, b := img.plane(0), img.plane(1), img.plane(2)
	for i := range g.Pix {
		v := luma(r[i], gr[i], b[i])
		g.Pix[i] = uint8(min(max(math.Round(v), 0), 255))
	}
	return g
}

// affine maps (x, y) to (a*x + b*y + c, d*x + e*y + f).
type affine struct{ a, b, c, d, e, f float64 }

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.b*y + m.c, m.d*x + m.e*y + m.f
}

// warpBilinear samples src at inv(x, y) for every output pixel (x, y)
// (pixel centres at integers, as OpenCV's warpAffine), bilinearly, with
// edge pixels repeated outside the image.
func warpBilinear(src rgbf, inv affine, outW, outH int) rgbf {
	out := newRGBF(outW, outH)
	maxX, maxY := src.w-1, src.h-1
	sn, on := src.w*src.h, outW*outH
	sr, sg, sb := src.pix[:sn], src.pix[sn:2*sn], src.pix[2*sn:3*sn]
	or, og, ob := out.pix[:on], out.pix[on:2*on], out.pix[2*on:3*on]
	w := src.w
	for y := 0; y < outH; y++ {
		for x := 0; x < outW; x++ {
			sx, sy := inv.apply(float64(x), float64(y))
			fx0, fy0 := math.Floor(sx), math.Floor(sy)
			ax, ay := float32(sx-fx0), float32(sy-fy0)
			ix, iy := int(fx0), int(fy0)
			var i00, i01, i10, i11 int
			if ix >= 0 && iy >= 0 && ix < maxX && iy < maxY { // inside: no clamping
				i00 = iy*w + ix
				i01, i10, i11 = i00+1, i00+w, i00+w+1
			} else {
				x0, x1 := clampInt(ix, 0, maxX), clampInt(ix+1, 0, maxX)
				y0, y1 := clampInt(iy, 0, maxY), clampInt(iy+1, 0, maxY)
				i00, i01, i10, i11 = y0*w+x0, y0*w+x1, y1*w+x0, y1*w+x1
			}
			o := y*outW + x
			or[o] = bilerp(sr, i00, i01, i10, i11, ax, ay)
			og[o] = bilerp(sg, i00, i01, i10, i11, ax, ay)
			ob[o] = bilerp(sb, i00, i01, i10, i11, ax, ay)
		}
	}
	return out
}

func bilerp(p []float32, i00, i01, i10, i11 int, ax, ay float32) float32 {
	top := p[i00] + (p[i01]-p[i00])*ax
	bot := p[i10] + (p[i11]-p[i10])*ax
	return top + (bot-top)*ay
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
