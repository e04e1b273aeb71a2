package imagefile

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// tinyWebP is a 2×2 lossless (VP8L) WebP, every pixel RGBA (32,64,128,255),
// built by vp8l below and checked against it in TestTinyWebPLiteral. The
// x/image package cannot encode WebP, so the test bytes are made by hand.
var tinyWebP = []byte{
	'R', 'I', 'F', 'F', 0x18, 0x00, 0x00, 0x00, 'W', 'E', 'B', 'P', // RIFF size 24
	'V', 'P', '8', 'L', 0x0c, 0x00, 0x00, 0x00, // chunk size 12
	0x2f,                   // VP8L signature
	0x01, 0x40, 0x00, 0x10, // width-1=1, height-1=1 (14 bits each), alpha hint 1, version 0
	0x28, 0x50, 0x41, 0x0a, 0xd8, 0xff, 0x00, // no transform/cache/meta; 5 one-symbol prefix codes
}

// bitWriter writes the LSB-first bit stream of VP8L.
type bitWriter struct {
	buf []byte
	n   uint
}

func (b *bitWriter) put(v uint32, bits uint) {
	for i := uint(0); i < bits; i++ {
		if b.n%8 == 0 {
			b.buf = append(b.buf, 0)
		}
		if v>>i&1 != 0 {
			b.buf[len(b.buf)-1] |= 1 << (b.n % 8)
		}
		b.n++
	}
}

// vp8l builds a w×h single-colour lossless WebP. Each of the five prefix
// codes (green, red, blue, alpha, distance) is a "simple" code with one
// symbol, so the pixels take zero bits: a header that claims 16384×16384
// costs 32 bytes, which is what makes it a good pixel-flood probe.
func vp8l(w, h int, c color.NRGBA) []byte {
	var b bitWriter
	b.put(0x2f, 8)
	b.put(uint32(w-1), 14)
	b.put(uint32(h-1), 14)
	b.put(1, 1) // alpha hint
	b.put(0, 3) // version
	b.put(0, 1) // no transform
	b.put(0, 1) // no colour cache
	b.put(0, 1) // no meta prefix codes
	for _, s := range []uint8{c.G, c.R, c.B, c.A} {
		b.put(1, 1) // simple code
		b.put(0, 1) // one symbol
		b.put(1, 1) // 8-bit symbol
		b.put(uint32(s), 8)
	}
	b.put(1, 1) // distance: simple, one 1-bit symbol, 0
	b.put(0, 1)
	b.put(0, 1)
	b.put(0, 1)
	return riff("VP8L", b.buf)
}

func riff(fourCC string, payload []byte) []byte {
	pad := len(payload) % 2
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+len(payload)+pad))
	out.WriteString("WEBP" + fourCC)
	binary.Write(&out, binary.LittleEndian, uint32(len(payload)))
	out.Write(payload)
	if pad == 1 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

// pngHeader is a PNG signature and a correct IHDR for w×h RGBA: enough for
// DecodeConfig, no pixels at all.
func pngHeader(w, h uint32) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, w)
	binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{8, 6, 0, 0, 0}) // 8-bit RGBA, deflate, no filter, no interlace
	var out bytes.Buffer
	out.Write(magicPNG)
	binary.Write(&out, binary.BigEndian, uint32(ihdr.Len()-4))
	out.Write(ihdr.Bytes())
	binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	return out.Bytes()
}

// halves returns a w×h image, left half red and right half blue.
func halves(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= w/2 {
				c = color.NRGBA{0, 0, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an APP1 Exif segment holding IFD0 tag 0x0112 =
// o right after the JPEG's SOI marker, in the given byte order.
func withOrientation(jpg []byte, o uint16, bo binary.ByteOrder) []byte {
	var tiff bytes.Buffer
	if bo == binary.LittleEndian {
		tiff.WriteString("II")
	} else {
		tiff.WriteString("MM")
	}
	binary.Write(&tiff, bo, uint16(42))
	binary.Write(&tiff, bo, uint32(8))      // IFD0 offset
	binary.Write(&tiff, bo, uint16(2))      // two entries
	binary.Write(&tiff, bo, uint16(0x010F)) // Make, ASCII, to be skipped
	binary.Write(&tiff, bo, uint16(2))
	binary.Write(&tiff, bo, uint32(4))
	tiff.WriteString("Foo\x00")
	binary.Write(&tiff, bo, uint16(0x0112)) // Orientation, SHORT, 1
	binary.Write(&tiff, bo, uint16(3))
	binary.Write(&tiff, bo, uint32(1))
	binary.Write(&tiff, bo, o)
	binary.Write(&tiff, bo, uint16(0))
	binary.Write(&tiff, bo, uint32(0)) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(jpg[2:])
	return out.Bytes()
}

// progressiveJPEG builds a grey side×side progressive JPEG (side a multiple
// of 8) with a DC scan followed by acScans AC scans. Each AC scan is one
// EOB-run code per 32767 blocks (15 bits): the cheapest possible scan to
// send, and one that still makes the decoder visit every block.
func progressiveJPEG(side, acScans int) []byte {
	var out bytes.Buffer
	seg := func(marker byte, payload ...byte) {
		out.Write([]byte{0xFF, marker})
		binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
		out.Write(payload)
	}
	var bits uint32
	var nbits uint
	put := func(v uint32, n uint) { // MSB first, with 0xFF byte stuffing
		for i := int(n) - 1; i >= 0; i-- {
			bits = bits<<1 | (v>>uint(i))&1
			if nbits++; nbits == 8 {
				out.WriteByte(byte(bits))
				if byte(bits) == 0xFF {
					out.WriteByte(0)
				}
				bits, nbits = 0, 0
			}
		}
	}
	pad := func() {
		for nbits != 0 {
			put(1, 1)
		}
	}
	out.Write([]byte{0xFF, 0xD8})
	seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...)                   // DQT: all ones
	seg(0xC2, 8, byte(side>>8), byte(side), byte(side>>8), byte(side), 1, 1, 0x11, 0) // SOF2, one component
	seg(0xC4, append([]byte{0x00, 1}, append(make([]byte, 15), 0x00)...)...)          // DC table: one 1-bit code, category 0
	seg(0xC4, append([]byte{0x10, 1}, append(make([]byte, 15), 0xE0)...)...)          // AC table: one 1-bit code, EOB14
	blocks := (side / 8) * (side / 8)
	seg(0xDA, 1, 1, 0x00, 0, 0, 0) // DC first scan: a zero difference per block
	for i := 0; i < blocks; i++ {
		put(0, 1)
	}
	pad()
	for s := 0; s < acScans; s++ {
		seg(0xDA, 1, 1, 0x00, 1, 63, 0) // AC first scan, Ss=1 Se=63
		for left := blocks; left > 0; left -= 32767 {
			put(0, 1)       // EOB14
			put(0x3FFF, 14) // run = 2^14 + 16383 = 32767 blocks
		}
		pad()
	}
	out.Write([]byte{0xFF, 0xD9})
	return out.Bytes()
}

func TestJPEGScans(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		want int
	}{
		{"Baseline", encodeJPEG(t, halves(64, 64)), 1},
		{"BaselineWithEXIF", withOrientation(encodeJPEG(t, halves(64, 64)), 6, binary.BigEndian), 1},
		{"Progressive10", progressiveJPEG(64, 9), 10},
		{"ProgressiveStuffedBytes", progressiveJPEG(2048, 5), 6},
		{"StopsPastLimit", progressiveJPEG(16, 1000), maxJPEGScans + 1},
		{"Truncated", progressiveJPEG(64, 9)[:40], 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := jpegScans(tt.data, maxJPEGScans); got != tt.want {
				t.Fatalf("scans=%d, want %d", got, tt.want)
			}
		})
	}
}

func TestTinyWebPLiteral(t *testing.T) {
	if got := vp8l(2, 2, color.NRGBA{32, 64, 128, 255}); !bytes.Equal(got, tinyWebP) {
		t.Fatalf("vp8l builder = %#v, literal = %#v", got, tinyWebP)
	}
}

func TestSniff(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 4, 4))
	var gifBytes bytes.Buffer
	if err := gif.Encode(&gifBytes, gray, nil); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		data   []byte
		format string
	}{
		{"JPEG", encodeJPEG(t, gray), "jpeg"},
		{"PNG", encodePNG(t, gray), "png"},
		{"WebP", tinyWebP, "webp"},
		{"ErrGIF", gifBytes.Bytes(), ""},
		{"ErrText", []byte("hello, this is not a picture.jpg\n"), ""},
		{"ErrEmpty", nil, ""},
		{"ErrRIFFNotWebP", []byte("RIFF\x04\x00\x00\x00WAVE"), ""},
		{"ErrShortJPEGMagic", []byte{0xFF, 0xD8}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Sniff(tt.data)
			if tt.format == "" {
				if got, want := apperr.Code(err), apperr.EUNSUPPORTED; got != want {
					t.Fatalf("code=%q, want %q (err %v)", got, want, err)
				}
				if got, want := apperr.Message(err), msgUnsupported; got != want {
					t.Fatalf("message=%q, want %q", got, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := info.Format, tt.format; got != want {
				t.Fatalf("Format=%q, want %q", got, want)
			}
			if !strings.HasPrefix(info.ContentType, "image/") || !strings.HasPrefix(info.Ext, ".") {
				t.Fatalf("info=%+v", info)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	rgb := halves(32, 16)
	jpg := encodeJPEG(t, rgb)
	translucent := image.NewNRGBA(image.Rect(0, 0, 3, 5))
	for i := range translucent.Pix {
		translucent.Pix[i] = 0x80
	}
	gray16 := image.NewGray16(image.Rect(0, 0, 7, 2))
	var gifBytes bytes.Buffer
	if err := gif.Encode(&gifBytes, rgb, nil); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name   string
		data   []byte
		lim    Limits
		code   string // "" for success
		msg    string // substring of the user message
		format string
		w, h   int
	}{
		{name: "JPEG", data: jpg, format: "jpeg", w: 32, h: 16},
		{name: "PNGWithAlpha", data: encodePNG(t, translucent), format: "png", w: 3, h: 5},
		{name: "PNGGray16", data: encodePNG(t, gray16), format: "png", w: 7, h: 2},
		{name: "WebPLossless", data: tinyWebP, format: "webp", w: 2, h: 2},
		{name: "JPEGOrientation6", data: withOrientation(jpg, 6, binary.LittleEndian), format: "jpeg", w: 16, h: 32},
		{name: "JPEGOrientation8BigEndian", data: withOrientation(jpg, 8, binary.BigEndian), format: "jpeg", w: 16, h: 32},
		{name: "JPEGOrientation3", data: withOrientation(jpg, 3, binary.LittleEndian), format: "jpeg", w: 32, h: 16},
		{name: "JPEGOrientationBogus", data: withOrientation(jpg, 77, binary.LittleEndian), format: "jpeg", w: 32, h: 16},
		{name: "ProgressiveJPEG", data: progressiveJPEG(64, 9), format: "jpeg", w: 64, h: 64},
		{name: "ProgressiveAtScanLimit", data: progressiveJPEG(64, maxJPEGScans-1), format: "jpeg", w: 64, h: 64},
		{name: "ExactlyAtLimits", data: jpg, lim: Limits{MaxBytes: int64(len(jpg)), MaxPixels: 32 * 16, MaxSide: 32}, format: "jpeg", w: 32, h: 16},

		{name: "ErrEmpty", data: []byte{}, code: apperr.EINVALID, msg: msgEmpty},
		{name: "ErrTooManyBytes", data: jpg, lim: Limits{MaxBytes: int64(len(jpg)) - 1}, code: apperr.ETOOLARGE, msg: "too large"},
		{name: "ErrTextRenamedJPG", data: []byte("Suspect: tall, dark hair, scar over left eye.\n"), code: apperr.EUNSUPPORTED, msg: msgUnsupported},
		{name: "ErrGIF", data: gifBytes.Bytes(), code: apperr.EUNSUPPORTED, msg: msgUnsupported},
		{name: "ErrTruncatedJPEG", data: jpg[:len(jpg)/2], code: apperr.EINVALID, msg: msgCorrupt},
		{name: "ErrJPEGMagicOnly", data: []byte{0xFF, 0xD8, 0xFF}, code: apperr.EINVALID, msg: msgCorrupt},
		{name: "ErrTruncatedPNG", data: encodePNG(t, rgb)[:60], code: apperr.EINVALID, msg: msgCorrupt},
		{name: "ErrTruncatedWebP", data: tinyWebP[:len(tinyWebP)-3], code: apperr.EINVALID, msg: msgCorrupt},
		{name: "ErrPNGFlood", data: pngHeader(20000, 20000), code: apperr.EINVALID, msg: "20000×20000"},
		{name: "ErrPNGTooWide", data: pngHeader(10001, 1), code: apperr.EINVALID, msg: "10001×1"},
		{name: "ErrPNGTooManyPixels", data: pngHeader(8000, 8000), code: apperr.EINVALID, msg: "8000×8000"},
		{name: "ErrWebPFlood", data: vp8l(16384, 16384, color.NRGBA{A: 255}), code: apperr.EINVALID, msg: "16384×16384"},
		{name: "ErrJPEGScanFlood", data: progressiveJPEG(4096, 1000), code: apperr.EINVALID, msg: "too many progressive scans"},
		{name: "ErrJPEGOverMaxSide", data: jpg, lim: Limits{MaxSide: 31}, code: apperr.EINVALID, msg: "32×16"},
		{name: "ErrJPEGOverMaxPixels", data: jpg, lim: Limits{MaxPixels: 32*16 - 1}, code: apperr.EINVALID, msg: "32×16"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img, info, err := Decode(tt.data, tt.lim)
			if tt.code != "" {
				if got, want := apperr.Code(err), tt.code; got != want {
					t.Fatalf("code=%q, want %q (err %v)", got, want, err)
				}
				if got := apperr.Message(err); !strings.Contains(got, tt.msg) {
					t.Fatalf("message=%q, want it to contain %q", got, tt.msg)
				}
				if img != nil {
					t.Fatal("image returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := info.Format, tt.format; got != want {
				t.Fatalf("Format=%q, want %q", got, want)
			}
			if info.Width != tt.w || info.Height != tt.h {
				t.Fatalf("Info %dx%d, want %dx%d", info.Width, info.Height, tt.w, tt.h)
			}
			n, ok := img.(*image.NRGBA)
			if !ok {
				t.Fatalf("image is %T, want *image.NRGBA", img)
			}
			if got, want := n.Rect, image.Rect(0, 0, tt.w, tt.h); got != want {
				t.Fatalf("bounds=%v, want %v", got, want)
			}
		})
	}
}

func TestDecode_WebPPixels(t *testing.T) {
	img, _, err := Decode(tinyWebP, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.(*image.NRGBA).NRGBAAt(1, 1), (color.NRGBA{32, 64, 128, 255}); got != want {
		t.Fatalf("pixel=%v, want %v", got, want)
	}
}

// TestDecode_Orientation6Pixels checks the rotation direction, not just the
// swapped size: orientation 6 means "rotate 90° clockwise to display", so the
// stored image's left (red) half ends up on top.
func TestDecode_Orientation6Pixels(t *testing.T) {
	img, _, err := Decode(withOrientation(encodeJPEG(t, halves(32, 16)), 6, binary.LittleEndian), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	n := img.(*image.NRGBA)
	top, bottom := n.NRGBAAt(8, 4), n.NRGBAAt(8, 28)
	if top.R < 200 || top.B > 60 || bottom.B < 200 || bottom.R > 60 {
		t.Fatalf("top=%v bottom=%v, want red on top and blue below", top, bottom)
	}
}

func TestJPEGOrientation_Malformed(t *testing.T) {
	jpg := encodeJPEG(t, halves(8, 8))
	good := withOrientation(jpg, 6, binary.LittleEndian)
	// Every truncation of the APP1 segment must read as "no orientation" or
	// 6, never panic.
	for n := 2; n < 60 && n < len(good); n++ {
		if o := jpegOrientation(good[:n]); o != 1 && o != 6 {
			t.Fatalf("prefix %d: orientation %d", n, o)
		}
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"NoEXIF", jpg},
		{"BadSegmentLength", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01}},
		{"HugeIFDOffset", append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, "Exif\x00\x00II*\x00\xff\xff\xff\x7f"...)},
		{"NotTIFF", append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, "Exif\x00\x00XX*\x00\x08\x00\x00\x00"...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := jpegOrientation(tt.data); got != 1 {
				t.Fatalf("orientation=%d, want 1", got)
			}
		})
	}
}

func TestThumbnail(t *testing.T) {
	translucent := image.NewNRGBA(image.Rect(0, 0, 400, 200)) // fully transparent
	for _, tt := range []struct {
		name    string
		img     image.Image
		maxSide int
		w, h    int
		white   bool
	}{
		{"Landscape", halves(400, 200), 100, 100, 50, false},
		{"Portrait", halves(50, 300), 60, 10, 60, false},
		{"NeverEnlarged", halves(40, 20), 256, 40, 20, false},
		{"AlphaOnWhite", translucent, 64, 64, 32, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Thumbnail(tt.img, tt.maxSide)
			if err != nil {
				t.Fatal(err)
			}
			out, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := out.Bounds().Size(), image.Pt(tt.w, tt.h); got != want {
				t.Fatalf("size=%v, want %v", got, want)
			}
			if tt.white {
				r, g, b, _ := out.At(tt.w/2, tt.h/2).RGBA()
				if r>>8 < 250 || g>>8 < 250 || b>>8 < 250 {
					t.Fatalf("centre=%v,%v,%v, want white", r>>8, g>>8, b>>8)
				}
			}
		})
	}
	if _, err := Thumbnail(halves(4, 4), 0); err == nil {
		t.Fatal("Thumbnail(maxSide 0) succeeded")
	}
}

// FuzzDecode: no input may panic, and an accepted image must respect the
// limits (which is what keeps the decoders' allocations bounded).
func FuzzDecode(f *testing.F) {
	jpg := encodeJPEG(f, halves(16, 8))
	f.Add(jpg)
	f.Add(withOrientation(jpg, 6, binary.LittleEndian))
	f.Add(encodePNG(f, halves(5, 3)))
	f.Add(encodePNG(f, image.NewGray(image.Rect(0, 0, 3, 3))))
	f.Add(progressiveJPEG(32, 3))
	f.Add(tinyWebP)
	f.Add(vp8l(3, 1, color.NRGBA{1, 2, 3, 4}))
	f.Add(pngHeader(20000, 20000))
	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxSide: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, info, err := Decode(data, lim)
		if err != nil {
			switch apperr.Code(err) {
			case apperr.EINVALID, apperr.ETOOLARGE, apperr.EUNSUPPORTED:
			default:
				t.Fatalf("unexpected error code %q: %v", apperr.Code(err), err)
			}
			return
		}
		b := img.Bounds()
		if b.Dx() != info.Width || b.Dy() != info.Height {
			t.Fatalf("bounds %v, info %dx%d", b, info.Width, info.Height)
		}
		if b.Dx() > lim.MaxSide || b.Dy() > lim.MaxSide || b.Dx()*b.Dy() > lim.MaxPixels {
			t.Fatalf("accepted %v beyond the limits", b)
		}
	})
}
