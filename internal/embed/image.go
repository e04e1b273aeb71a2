package embed

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// minSide is the smallest width or height accepted: below it no network
// here sees anything useful, and the caller gets EINVALID.
const minSide = 16

// rgbf is an RGB image in float32, interleaved, values 0..255 (not rounded:
// resampling and warping keep their fractions until the tensor is written).
type rgbf struct {
	w, h int
	pix  []float32
}

func newRGBF(w, h int) rgbf { return rgbf{w: w, h: h, pix: make([]float32, w*h*3)} }

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
	support float64
	at      func(x float64) float64
}

var (
	triangleKernel = kernel{1, func(x float64) float64 {
		x = math.Abs(x)
		if x < 1 {
			return 1 - x
		}
		return 0
	}}
	// Catmull-Rom, the cubic convolution with a = -0.5 (PIL's BICUBIC).
	catmullRomKernel = kernel{2, func(x float64) float64 {
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

type tap struct {
	idx int
	w   float32
}

// resampleWeights gives, for each of dstSize output samples, the source
// samples and normalised weights. Pixel centres are aligned (source
// coordinate of output v is (v+0.5)*src/dst - 0.5); when downscaling the
// kernel is widened by the scale factor so every source pixel counts
// (antialiasing, as PIL and disintegration/imaging do); taps outside the
// image are dropped and the rest renormalised.
func resampleWeights(dstSize, srcSize int, k kernel) [][]tap {
	du := float64(srcSize) / float64(dstSize)
	scale := math.Max(du, 1)
	ru := math.Ceil(scale * k.support)
	out := make([][]tap, dstSize)
	for v := range out {
		fu := (float64(v)+0.5)*du - 0.5
		begin := max(int(math.Ceil(fu-ru)), 0)
		end := min(int(math.Floor(fu+ru)), srcSize-1)
		var ws []float64
		var idx []int
		var sum float64
		for u := begin; u <= end; u++ {
			if w := k.at((float64(u) - fu) / scale); w != 0 {
				ws = append(ws, w)
				idx = append(idx, u)
				sum += w
			}
		}
		taps := make([]tap, len(ws))
		for i := range ws {
			taps[i] = tap{idx[i], float32(ws[i] / sum)}
		}
		out[v] = taps
	}
	return out
}

// resample resizes the region r of src to a virtual virtW x virtH image and
// returns the part of it inside win (win is in the virtual image's
// coordinates). Squash is win = the whole virtual image; resize-then-crop is
// a smaller win, computed without making the full resized image.
func resample(src *image.RGBA, r image.Rectangle, virtW, virtH int, win image.Rectangle, k kernel) rgbf {
	ow, oh := win.Dx(), win.Dy()
	out := newRGBF(ow, oh)
	if virtW == r.Dx() && virtH == r.Dy() { // identity: copy the window
		for y := 0; y < oh; y++ {
			row := src.Pix[src.PixOffset(r.Min.X+win.Min.X, r.Min.Y+win.Min.Y+y):]
			o := out.pix[y*ow*3:]
			for x := 0; x < ow; x++ {
				o[x*3], o[x*3+1], o[x*3+2] = float32(row[x*4]), float32(row[x*4+1]), float32(row[x*4+2])
			}
		}
		return out
	}
	wx := resampleWeights(virtW, r.Dx(), k)[win.Min.X:win.Max.X]
	wy := resampleWeights(virtH, r.Dy(), k)[win.Min.Y:win.Max.Y]
	y0, y1 := math.MaxInt, -1
	for _, taps := range wy {
		y0, y1 = min(y0, taps[0].idx), max(y1, taps[len(taps)-1].idx)
	}
	// Horizontal pass over the source rows the vertical pass needs.
	tmp := make([]float32, (y1-y0+1)*ow*3)
	for sy := y0; sy <= y1; sy++ {
		row := src.Pix[src.PixOffset(r.Min.X, r.Min.Y+sy):]
		t := tmp[(sy-y0)*ow*3:]
		for x, taps := range wx {
			var cr, cg, cb float32
			for _, tp := range taps {
				p := row[tp.idx*4 : tp.idx*4+3 : tp.idx*4+3]
				cr += float32(p[0]) * tp.w
				cg += float32(p[1]) * tp.w
				cb += float32(p[2]) * tp.w
			}
			t[x*3], t[x*3+1], t[x*3+2] = cr, cg, cb
		}
	}
	// Vertical pass.
	for y, taps := range wy {
		o := out.pix[y*ow*3 : (y+1)*ow*3]
		for _, tp := range taps {
			t := tmp[(tp.idx-y0)*ow*3 : (tp.idx-y0+1)*ow*3]
			for i := range o {
				o[i] += t[i] * tp.w
			}
		}
		for i := range o { // ringing of the cubic kernel can leave 0..255
			o[i] = min(max(o[i], 0), 255)
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
	vw, vh, win := resizePlan(src.Rect.Dx(), src.Rect.Dy(), s)
	return resample(src, src.Rect, vw, vh, win, kernelFor(s.Interpolation))
}

// luma is the grey value of an RGB pixel (ITU-R BT.601 weights).
func luma(r, g, b float32) float64 {
	return 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)
}

// writeTensor writes img (already at the input size) into dst, one image of
// the input tensor: value = (v*scale - mean[c]) / std[c].
func writeTensor(dst []float32, img rgbf, s *InputSpec) {
	c := s.channels()
	w, h := img.w, img.h
	grey := s.Color == ColorGrey
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := img.pix[(y*w+x)*3 : (y*w+x)*3+3 : (y*w+x)*3+3]
			var g float64
			if grey {
				g = luma(p[0], p[1], p[2])
			}
			for ch := 0; ch < c; ch++ {
				v := g
				if !grey {
					v = float64(p[ch])
				}
				val := float32((v*s.Scale - s.Mean[ch]) / s.Std[ch])
				if s.Layout == LayoutNCHW {
					dst[ch*h*w+y*w+x] = val
				} else {
					dst[(y*w+x)*c+ch] = val
				}
			}
		}
	}
}

// mirror returns img flipped left to right.
func mirror(img rgbf) rgbf {
	out := newRGBF(img.w, img.h)
	for y := 0; y < img.h; y++ {
		for x := 0; x < img.w; x++ {
			s := (y*img.w + x) * 3
			d := (y*img.w + img.w - 1 - x) * 3
			copy(out.pix[d:d+3], img.pix[s:s+3])
		}
	}
	return out
}

// toGray is img in grey, rounded to 8 bits (the crop handed to the
// second-stage HOG re-ranker).
func toGray(img rgbf) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, img.w, img.h))
	for i := range g.Pix {
		v := luma(img.pix[i*3], img.pix[i*3+1], img.pix[i*3+2])
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
	for y := 0; y < outH; y++ {
		for x := 0; x < outW; x++ {
			sx, sy := inv.apply(float64(x), float64(y))
			fx0, fy0 := math.Floor(sx), math.Floor(sy)
			ax, ay := float32(sx-fx0), float32(sy-fy0)
			x0 := clampInt(int(fx0), 0, maxX)
			x1 := clampInt(int(fx0)+1, 0, maxX)
			y0 := clampInt(int(fy0), 0, maxY)
			y1 := clampInt(int(fy0)+1, 0, maxY)
			p00 := src.pix[(y0*src.w+x0)*3:]
			p01 := src.pix[(y0*src.w+x1)*3:]
			p10 := src.pix[(y1*src.w+x0)*3:]
			p11 := src.pix[(y1*src.w+x1)*3:]
			o := out.pix[(y*outW+x)*3:]
			for c := 0; c < 3; c++ {
				top := p00[c] + (p01[c]-p00[c])*ax
				bot := p10[c] + (p11[c]-p10[c])*ax
				o[c] = top + (bot-top)*ay
			}
		}
	}
	return out
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
