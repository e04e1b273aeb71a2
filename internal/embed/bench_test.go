package embed

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// threadCPUTime is the calling thread's CPU time in nanoseconds (Linux
// CLOCK_THREAD_CPUTIME_ID); the caller holds runtime.LockOSThread.
func threadCPUTime() int64 {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic(e)
	}
	return ts.Nano()
}

// Benchmarks (never timed assertions):
//
//	go test -run '^$' -bench . -benchtime 100x ./internal/embed/
//
// BenchmarkStages times each stage of the face pipeline per image with one
// intra-op thread; BenchmarkGoOverhead reports the Go-side time (everything
// but ONNX Runtime's Run) as a share of Run time; BenchmarkEmbedBatch the
// images per second of bulk import for two ways of using 2 cores.

type benchData struct {
	e      *Encoder
	w      *worker
	files  [][]byte
	imgs   []image.Image
	srcs   []*image.RGBA
	faces  []faceBox
	fives  [][5][2]float64
	crops  []rgbf
	tensor []float32
}

func setupBench(b *testing.B, opts Options, n int) *benchData {
	b.Helper()
	d := &benchData{e: mustOpen(b, faceModelDir(b), opts)}
	w, err := newWorker(d.e)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.destroy)
	d.w = w
	for _, p := range devSample(b, n/2) {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		src, err := flatten(img)
		if err != nil {
			b.Fatal(err)
		}
		c, err := w.crop(src, image.Rectangle{})
		if err != nil {
			b.Fatal(err)
		}
		d.files = append(d.files, data)
		d.imgs = append(d.imgs, img)
		d.srcs = append(d.srcs, src)
		d.faces = append(d.faces, c.face)
		d.fives = append(d.fives, c.five)
		d.crops = append(d.crops, c.img)
	}
	return d
}

func BenchmarkStages(b *testing.B) {
	d := setupBench(b, Options{IntraOpThreads: 1}, 8)
	n := len(d.srcs)
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/image")
	}
	b.Run("decode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := image.Decode(bytes.NewReader(d.files[i%n])); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("flatten", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := flatten(d.imgs[i%n]); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("detect", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := d.w.detect(d.srcs[i%n]); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("landmarks", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := d.w.landmarks(d.srcs[i%n], d.faces[i%n]); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("align", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			c, ok := alignFace(d.srcs[i%n], d.fives[i%n], 112)
			if !ok {
				b.Fatal("not aligned")
			}
			_ = toGray(c)
		}
		report(b)
	})
	b.Run(fmt.Sprintf("embed(flip_tta=%v)", d.e.m.FlipTTA), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := d.w.embedCrops([]rgbf{d.crops[i%n]}); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("all-after-decode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			src, err := flatten(d.imgs[i%n])
			if err != nil {
				b.Fatal(err)
			}
			c, err := d.w.crop(src, image.Rectangle{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := d.w.embedCrops([]rgbf{c.img}); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}

// BenchmarkGoOverhead runs Embed (through the pool) and reports the time
// spent outside ONNX Runtime's Run as a percentage of Run time: inside the
// worker (preprocessing, warping, tensors, normalising) and end to end
// (adding the hand-off to and from the worker).
func BenchmarkGoOverhead(b *testing.B) {
	d := setupBench(b, Options{Workers: 1, IntraOpThreads: 1}, 8)
	ctx := context.Background()
	before := d.e.Stats()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := d.e.Embed(ctx, d.imgs[i%len(d.imgs)]); err != nil {
			b.Fatal(err)
		}
	}
	wall := time.Since(start)
	after := d.e.Stats()
	run := after.RunTime - before.RunTime
	pipe := after.PipelineTime - before.PipelineTime
	b.ReportMetric(100*float64(pipe-run)/float64(run), "%go-in-worker")
	b.ReportMetric(100*float64(wall-run)/float64(run), "%go-end-to-end")
	b.ReportMetric(float64(run.Microseconds())/1000/float64(b.N), "ms-ort/image")
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "ms/image")
}

// BenchmarkGoOverheadCPU measures the same share in CPU time of one thread
// (one intra-op thread, so ONNX Runtime computes on the calling thread),
// which a busy shared machine distorts far less than wall time.
func BenchmarkGoOverheadCPU(b *testing.B) {
	d := setupBench(b, Options{Workers: 1, IntraOpThreads: 1}, 8)
	sessions := []*netSession{d.e.det, d.e.lmk, d.e.emb}
	for _, s := range sessions {
		s.cpuClock = threadCPUTime
		s.cpuNanos.Store(0)
	}
	defer func() {
		for _, s := range sessions {
			s.cpuClock = nil
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	c0 := threadCPUTime()
	for i := 0; i < b.N; i++ {
		src, err := flatten(d.imgs[i%len(d.imgs)])
		if err != nil {
			b.Fatal(err)
		}
		c, err := d.w.crop(src, image.Rectangle{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.w.embedCrops([]rgbf{c.img}); err != nil {
			b.Fatal(err)
		}
	}
	total := threadCPUTime() - c0
	var run int64
	for _, s := range sessions {
		run += s.cpuNanos.Load()
	}
	b.ReportMetric(100*float64(total-run)/float64(run), "%go-cpu")
	b.ReportMetric(float64(run)/1e6/float64(b.N), "ms-ort-cpu/image")
	b.ReportMetric(float64(total-run)/1e6/float64(b.N), "ms-go-cpu/image")
}

// BenchmarkEmbedBatch is bulk import on 2 cores: 32 decoded images per
// EmbedBatch call, with one worker using 2 intra-op threads or two workers
// using one each.
func BenchmarkEmbedBatch(b *testing.B) {
	for _, cfg := range []struct{ workers, intra int }{{1, 2}, {2, 1}} {
		b.Run(fmt.Sprintf("workers=%d,intra_op=%d", cfg.workers, cfg.intra), func(b *testing.B) {
			d := setupBench(b, Options{Workers: cfg.workers, IntraOpThreads: cfg.intra}, 32)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.e.EmbedBatch(ctx, d.imgs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(d.imgs))/b.Elapsed().Seconds(), "images/s")
		})
	}
}
