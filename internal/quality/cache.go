package quality

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/sketchmatch/sketchmatch/internal/embed"
	"github.com/sketchmatch/sketchmatch/internal/gallery"
)

// CachedEncoder memoises an encoder's answers by the decoded pixels, so
// repeated evaluations of the same images (several configurations, folds,
// tests in one binary) run the model once per image. Everything around
// the model (decoding, centring, index, re-ranking, bands, records) still
// runs in full on every call; the encoder is deterministic, so the answers
// are the ones it would give again. Safe for concurrent use. The
// embeddings handed out share their Aligned crop, which must not be
// modified (the gallery only reads it).
type CachedEncoder struct {
	Inner gallery.Encoder

	mu           sync.Mutex
	m            map[[32]byte]*embed.Embedding
	hits, misses int
}

// NewCachedEncoder wraps inner.
func NewCachedEncoder(inner gallery.Encoder) *CachedEncoder {
	return &CachedEncoder{Inner: inner, m: map[[32]byte]*embed.Embedding{}}
}

func (c *CachedEncoder) ModelID() string { return c.Inner.ModelID() }
func (c *CachedEncoder) Dim() int        { return c.Inner.Dim() }

// Stats returns cache hits and misses so far.
func (c *CachedEncoder) Stats() (hits, misses int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

func (c *CachedEncoder) get(k [32]byte) *embed.Embedding {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if ok {
		c.hits++
		return clone(e)
	}
	c.misses++
	return nil
}

func (c *CachedEncoder) put(k [32]byte, e *embed.Embedding) {
	c.mu.Lock()
	c.m[k] = clone(e)
	c.mu.Unlock()
}

func clone(e *embed.Embedding) *embed.Embedding {
	cp := *e
	cp.Vector = append([]float32(nil), e.Vector...)
	return &cp
}

// Embed implements gallery.Encoder.
func (c *CachedEncoder) Embed(ctx context.Context, img image.Image) (*embed.Embedding, error) {
	k := pixelKey(img)
	if e := c.get(k); e != nil {
		return e, nil
	}
	e, err := c.Inner.Embed(ctx, img)
	if err != nil {
		return nil, err
	}
	c.put(k, e)
	return e, nil
}

// EmbedBatch implements gallery.Encoder: cached images are answered at
// once, the rest go to the inner encoder in one batch.
func (c *CachedEncoder) EmbedBatch(ctx context.Context, imgs []image.Image) ([]*embed.Embedding, error) {
	out := make([]*embed.Embedding, len(imgs))
	keys := make([][32]byte, len(imgs))
	var todo []int
	var batch []image.Image
	for i, img := range imgs {
		keys[i] = pixelKey(img)
		if e := c.get(keys[i]); e != nil {
			out[i] = e
			continue
		}
		todo = append(todo, i)
		batch = append(batch, img)
	}
	if len(batch) == 0 {
		return out, nil
	}
	res, err := c.Inner.EmbedBatch(ctx, batch)
	var be *embed.BatchError
	if err != nil && !errors.As(err, &be) {
		return nil, err
	}
	var errs []error
	if be != nil {
		errs = make([]error, len(imgs))
	}
	for n, i := range todo {
		if res[n] == nil {
			if be != nil {
				errs[i] = be.Errs[n]
			}
			continue
		}
		out[i] = res[n]
		c.put(keys[i], res[n])
	}
	if be != nil {
		return out, &embed.BatchError{Errs: errs}
	}
	return out, nil
}

// pixelKey identifies an image by its type, geometry and pixels.
func pixelKey(img image.Image) [32]byte {
	h := sha256.New()
	b := img.Bounds()
	var hdr [16]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(b.Min.X))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(b.Min.Y))
	binary.LittleEndian.PutUint32(hdr[8:], uint32(b.Dx()))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(b.Dy()))
	fmt.Fprintf(h, "%T", img)
	h.Write(hdr[:])
	switch m := img.(type) {
	case *image.YCbCr:
		fmt.Fprintf(h, "%d %d %d", m.SubsampleRatio, m.YStride, m.CStride)
		h.Write(m.Y)
		h.Write(m.Cb)
		h.Write(m.Cr)
	case *image.Gray:
		fmt.Fprintf(h, "%d", m.Stride)
		h.Write(m.Pix)
	case *image.RGBA:
		fmt.Fprintf(h, "%d", m.Stride)
		h.Write(m.Pix)
	case *image.NRGBA:
		fmt.Fprintf(h, "%d", m.Stride)
		h.Write(m.Pix)
	default:
		var px [16]byte
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, a := img.At(x, y).RGBA()
				binary.LittleEndian.PutUint32(px[0:], r)
				binary.LittleEndian.PutUint32(px[4:], g)
				binary.LittleEndian.PutUint32(px[8:], bl)
				binary.LittleEndian.PutUint32(px[12:], a)
				h.Write(px[:])
			}
		}
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}
