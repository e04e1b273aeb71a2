// Package hog computes the hand-crafted HOG descriptor used to re-rank the
// encoder's candidates (score fusion: model cosine + HOG cosine; see
// ../shared/models/BASELINES.md, where the encoders and HOG miss mostly
// different people).
//
// The recipe is BASELINES.md's, in the conventions of skimage.feature.hog
// (which produced those numbers): central-difference gradients with zero at
// the image border, 9 unsigned orientation bins of 20° each with hard
// assignment, 8×8-pixel cells holding the mean magnitude per bin, 2×2-cell
// blocks at a stride of one cell normalised with L2-Hys (clip 0.2, ε = 1e-5),
// concatenated block by block (cell row, cell column, bin), then mean
// subtracted and L2-normalised so the cosine of two descriptors is their dot
// product.
//
// Geometry: the input is the aligned 112×112 grey face crop from the face
// pipeline, used whole (the alignment already did the cropping that
// BASELINES.md's fixed box stands in for): 14×14 cells, 13×13 blocks,
// 13·13·36 = 6084 floats, stored as float16 in 12 168 bytes per reference.
package hog

import (
	"encoding/binary"
	"fmt"
	"image"
	"math"
	"sync"
)

const (
	// Size is the side of the square the descriptor is computed on; other
	// inputs are resized to it (bilinear) first.
	Size     = 112
	cellSize = 8
	bins     = 9
	cells    = Size / cellSize // per side
	blocks   = cells - 1       // per side, stride one cell
	blockLen = 2 * 2 * bins
	length   = blocks * blocks * blockLen

	clipHys = 0.2
	eps     = 1e-5
)

// Len returns the descriptor length (6084).
func Len() int { return length }

// binEdges holds (cos θ, sin θ) for the inner bin edges θ = 20°, 40°, … 160°.
var binEdges = func() (e [bins - 1][2]float32) {
	for i := range e {
		t := float64(i+1) * math.Pi / bins
		e[i] = [2]float32{float32(math.Cos(t)), float32(math.Sin(t))}
	}
	return e
}()

// orientationBin returns the unsigned orientation bin of gradient (gx, gy),
// i.e. floor(atan2(gy, gx) mod 180° / 20°), without atan2. The gradient is
// first folded into the upper half-plane [0°, 180°); there, angle(g) ≥ θ
// exactly when the cross product of (cos θ, sin θ) with g is ≥ 0.
func orientationBin(gx, gy float32) int {
	if gy < 0 || (gy == 0 && gx < 0) {
		gx, gy = -gx, -gy
	}
	// Branch-free count of the edges at or below the angle: the count is the
	// bin because the comparisons are monotone in θ. The sign bit of the
	// cross product is 0 exactly when it is ≥ 0 (it is never -0 here: no edge
	// is at 90°, and the zero gradient is skipped by the caller).
	b := uint32(0)
	for _, e := range binEdges {
		b += ^math.Float32bits(e[0]*gy-e[1]*gx) >> 31
	}
	return int(b)
}

// Compute returns the descriptor of img. Any size is accepted (it is resized
// to Size×Size), so the length is always Len(). An empty image, or one
// without any gradient, gives the zero vector (cosine 0 with everything).
func Compute(img *image.Gray) []float32 {
	pix := resize(img)
	hist := cellHistograms(pix)
	out := make([]float32, length)
	var block [blockLen]float32
	o := 0
	for by := 0; by < blocks; by++ {
		for bx := 0; bx < blocks; bx++ {
			for cy := 0; cy < 2; cy++ {
				for cx := 0; cx < 2; cx++ {
					c := ((by+cy)*cells + bx + cx) * bins
					copy(block[(cy*2+cx)*bins:], hist[c:c+bins])
				}
			}
			l2Hys(block[:])
			o += copy(out[o:], block[:])
		}
	}
	centreAndNormalise(out)
	return out
}

// cellHistograms returns cells×cells histograms of bins floats each: the mean
// gradient magnitude per orientation bin over the cell's 64 pixels.
// pix is Size×Size, row-major.
func cellHistograms(pix []float32) []float32 {
	hist := make([]float32, cells*cells*bins)
	for y := 0; y < Size; y++ {
		row := pix[y*Size : (y+1)*Size]
		hrow := hist[(y/cellSize)*cells*bins:]
		for x := 0; x < Size; x++ {
			var gx, gy float32
			// skimage leaves the one-pixel border's gradient at zero.
			if x > 0 && x < Size-1 {
				gx = row[x+1] - row[x-1]
			}
			if y > 0 && y < Size-1 {
				gy = pix[(y+1)*Size+x] - pix[(y-1)*Size+x]
			}
			if gx == 0 && gy == 0 {
				continue
			}
			mag := float32(math.Sqrt(float64(gx*gx + gy*gy)))
			hrow[(x/cellSize)*bins+orientationBin(gx, gy)] += mag
		}
	}
	for i := range hist {
		hist[i] *= 1.0 / (cellSize * cellSize)
	}
	return hist
}

// l2Hys normalises v in place: L2, clip at clipHys, L2 again.
func l2Hys(v []float32) {
	scale := func() {
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		inv := float32(1 / math.Sqrt(ss+eps*eps))
		for i := range v {
			v[i] *= inv
		}
	}
	scale()
	for i, x := range v {
		v[i] = min(x, clipHys)
	}
	scale()
}

func centreAndNormalise(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x)
	}
	mean := float32(sum / float64(len(v)))
	var ss float64
	for i := range v {
		v[i] -= mean
		ss += float64(v[i]) * float64(v[i])
	}
	if ss == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
}

// resize returns img as Size×Size float32 grey levels (0..255). Bilinear with
// pixel centres aligned, as OpenCV's INTER_LINEAR: no antialiasing, which is
// fine for the face pipeline's 112×112 crops (no resize at all) and for
// modest scale changes.
func resize(img *image.Gray) []float32 {
	out := make([]float32, Size*Size)
	b := img.Rect
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return out
	}
	at := func(x, y int) float32 { return float32(img.Pix[y*img.Stride+x]) }
	if w == Size && h == Size {
		for y := 0; y < Size; y++ {
			for x := 0; x < Size; x++ {
				out[y*Size+x] = at(x, y)
			}
		}
		return out
	}
	type tap struct {
		i0, i1 int
		f      float32
	}
	taps := func(src int) []tap {
		t := make([]tap, Size)
		scale := float64(src) / Size
		for d := range t {
			s := (float64(d)+0.5)*scale - 0.5
			s = max(0, min(s, float64(src-1)))
			i0 := int(s)
			t[d] = tap{i0, min(i0+1, src-1), float32(s - float64(i0))}
		}
		return t
	}
	xs, ys := taps(w), taps(h)
	for y, ty := range ys {
		for x, tx := range xs {
			top := at(tx.i0, ty.i0)*(1-tx.f) + at(tx.i1, ty.i0)*tx.f
			bot := at(tx.i0, ty.i1)*(1-tx.f) + at(tx.i1, ty.i1)*tx.f
			out[y*Size+x] = top*(1-ty.f) + bot*ty.f
		}
	}
	return out
}

// Cosine returns the cosine similarity of a and b, computed in float64 and
// clamped to [-1, 1]; 0 when the lengths differ or either is all zeros.
func Cosine(a, b []float32) float32 {
	if len(a) != len(b) {
		return 0
	}
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return float32(max(-1, min(1, ab/math.Sqrt(aa*bb))))
}

// Encode packs v as IEEE 754 half-precision floats, little-endian, rounded
// to nearest, ties to even: 2 bytes per value. For a unit descriptor the
// error per value is at most ~2.5e-4 relative.
func Encode(v []float32) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], toHalf(x))
	}
	return b
}

// Decode unpacks Encode's output. It accepts any even length; callers that
// store descriptors should compare the result's length with Len(), which
// changes if the geometry ever does.
func Decode(b []byte) ([]float32, error) {
	v := make([]float32, len(b)/2)
	return v, DecodeInto(v, b)
}

// DecodeInto is Decode into dst (len(dst) == len(b)/2), for the re-ranker's
// hot loop: no allocation, and a table lookup per value.
func DecodeInto(dst []float32, b []byte) error {
	if len(b)%2 != 0 {
		return fmt.Errorf("hog: %d bytes is not a whole number of float16 values", len(b))
	}
	if len(dst) != len(b)/2 {
		return fmt.Errorf("hog: %d values into a buffer of %d", len(b)/2, len(dst))
	}
	t := halfTable()
	for i := range dst {
		dst[i] = t[binary.LittleEndian.Uint16(b[2*i:])]
	}
	return nil
}

// halfTable holds fromHalf of every binary16 value (256 KiB, built once).
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = fromHalf(uint16(i))
	}
	return &t
})

// toHalf converts to binary16 with round-to-nearest-even; too large gives
// ±Inf, NaN stays NaN (quiet).
func toHalf(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e >= 1: // normal
		h := uint32(e)<<10 | mant>>13
		if r := mant & 0x1fff; r > 0x1000 || (r == 0x1000 && h&1 == 1) {
			h++ // a carry out of the mantissa bumps the exponent, up to Inf: correct
		}
		return sign | uint16(h)
	}
	// Subnormal half (or zero): the value in units of 2^-24 is M >> s.
	s := uint(14 - e)
	if s > 24 {
		return sign
	}
	m := mant | 0x800000
	q := m >> s
	r, half := m&(1<<s-1), uint32(1)<<(s-1)
	if r > half || (r == half && q&1 == 1) {
		q++
	}
	return sign | uint16(q)
}

func fromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	e := uint32(h>>10) & 0x1f
	m := uint32(h & 0x3ff)
	switch e {
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | m<<13)
	case 0:
		f := float32(m) * (1.0 / (1 << 24)) // exact: subnormal halves are normal float32s
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (e+127-15)<<23 | m<<13)
}
