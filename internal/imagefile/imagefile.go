// Package imagefile turns untrusted upload bytes into a decoded image, or a
// user-facing apperr error.
//
// Every upload is hostile until proven otherwise. The order of checks is the
// defence: size, then type by content (never by the client's file name or
// Content-Type), then the header's dimensions (a 20000×20000 PNG is a few
// hundred bytes but would decode into 1.6 GB), and only then the decoder, with
// its panics recovered.
package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/disintegration/imaging"
	"golang.org/x/image/webp"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// Limits bound what Decode accepts. A field ≤ 0 means its default.
type Limits struct {
	MaxBytes  int64 // file size
	MaxPixels int   // width × height
	MaxSide   int   // width and height each
}

// GalleryMaxPixels is the pixel limit of a reference photo (40 MP): the
// one constant behind every 40 MP check (config, gallery, eval).
const GalleryMaxPixels = 40_000_000

// DefaultLimits returns 16 MiB, 40 megapixels, 10 000 pixels per side.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 16 << 20, MaxPixels: GalleryMaxPixels, MaxSide: 10_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	if l.MaxSide <= 0 {
		l.MaxSide = d.MaxSide
	}
	return l
}

// Info describes an accepted image.
type Info struct {
	Format      string // "jpeg", "png" or "webp"
	ContentType string // "image/jpeg", "image/png", "image/webp"
	Ext         string // ".jpg", ".png", ".webp": for content-addressed storage names
	// Width and Height are as displayed, i.e. after EXIF orientation. Sniff
	// leaves them 0; Decode fills them.
	Width, Height int
}

// maxJPEGScans bounds the scans of a progressive JPEG (see Decode).
const maxJPEGScans = 64

// User-facing messages (also matched by tests).
const (
	msgEmpty       = "The file is empty."
	msgUnsupported = "Unsupported file type: only JPEG, PNG and WebP images are accepted."
	msgCorrupt     = "The image could not be decoded (corrupt or truncated file)."
)

var (
	magicJPEG = []byte{0xFF, 0xD8, 0xFF}
	magicPNG  = []byte("\x89PNG\r\n\x1a\n")
)

// Sniff identifies JPEG, PNG and WebP by their magic bytes. Anything else,
// whatever it is called, is EUNSUPPORTED.
func Sniff(data []byte) (Info, error) {
	switch {
	case bytes.HasPrefix(data, magicJPEG):
		return Info{Format: "jpeg", ContentType: "image/jpeg", Ext: ".jpg"}, nil
	case bytes.HasPrefix(data, magicPNG):
		return Info{Format: "png", ContentType: "image/png", Ext: ".png"}, nil
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return Info{Format: "webp", ContentType: "image/webp", Ext: ".webp"}, nil
	}
	return Info{}, apperr.Errorf(apperr.EUNSUPPORTED, msgUnsupported)
}

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// The codecs are called directly rather than through image.Decode, so a
// format registered elsewhere in the binary (imaging registers GIF, BMP and
// TIFF) can never be reached with upload bytes.
var codecs = map[string]codec{
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"png":  {png.DecodeConfig, png.Decode},
	"webp": {webp.DecodeConfig, webp.Decode},
}

// Probe runs every check Decode makes before decoding (size, type by
// content, the header's dimensions against lim) without decoding: a cheap
// early refusal, for example of a sketch over its own, lower pixel limit.
// Info's Width and Height are the header's (before EXIF orientation).
func Probe(data []byte, lim Limits) (info Info, err error) {
	lim = lim.withDefaults()
	if len(data) == 0 {
		return Info{}, apperr.Errorf(apperr.EINVALID, msgEmpty)
	}
	if int64(len(data)) > lim.MaxBytes {
		return Info{}, apperr.Errorf(apperr.ETOOLARGE,
			"The file is too large (%s; the limit is %s).", humanBytes(int64(len(data))), humanBytes(lim.MaxBytes))
	}
	info, err = Sniff(data)
	if err != nil {
		return Info{}, err
	}
	defer func() {
		if r := recover(); r != nil {
			err = apperr.Wrap(apperr.EINVALID, fmt.Errorf("%s header panic: %v", info.Format, r), msgCorrupt)
			info = Info{}
		}
	}()
	// Pixel-flood guard: the header's dimensions, before any pixel memory.
	cfg, err := codecs[info.Format].config(bytes.NewReader(data))
	if err != nil {
		return Info{}, apperr.Wrap(apperr.EINVALID, err, msgCorrupt)
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 {
		return Info{}, apperr.Wrap(apperr.EINVALID, fmt.Errorf("dimensions %dx%d", w, h), msgCorrupt)
	}
	if w > lim.MaxSide || h > lim.MaxSide || int64(w)*int64(h) > int64(lim.MaxPixels) {
		return Info{}, apperr.Errorf(apperr.EINVALID,
			"The image is too large: %d×%d pixels (the limit is %d pixels per side and %.1f megapixels).",
			w, h, lim.MaxSide, float64(lim.MaxPixels)/1e6)
	}
	info.Width, info.Height = w, h
	return info, nil
}

// Decode checks and decodes an uploaded image. The result is an
// *image.NRGBA with its origin at (0,0), turned upright according to the
// EXIF orientation of a JPEG.
//
// Its pixels are taken from the process-wide decode budget (see
// SetDecodeBudget) after the header is checked and before the decoder
// allocates, and given back when Decode returns. Go's decoders cannot
// decode to a reduced size (no DCT scaling in image/jpeg, none in PNG or
// WebP), so the pixel limits and the budget are what bound the memory.
func Decode(data []byte, lim Limits) (img image.Image, info Info, err error) {
	info, err = Probe(data, lim)
	if err != nil {
		return nil, Info{}, err
	}
	w, h := info.Width, info.Height
	info.Width, info.Height = 0, 0
	c := codecs[info.Format]
	release, err := budget.acquire(int64(w)*int64(h), BudgetWait)
	if err != nil {
		return nil, Info{}, err
	}
	defer release()

	// The decoders are not hardened against every malformed input; a panic
	// in one must fail this upload, not the request (or the import run).
	defer func() {
		if r := recover(); r != nil {
			err = apperr.Wrap(apperr.EINVALID, fmt.Errorf("%s decoder panic: %v", info.Format, r), msgCorrupt)
			img, info = nil, Info{}
		}
	}()

	// CPU guard: image/jpeg has no limit on progressive scans, and each scan
	// walks every block of the image however few bytes it takes (an EOB run
	// covers 32767 blocks in 15 bits). Measured on the dev machine: a 68 KB
	// file of 1000 scans at 4096×4096 took 13.7 s to decode. Encoders emit
	// about 10 (libjpeg's progressive script) and rarely more than 20.
	if info.Format == "jpeg" {
		if n := jpegScans(data, maxJPEGScans); n > maxJPEGScans {
			return nil, Info{}, apperr.Errorf(apperr.EINVALID,
				"The JPEG has too many progressive scans (more than %d); please save it again as a standard JPEG.", maxJPEGScans)
		}
	}

	src, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, Info{}, apperr.Wrap(apperr.EINVALID, err, msgCorrupt)
	}
	// The decoders check their own header against the pixel data (x/image/webp
	// rejects a VP8X canvas that disagrees with its VP8/VP8L frame), but the
	// guard above is only as good as that agreement: verify it.
	if b := src.Bounds(); b.Dx() != w || b.Dy() != h {
		return nil, Info{}, apperr.Wrap(apperr.EINVALID,
			fmt.Errorf("decoded %v, header said %dx%d", b, w, h), msgCorrupt)
	}

	orientation := 1
	if info.Format == "jpeg" {
		orientation = jpegOrientation(data)
	}
	out := orient(src, orientation)
	info.Width, info.Height = out.Bounds().Dx(), out.Bounds().Dy()
	return out, info, nil
}

// orient returns img turned upright for an EXIF orientation (1..8), as an
// *image.NRGBA at the origin.
func orient(img image.Image, o int) *image.NRGBA {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img) // 90° clockwise: imaging rotates counter-clockwise
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n // PNG with alpha already decodes to this: no copy
	}
	return imaging.Clone(img)
}

// Thumbnail returns img fitted within maxSide×maxSide (never enlarged,
// Lanczos), with any transparency flattened onto white, as JPEG bytes.
func Thumbnail(img image.Image, maxSide int) ([]byte, error) {
	if maxSide <= 0 {
		return nil, fmt.Errorf("imagefile: thumbnail size %d", maxSide)
	}
	if b := img.Bounds(); b.Empty() {
		return nil, errors.New("imagefile: thumbnail of an empty image")
	}
	small := imaging.Fit(img, maxSide, maxSide, imaging.Lanczos)
	flat := image.NewRGBA(small.Bounds())
	draw.Draw(flat, flat.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(flat, flat.Bounds(), small, small.Bounds().Min, draw.Over)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, flat, &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("imagefile: thumbnail: %w", err)
	}
	return buf.Bytes(), nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
