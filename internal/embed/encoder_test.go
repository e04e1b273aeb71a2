package embed

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

func checkVector(t *testing.T, e *Encoder, em *Embedding) {
	t.Helper()
	if got, want := len(em.Vector), e.Dim(); got != want {
		t.Fatalf("len(Vector) = %d, want %d", got, want)
	}
	if n := dot(em.Vector, em.Vector); math.Abs(n-1) > 1e-5 {
		t.Fatalf("|Vector|^2 = %v, want 1", n)
	}
}

func TestEmbedFacePipeline(t *testing.T) {
	e := mustOpen(t, faceModelDir(t), Options{Workers: 2, Queue: 4, IntraOpThreads: 1})
	ctx := context.Background()
	imgs := devSample(t, 3)

	t.Run("Deterministic", func(t *testing.T) {
		img := loadImage(t, imgs[0])
		a, err := e.Embed(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.Embed(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		checkVector(t, e, a)
		for i := range a.Vector {
			if a.Vector[i] != b.Vector[i] {
				t.Fatalf("vector[%d]: %v then %v", i, a.Vector[i], b.Vector[i])
			}
		}
		if !a.FaceFound || a.FaceScore < 0.5 || a.Note != "" {
			t.Errorf("face found %v score %v note %q", a.FaceFound, a.FaceScore, a.Note)
		}
		if a.Aligned == nil || a.Aligned.Rect != image.Rect(0, 0, 112, 112) {
			t.Errorf("aligned crop %v", a.Aligned)
		}
	})

	t.Run("EmbedBatchEqualsEmbed", func(t *testing.T) {
		var in []image.Image
		for _, p := range imgs {
			in = append(in, loadImage(t, p))
		}
		got, err := e.EmbedBatch(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for i, img := range in {
			want, err := e.Embed(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			if d := dot(got[i].Vector, want.Vector); d < 0.999999 {
				t.Errorf("image %d: batch vs single cosine %v", i, d)
			}
		}
	})

	t.Run("MirroredPhoto", func(t *testing.T) {
		for _, p := range imgs {
			img := loadImage(t, p)
			a, err := e.Embed(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			b, err := e.Embed(ctx, imaging.FlipH(img))
			if err != nil {
				t.Fatal(err)
			}
			if c := dot(a.Vector, b.Vector); c < 0.9 {
				t.Errorf("%s: cosine with its mirror image %.4f, want >= 0.9", filepath.Base(p), c)
			}
		}
	})

	// A sketch and a photo of the same person score clearly higher than
	// sketches and photos of different people.
	t.Run("SketchMatchesPhoto", func(t *testing.T) {
		dev := filepath.Join(sharedDir(t), "eval", "dev")
		ids := []string{"cuhk-f-010-01", "cuhk-m-049-01", "ar-007", "ar-056", "xm2vts-022", "xm2vts-172"}
		var ph, sk [][]float32
		for _, id := range ids {
			for _, d := range []struct {
				sub string
				dst *[][]float32
			}{{"photos", &ph}, {"sketches", &sk}} {
				em, err := e.Embed(ctx, loadImage(t, filepath.Join(dev, d.sub, id+".jpg")))
				if err != nil {
					t.Fatal(err)
				}
				*d.dst = append(*d.dst, em.Vector)
			}
		}
		var same, other float64
		for i := range ids {
			for j := range ids {
				c := dot(sk[i], ph[j])
				if i == j {
					same += c / float64(len(ids))
				} else {
					other += c / float64(len(ids)*(len(ids)-1))
				}
			}
		}
		t.Logf("mean cosine sketch-photo: same person %.3f, different people %.3f", same, other)
		if same-other < 0.2 {
			t.Errorf("same person %.3f vs different people %.3f: gap under 0.2", same, other)
		}
	})

	t.Run("NoFaceFallsBackToCentredCrop", func(t *testing.T) {
		rng := rand.New(rand.NewSource(3))
		noise := image.NewRGBA(image.Rect(0, 0, 240, 300))
		for i := range noise.Pix {
			noise.Pix[i] = uint8(rng.Intn(256))
		}
		blank := imaging.New(300, 200, color.White)
		for _, img := range []image.Image{noise, blank} {
			em, err := e.Embed(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			checkVector(t, e, em)
			if em.FaceFound || em.Note != NoFaceNote || em.FaceScore >= 0.5 {
				t.Errorf("found %v score %v note %q", em.FaceFound, em.FaceScore, em.Note)
			}
			if em.Aligned.Rect != image.Rect(0, 0, 112, 112) {
				t.Errorf("crop %v", em.Aligned.Rect)
			}
		}
		if e.Stats().NoFace < 2 {
			t.Errorf("stats: %+v", e.Stats())
		}
	})

	t.Run("TransparentSketchIsOnWhitePaper", func(t *testing.T) {
		// A sketch saved with alpha = darkness on a transparent background
		// must embed like the same sketch on white.
		src, err := flatten(loadImage(t, imgs[len(imgs)-1]))
		if err != nil {
			t.Fatal(err)
		}
		trans := image.NewNRGBA(src.Rect)
		for i := 0; i < len(src.Pix); i += 4 {
			trans.Pix[i+3] = 255 - src.Pix[i] // black ink, alpha = 255 - grey
		}
		a, err := e.Embed(ctx, trans)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.Embed(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if c := dot(a.Vector, b.Vector); c < 0.99 {
			t.Errorf("transparent vs white background: cosine %.4f", c)
		}
	})

	t.Run("ErrInvalidImage", func(t *testing.T) {
		_, err := e.Embed(ctx, image.NewGray(image.Rect(0, 0, 8, 8)))
		if got, want := apperr.Code(err), apperr.EINVALID; got != want {
			t.Fatalf("code %q, want %q (%v)", got, want, err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		img := loadImage(t, imgs[1])
		want, err := e.Embed(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for g := range errs {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				got, err := e.Embed(ctx, img)
				if err == nil && dot(got.Vector, want.Vector) < 0.999999 {
					err = errors.New("different vector")
				}
				errs[g] = err
			}(g)
		}
		wg.Wait()
		for g, err := range errs {
			if err != nil && apperr.Code(err) != apperr.EUNAVAILABLE {
				t.Errorf("goroutine %d: %v", g, err)
			}
		}
	})
}

// Past Workers + Queue admitted requests Embed answers EUNAVAILABLE at once.
func TestEmbedBusy(t *testing.T) {
	e := mustOpen(t, faceModelDir(t), Options{Workers: 1, Queue: 2, IntraOpThreads: 1})
	for i := 0; i < cap(e.slots); i++ { // occupy every slot as running requests would
		e.slots <- struct{}{}
	}
	_, err := e.Embed(context.Background(), imaging.New(64, 64, color.White))
	if got, want := apperr.Code(err), apperr.EUNAVAILABLE; got != want {
		t.Fatalf("code %q, want %q (%v)", got, want, err)
	}
	if !strings.Contains(apperr.Message(err), "busy") {
		t.Errorf("message %q", apperr.Message(err))
	}
	if got := e.Stats().Busy; got != 1 {
		t.Errorf("busy count %d", got)
	}
	for i := 0; i < cap(e.slots); i++ {
		<-e.slots
	}
	if _, err := e.Embed(context.Background(), imaging.New(64, 64, color.White)); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
}

func TestEmbedClosedAndCancelled(t *testing.T) {
	mustInitRuntime(t)
	e, err := Open(context.Background(), faceModelDir(t), Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, imaging.New(64, 64, color.White)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := e.EmbedBatch(ctx, []image.Image{imaging.New(64, 64, color.White)}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context, batch: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = e.Embed(context.Background(), imaging.New(64, 64, color.White))
	if got, want := apperr.Code(err), apperr.EUNAVAILABLE; got != want {
		t.Fatalf("after Close: code %q, want %q (%v)", got, want, err)
	}
}

// The whole-image pipeline on a graph whose output is the mean of each
// input channel, so vectors can be computed by hand; its batch axis is
// dynamic, which exercises EmbedBatch's batching.
func TestWholePipeline(t *testing.T) {
	clipSpec := InputSpec{Color: ColorRGB, Size: [2]int{8, 8}, Resize: ResizeShortestCentreCrop, Interpolation: InterpBicubic,
		Scale: 1.0 / 255, Mean: []float64{0.48145466, 0.4578275, 0.40821073}, Std: []float64{0.26862954, 0.26130258, 0.27577711}}
	ctx := context.Background()

	t.Run("HandComputed", func(t *testing.T) {
		e := mustOpen(t, meanModelDir(t, clipSpec, false), Options{})
		if got, want := e.Dim(), 3; got != want {
			t.Fatalf("dim %d, want %d", got, want)
		}
		rgb := [3]float64{200, 30, 90}
		em, err := e.Embed(ctx, imaging.New(40, 30, color.NRGBA{200, 30, 90, 255}))
		if err != nil {
			t.Fatal(err)
		}
		var want [3]float64
		var n float64
		for c := range want {
			want[c] = (rgb[c]/255 - clipSpec.Mean[c]) / clipSpec.Std[c]
			n += want[c] * want[c]
		}
		for c := range want {
			if got := float64(em.Vector[c]); math.Abs(got-want[c]/math.Sqrt(n)) > 1e-5 {
				t.Errorf("vector %v, want %v / %v", em.Vector, want, math.Sqrt(n))
			}
		}
		if !em.FaceFound || em.Note != "" || em.Aligned.Rect != image.Rect(0, 0, 8, 8) {
			t.Errorf("whole pipeline embedding fields: %+v", em)
		}
		if g := em.Aligned.GrayAt(3, 3).Y; g != uint8(math.Round(0.299*200+0.587*30+0.114*90)) {
			t.Errorf("aligned grey %d", g)
		}
	})

	t.Run("EmbedBatchBatches", func(t *testing.T) {
		e := mustOpen(t, meanModelDir(t, clipSpec, true), Options{MaxBatch: 3})
		rng := rand.New(rand.NewSource(5))
		var imgs []image.Image
		for i := 0; i < 7; i++ {
			img := image.NewRGBA(image.Rect(0, 0, 20+rng.Intn(30), 20+rng.Intn(30)))
			for k := range img.Pix {
				img.Pix[k] = uint8(rng.Intn(256))
			}
			imgs = append(imgs, img)
		}
		imgs[4] = image.NewRGBA(image.Rect(0, 0, 4, 4)) // too small
		got, err := e.EmbedBatch(ctx, imgs)
		var be *BatchError
		if !errors.As(err, &be) {
			t.Fatalf("got %v, want a *BatchError", err)
		}
		for i, img := range imgs {
			if i == 4 {
				if got[i] != nil || apperr.Code(be.Errs[i]) != apperr.EINVALID {
					t.Errorf("image 4: %v, %v", got[i], be.Errs[i])
				}
				continue
			}
			if be.Errs[i] != nil {
				t.Fatalf("image %d: %v", i, be.Errs[i])
			}
			want, err := e.Embed(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			if d := dot(got[i].Vector, want.Vector); d < 0.999999 {
				t.Errorf("image %d: batched vs single cosine %v", i, d)
			}
		}
		// 3 images + their mirrors ran as one batch of 6.
		if e.workerState[0].embB[6] == nil {
			t.Errorf("no batch of 6 was run: batch sizes %v", keys(e.workerState[0].embB))
		}
	})
}

func keys(m map[int]*netBuffers) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}
