package hog

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// gradientImage returns a w×h image with grey level f(x, y) (clamped).
func gradientImage(w, h int, f func(x, y int) float64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Pix[y*img.Stride+x] = uint8(max(0, min(255, math.Round(f(x, y)))))
		}
	}
	return img
}

func TestOrientationBin(t *testing.T) {
	for _, tt := range []struct {
		name   string
		gx, gy float32
		want   int
	}{
		{"Right0", 1, 0, 0},
		{"Left180Is0", -1, 0, 0},
		{"Deg10", float32(math.Cos(10 * math.Pi / 180)), float32(math.Sin(10 * math.Pi / 180)), 0},
		{"Deg30", float32(math.Cos(30 * math.Pi / 180)), float32(math.Sin(30 * math.Pi / 180)), 1},
		{"Diagonal45", 1, 1, 2},
		{"Down90", 0, 1, 4},
		{"Up90", 0, -1, 4},
		{"AntiDiagonal135", -1, 1, 6},
		{"MinusDiagonal315Is135", 1, -1, 6},
		{"Deg170", float32(math.Cos(170 * math.Pi / 180)), float32(math.Sin(170 * math.Pi / 180)), 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := orientationBin(tt.gx, tt.gy); got != tt.want {
				t.Fatalf("bin=%d, want %d", got, tt.want)
			}
		})
	}
	// Against atan2 (skimage's definition) away from the bin edges.
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 100000; i++ {
		gx, gy := float32(r.NormFloat64()), float32(r.NormFloat64())
		deg := math.Mod(math.Atan2(float64(gy), float64(gx))*180/math.Pi+360, 180)
		if d := math.Mod(deg, 20); d < 1e-3 || d > 20-1e-3 {
			continue
		}
		if got, want := orientationBin(gx, gy), int(deg/20); got != want {
			t.Fatalf("(%v,%v) %.4f°: bin %d, want %d", gx, gy, deg, got, want)
		}
	}
}

// TestCellHistograms: a linear ramp puts all of every interior cell's
// magnitude in the ramp direction's bin, at 2×slope (central difference).
func TestCellHistograms(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    func(x, y int) float64
		bin  int
		mag  float64
	}{
		{"HorizontalRamp", func(x, y int) float64 { return 2 * float64(x) }, 0, 4},
		{"VerticalRamp", func(x, y int) float64 { return 2 * float64(y) }, 4, 4},
		{"Diagonal", func(x, y int) float64 { return float64(x + y) }, 2, 2 * math.Sqrt2},
		{"AntiDiagonal", func(x, y int) float64 { return 120 + float64(x-y) }, 6, 2 * math.Sqrt2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hist := cellHistograms(resize(gradientImage(Size, Size, tt.f)))
			for _, c := range [][2]int{{1, 1}, {5, 7}, {12, 3}} { // interior cells
				h := hist[(c[1]*cells+c[0])*bins:][:bins]
				for b, v := range h {
					want := 0.0
					if b == tt.bin {
						want = tt.mag
					}
					if math.Abs(float64(v)-want) > 1e-5 {
						t.Fatalf("cell %v: hist=%v, want %.3f in bin %d only", c, h, tt.mag, tt.bin)
					}
				}
			}
		})
	}
}

// TestCompute_TinyRamp: a small ramp is resized up (bilinear keeps it a
// ramp) and every block's strongest entry is the ramp's bin.
func TestCompute_TinyRamp(t *testing.T) {
	d := Compute(gradientImage(16, 16, func(x, y int) float64 { return 10 * float64(y) }))
	for blk := 0; blk < blocks*blocks; blk++ {
		v := d[blk*blockLen:][:bins] // the block's first cell
		best := 0
		for b := range v {
			if v[b] > v[best] {
				best = b
			}
		}
		if best != 4 {
			t.Fatalf("block %d: first cell %v, strongest bin %d, want 4 (vertical gradient)", blk, v, best)
		}
	}
}

func TestCompute_LengthAndNorm(t *testing.T) {
	if got, want := Len(), 13*13*36; got != want {
		t.Fatalf("Len=%d, want %d", got, want)
	}
	r := rand.New(rand.NewPCG(2, 2))
	noise := func(x, y int) float64 { return r.Float64() * 255 }
	sub := gradientImage(200, 250, noise).SubImage(image.Rect(30, 40, 170, 220)).(*image.Gray)
	for _, tt := range []struct {
		name string
		img  *image.Gray
	}{
		{"Aligned112", gradientImage(112, 112, noise)},
		{"Small", gradientImage(20, 30, noise)},
		{"Large", gradientImage(400, 300, noise)},
		{"SubImageWithOffset", sub},
		{"OnePixel", gradientImage(1, 1, noise)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Compute(tt.img)
			if got, want := len(d), Len(); got != want {
				t.Fatalf("len=%d, want %d", got, want)
			}
			var sum, ss float64
			for _, v := range d {
				sum += float64(v)
				ss += float64(v) * float64(v)
			}
			if tt.name == "OnePixel" { // no gradient at all
				if ss != 0 {
					t.Fatalf("|d|²=%v, want 0 for a flat image", ss)
				}
				return
			}
			if math.Abs(ss-1) > 1e-4 || math.Abs(sum) > 1e-3 {
				t.Fatalf("|d|²=%v sum=%v, want 1 and 0", ss, sum)
			}
		})
	}
}

func TestCompute_Empty(t *testing.T) {
	d := Compute(image.NewGray(image.Rect(0, 0, 0, 0)))
	if len(d) != Len() {
		t.Fatalf("len=%d", len(d))
	}
	if got := Cosine(d, d); got != 0 {
		t.Fatalf("Cosine(zero, zero)=%v, want 0", got)
	}
}

func TestCosine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	d := Compute(gradientImage(112, 112, func(x, y int) float64 { return r.Float64() * 255 }))
	neg := make([]float32, len(d))
	for i := range d {
		neg[i] = -d[i]
	}
	for _, tt := range []struct {
		name string
		a, b []float32
		want float32
	}{
		{"Identical", d, d, 1},
		{"Opposite", d, neg, -1},
		{"Orthogonal", []float32{1, 0}, []float32{0, 3}, 0},
		{"ScaleInvariant", []float32{1, 2}, []float32{2, 4}, 1},
		{"LengthMismatch", []float32{1, 2}, []float32{1, 2, 3}, 0},
		{"Zero", []float32{0, 0}, []float32{1, 2}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Cosine(tt.a, tt.b); math.Abs(float64(got-tt.want)) > 1e-6 {
				t.Fatalf("Cosine=%v, want %v", got, tt.want)
			}
		})
	}
}

func TestHalf_KnownValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    float32
		h    uint16
	}{
		{"One", 1, 0x3c00},
		{"MinusTwo", -2, 0xc000},
		{"Zero", 0, 0x0000},
		{"NegZero", float32(math.Copysign(0, -1)), 0x8000},
		{"Max", 65504, 0x7bff},
		{"RoundsToInf", 65520, 0x7c00},
		{"Inf", float32(math.Inf(1)), 0x7c00},
		{"Tenth", 0.1, 0x2e66},
		{"TieToEvenDown", 1 + 1.0/2048, 0x3c00},        // halfway 1 and 1+2^-10
		{"TieToEvenUp", 1 + 3.0/2048, 0x3c02},          // halfway 1+2^-10 and 1+2^-9
		{"AboveTie", 1 + 1.0/2048 + 1.0/65536, 0x3c01}, // just above halfway
		{"MinNormal", 1.0 / (1 << 14), 0x0400},
		{"MinSubnormal", 1.0 / (1 << 24), 0x0001},
		{"HalfMinSubnormalTiesToZero", 1.0 / (1 << 25), 0x0000},
		{"AboveHalfMinSubnormal", 1.5 / (1 << 25), 0x0001},
		{"SubnormalTieToEven", 3.0 / (1 << 25), 0x0002}, // 1.5 units → 2
		{"LargestSubnormalRoundsUp", (1023.75) / (1 << 24), 0x0400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := toHalf(tt.f); got != tt.h {
				t.Fatalf("toHalf(%v)=%#04x, want %#04x", tt.f, got, tt.h)
			}
		})
	}
	if h := toHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Fatalf("toHalf(NaN)=%#04x, want a NaN", h)
	}
}

// TestHalf_Exhaustive: every half decodes and re-encodes to itself, and
// every value halfway between two consecutive halves rounds to the even one.
func TestHalf_Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := fromHalf(uint16(h))
		if f != f { // NaN
			if back := toHalf(f); back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x re-encoded as %#04x", h, back)
			}
			continue
		}
		if back := toHalf(f); back != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, back)
		}
		if h&0x7fff >= 0x7bff { // no next finite value
			continue
		}
		next := fromHalf(uint16(h + 1))
		mid := float32((float64(f) + float64(next)) / 2) // exact in float32
		want := uint16(h)
		if h&1 == 1 {
			want = uint16(h + 1)
		}
		if got := toHalf(mid); got != want {
			t.Fatalf("midpoint of %#04x and %#04x (%v): got %#04x, want %#04x", h, h+1, mid, got, want)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	d := Compute(gradientImage(112, 112, func(x, y int) float64 { return r.Float64() * 255 }))
	b := Encode(d)
	if got, want := len(b), 2*Len(); got != want {
		t.Fatalf("encoded %d bytes, want %d", got, want)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for i := range d {
		worst = max(worst, math.Abs(float64(back[i]-d[i])))
	}
	if worst >= 1e-3 {
		t.Fatalf("max round-trip error %v, want < 1e-3", worst)
	}
	if c := Cosine(d, back); c < 0.99999 {
		t.Fatalf("Cosine(d, roundtrip)=%v", c)
	}
	t.Logf("max abs error %.2g over %d values, %d bytes per reference", worst, len(d), len(b))

	if _, err := Decode(b[:len(b)-1]); err == nil {
		t.Fatal("Decode of an odd length succeeded")
	}
	if v, err := Decode(nil); err != nil || len(v) != 0 {
		t.Fatalf("Decode(nil)=%v,%v", v, err)
	}
}

func BenchmarkCompute(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, side := range []int{112, 200} {
		img := gradientImage(side, side, func(x, y int) float64 { return r.Float64() * 255 })
		b.Run(image.Pt(side, side).String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Compute(img)
			}
		})
	}
}

func BenchmarkCosine(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	x := Compute(gradientImage(112, 112, func(x, y int) float64 { return r.Float64() * 255 }))
	y := Compute(gradientImage(112, 112, func(x, y int) float64 { return r.Float64() * 255 }))
	for b.Loop() {
		Cosine(x, y)
	}
}

func TestHalfTableMatchesConversion(t *testing.T) {
	tab := halfTable()
	for i := 0; i < 1<<16; i++ {
		if got, want := math.Float32bits(tab[i]), math.Float32bits(fromHalf(uint16(i))); got != want {
			t.Fatalf("table[%#04x]=%#08x, want %#08x", i, got, want)
		}
	}
	if err := DecodeInto(make([]float32, 3), make([]byte, 4)); err == nil {
		t.Fatal("DecodeInto accepted a buffer of the wrong length")
	}
}
