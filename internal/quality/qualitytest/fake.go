// Package qualitytest has a deterministic stand-in for the face model and
// synthetic people for tests of calibration, evaluation and the quality
// page that must not depend on the real model.
package qualitytest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"

	"github.com/sketchmatch/sketchmatch/internal/embed"
)

// Encoder embeds an image as its 4x4 block means (grey, minus 128),
// L2-normalised (16-d); the aligned crop is the image resized to 112x112,
// so HOG re-ranking runs on it. ID is the model id it reports.
type Encoder struct{ ID string }

func (e Encoder) ModelID() string { return e.ID }
func (Encoder) Dim() int          { return 16 }

func (Encoder) Embed(_ context.Context, img image.Image) (*embed.Embedding, error) {
	b := img.Bounds()
	var sum, cnt [16]float64
	al := image.NewGray(image.Rect(0, 0, 112, 112))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			k := 4*((y-b.Min.Y)*4/b.Dy()) + (x-b.Min.X)*4/b.Dx()
			sum[k] += g - 128
			cnt[k]++
		}
	}
	for y := 0; y < 112; y++ {
		for x := 0; x < 112; x++ {
			al.SetGray(x, y, color.GrayModel.Convert(img.At(b.Min.X+x*b.Dx()/112, b.Min.Y+y*b.Dy()/112)).(color.Gray))
		}
	}
	v := make([]float32, 16)
	var n float64
	for k := range v {
		m := sum[k] / max(cnt[k], 1)
		v[k], n = float32(m), n+m*m
	}
	if n == 0 {
		v[0], n = 1, 1
	}
	for k := range v {
		v[k] /= float32(math.Sqrt(n))
	}
	return &embed.Embedding{Vector: v, FaceFound: true, FaceScore: 1, Aligned: al}, nil
}

func (e Encoder) EmbedBatch(ctx context.Context, imgs []image.Image) ([]*embed.Embedding, error) {
	out := make([]*embed.Embedding, len(imgs))
	for i, img := range imgs {
		out[i], _ = e.Embed(ctx, img)
	}
	return out, nil
}

// FaceImage is person i: 4x4 random blocks (64x80 pixels) with a fine
// texture. The sketch is drawn lighter, with less contrast and with noise:
// a modality offset that a calibration removes.
func FaceImage(i int, sketch bool) *image.Gray {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	var blocks [16]float64
	for k := range blocks {
		blocks[k] = 40 + 170*r.Float64()
	}
	noise := rand.New(rand.NewPCG(uint64(i), 9))
	img := image.NewGray(image.Rect(0, 0, 64, 80))
	for y := 0; y < 80; y++ {
		for x := 0; x < 64; x++ {
			v := blocks[4*(y/20)+x/16] + 20*math.Sin(float64(x*(i%5+1))/3)*math.Cos(float64(y)/4)
			if sketch {
				v = 0.6*v + 95 + 12*noise.NormFloat64()
			}
			img.SetGray(x, y, color.Gray{uint8(max(0, min(255, v)))})
		}
	}
	return img
}

// Photo and Sketch are person i's images as PNG files.
func Photo(i int) []byte  { return encode(FaceImage(i, false)) }
func Sketch(i int) []byte { return encode(FaceImage(i, true)) }

func encode(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
