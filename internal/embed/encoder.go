package embed

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sketchmatch/sketchmatch/internal/apperr"
)

// NoFaceNote is Embedding.Note when the face pipeline found no face.
const NoFaceNote = "No face detected: a centred crop was used."

// Embedding is the encoder's answer for one image.
type Embedding struct {
	Vector []float32 // L2-normalised, len == Dim()
	// FaceFound is false when the detector found no face and a centred crop
	// was embedded instead (pipeline "face"); always true for "whole".
	FaceFound bool
	// FaceScore is the detector's best face probability (also when it was
	// below the threshold); 0 for pipeline "whole".
	FaceScore float32
	// Aligned is the crop that was embedded, in grey: the 112x112 aligned
	// face for the face pipeline, the preprocessed image for "whole". It
	// feeds a second-stage HOG re-ranker.
	Aligned *image.Gray
	// AlignedWide is a wider grey crop from the same five points (the
	// template pulled towards the centre by WideCropShrink, 112x112), which
	// keeps hair and the face outline for a second HOG descriptor. Without
	// a face (or for "whole") it is the same image as Aligned.
	AlignedWide *image.Gray
	Note        string // human-readable, shown to the officer and stored; "" when nothing to say
	// Face is the face-quality record (pipeline "face"; for "whole" only
	// Found is set).
	Face FaceQuality
}

// Options size the inference pool.
type Options struct {
	// Workers run inference concurrently (default 1). Each has its own
	// tensors; the ONNX Runtime sessions are shared.
	Workers int
	// Queue is how many requests may wait beyond the ones being worked on;
	// past it Embed answers EUNAVAILABLE at once.
	Queue int
	// IntraOpThreads per session (0: ONNX Runtime's default, all cores).
	IntraOpThreads int
	// MaxBatch caps the images per Run in EmbedBatch when the embedder has a
	// dynamic batch axis (default 8).
	MaxBatch int
	// Nice (0..19, Linux) lowers the scheduling priority of the inference
	// threads (the workers and ONNX Runtime's pool threads), so page views
	// and other requests are served first and inference takes the CPU
	// time left over. 0 leaves the priority alone.
	Nice   int
	Logger *slog.Logger
}

// Stats are cumulative counters of an Encoder.
type Stats struct {
	Images       int64         // images embedded
	NoFace       int64         // face pipeline: no face found, centred crop used
	Busy         int64         // Embed calls refused because the queue was full
	Failed       int64         // images that returned an error
	RunTime      time.Duration // total time inside ONNX Runtime Run
	PipelineTime time.Duration // total time workers spent on images (includes RunTime)
}

// Encoder embeds images with one model folder through a bounded pool.
type Encoder struct {
	nice     int
	m        *Manifest
	dir      string
	id       string
	provider string
	log      *slog.Logger
	maxBatch int
	workers  int

	emb, det, lmk *netSession

	mu     sync.RWMutex // guards closed against submissions racing Close
	closed bool
	slots  chan struct{} // admitted requests: being worked on or waiting
	jobs   chan *job
	wg     sync.WaitGroup

	runNanos, pipeNanos              atomic.Int64
	nImages, nNoFace, nBusy, nFailed atomic.Int64
	closeOnce                        sync.Once
	closeErr                         error
	workerState                      []*worker
}

type job struct {
	ctx  context.Context
	imgs []image.Image
	// boxes, when set, has one entry per image: a non-empty rectangle is a
	// face marked by hand (image pixels), used instead of detection.
	boxes []image.Rectangle
	res   []*Embedding
	errs  []error
	done  chan struct{}
}

// Open verifies the model folder (manifest, checksums, ONNX shapes), creates
// the ONNX Runtime sessions once and starts the pool. InitRuntime must have
// succeeded.
func Open(ctx context.Context, modelDir string, opts Options) (*Encoder, error) {
	ready, provider, fallback, rtLog := runtimeState()
	if !ready {
		return nil, ErrRuntimeNotInitialised
	}
	if opts.Logger == nil {
		opts.Logger = rtLog
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Queue < 0 {
		return nil, fmt.Errorf("embed: Options.Queue must be >= 0, got %d", opts.Queue)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 8
	}
	m, ios, err := verifyModel(modelDir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e := &Encoder{
		m: m, dir: modelDir, id: m.ModelID(), provider: provider, log: opts.Logger,
		maxBatch: opts.MaxBatch, workers: opts.Workers,
		slots: make(chan struct{}, opts.Workers+opts.Queue),
		jobs:  make(chan *job, opts.Workers+opts.Queue),
	}
	cfg := sessionConfig{intraOpThreads: opts.IntraOpThreads, cuda: provider == ProviderCUDA, denormalsAreZero: true}
	e.nice = opts.Nice
	ok := false
	defer func() {
		if !ok {
			e.destroySessions()
		}
	}()
	// Sessions are created on a thread with the inference priority, so the
	// intra-op pool threads ONNX Runtime starts now inherit it.
	err = onNicedThread(opts.Nice, func() error { return e.createSessions(ios, cfg, fallback) })
	if err != nil {
		return nil, err
	}
	for i := 0; i < opts.Workers; i++ {
		w, err := newWorker(e)
		if err != nil {
			for _, w := range e.workerState {
				w.destroy()
			}
			return nil, err
		}
		e.workerState = append(e.workerState, w)
	}
	// Warm up: the first Run of a session is much slower than the rest.
	if err := e.workerState[0].warmUp(); err != nil {
		for _, w := range e.workerState {
			w.destroy()
		}
		return nil, fmt.Errorf("%s: warm-up run: %w", modelDir, err)
	}
	e.runNanos.Store(0)
	for _, w := range e.workerState {
		e.wg.Add(1)
		go w.loop()
	}
	ok = true
	e.log.Info("model loaded", "model", e.id, "pipeline", m.Pipeline, "flip_tta", m.FlipTTA,
		"dim", e.Dim(), "provider", e.provider, "workers", opts.Workers, "queue", opts.Queue, "intra_op_threads", opts.IntraOpThreads)
	return e, nil
}

// createSessions creates the ONNX Runtime session of every network the
// manifest names (with the CUDA fallback when allowed).
func (e *Encoder) createSessions(ios map[string]*netIO, cfg sessionConfig, fallback string) error {
	for _, s := range []struct {
		role string
		dst  **netSession
	}{{"embedder", &e.emb}, {"detector", &e.det}, {"landmarks", &e.lmk}} {
		io := ios[s.role]
		if io == nil {
			continue
		}
		ns, err := newNetSession(io, cfg, &e.runNanos)
		if err != nil && cfg.cuda && fallback == ProviderCPU {
			e.log.Warn("CUDA session failed, running on the CPU (ORT_CUDA_FALLBACK=cpu)", "file", io.path, "err", err)
			cfg.cuda, e.provider = false, ProviderCPU
			ns, err = newNetSession(io, cfg, &e.runNanos)
		}
		if err != nil {
			if cfg.cuda {
				err = fmt.Errorf("%w. %s Set ORT_CUDA_FALLBACK=cpu to run on the CPU instead", err, cudaHelp(rt.libPath))
			}
			return err
		}
		*s.dst = ns
	}
	return nil
}

// ModelID identifies the vectors this encoder produces (see Manifest.ModelID).
func (e *Encoder) ModelID() string { return e.id }

// Name is the manifest's model name.
func (e *Encoder) Name() string { return e.m.Name }

// Dim is the length of every vector.
func (e *Encoder) Dim() int { return e.m.Networks.Embedder.Output.Dim }

// Manifest is the verified manifest (do not modify it).
func (e *Encoder) Manifest() *Manifest { return e.m }

// Provider is the execution provider the sessions run on: cpu or cuda.
func (e *Encoder) Provider() string { return e.provider }

// Stats returns cumulative counters.
func (e *Encoder) Stats() Stats {
	return Stats{
		Images: e.nImages.Load(), NoFace: e.nNoFace.Load(), Busy: e.nBusy.Load(), Failed: e.nFailed.Load(),
		RunTime: time.Duration(e.runNanos.Load()), PipelineTime: time.Duration(e.pipeNanos.Load()),
	}
}

var errClosed = apperr.Errorf(apperr.EUNAVAILABLE, "The face encoder is shutting down.")

// Full reports whether every worker is busy and the queue is full, so an
// Embed now would be refused. It is a hint (the pool may free up a moment
// later): callers use it to refuse work early, before decoding an upload.
func (e *Encoder) Full() bool {
	if len(e.slots) >= cap(e.slots) {
		e.nBusy.Add(1)
		return true
	}
	return false
}

// Embed embeds one image through the pool. When every worker is busy and
// the queue is full it returns EUNAVAILABLE at once (the web layer answers
// 503 with Retry-After); an image too small to use is EINVALID.
func (e *Encoder) Embed(ctx context.Context, img image.Image) (*Embedding, error) {
	return e.EmbedBox(ctx, img, image.Rectangle{})
}

// EmbedBox is Embed with the face marked by hand: box (in the pixels of
// img) replaces the detector, the landmarks and alignment run inside it.
// An empty box means "detect". A box outside the image, or too small to
// hold a face, is EINVALID.
func (e *Encoder) EmbedBox(ctx context.Context, img image.Image, box image.Rectangle) (*Embedding, error) {
	if !box.Empty() {
		if err := CheckBox(box, img.Bounds()); err != nil {
			return nil, err
		}
	}
	j := &job{ctx: ctx, imgs: []image.Image{img}, boxes: []image.Rectangle{box}, done: make(chan struct{})}
	if err := e.submit(ctx, j, false); err != nil {
		return nil, err
	}
	select {
	case <-j.done:
		return j.res[0], j.errs[0]
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// BatchError is returned by EmbedBatch when some images failed; Errs has
// one entry per image, nil where the image was embedded.
type BatchError struct{ Errs []error }

func (b *BatchError) Error() string {
	n, first := 0, -1
	for i, err := range b.Errs {
		if err != nil {
			n++
			if first < 0 {
				first = i
			}
		}
	}
	return fmt.Sprintf("%d of %d images failed; first (#%d): %v", n, len(b.Errs), first, b.Errs[first])
}

// Unwrap lets errors.Is/As see the individual errors.
func (b *BatchError) Unwrap() []error {
	var out []error
	for _, err := range b.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// EmbedBatch embeds imgs for bulk work (import, reindex): it waits for room
// in the queue instead of answering busy, keeps at most one chunk per
// worker in flight so interactive searches can still queue, and runs
// several images per ONNX Runtime call when the embedder's batch axis is
// dynamic. The result has one entry per image; when some failed, the error
// is a *BatchError and their entries are nil. A cancelled ctx stops it.
func (e *Encoder) EmbedBatch(ctx context.Context, imgs []image.Image) ([]*Embedding, error) {
	res := make([]*Embedding, len(imgs))
	errs := make([]error, len(imgs))
	chunk := 1
	if e.emb.io.dynBatch {
		chunk = e.maxBatch
	}
	inflight := make(chan struct{}, e.workers)
	var wg sync.WaitGroup
	var submitErr error
	for start := 0; start < len(imgs); start += chunk {
		end := min(start+chunk, len(imgs))
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			submitErr = ctx.Err()
		}
		if submitErr != nil {
			break
		}
		j := &job{ctx: ctx, imgs: imgs[start:end], done: make(chan struct{})}
		if err := e.submit(ctx, j, true); err != nil {
			<-inflight
			submitErr = err
			break
		}
		wg.Add(1)
		go func(start int) {
			defer wg.Done()
			<-j.done
			copy(res[start:], j.res)
			copy(errs[start:], j.errs)
			<-inflight
		}(start)
	}
	wg.Wait()
	if submitErr != nil {
		return nil, submitErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return res, &BatchError{Errs: errs}
		}
	}
	return res, nil
}

// submit admits j into the pool: at once or EUNAVAILABLE (wait false), or
// waiting for room (wait true).
func (e *Encoder) submit(ctx context.Context, j *job, wait bool) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return errClosed
	}
	if wait {
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		select {
		case e.slots <- struct{}{}:
		default:
			e.nBusy.Add(1)
			return apperr.Errorf(apperr.EUNAVAILABLE, "The face encoder is busy; please try again in a moment.")
		}
	}
	e.jobs <- j // never blocks: jobs has as much room as slots
	return nil
}

// Close stops accepting work, finishes what was admitted, and releases the
// ONNX Runtime sessions. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		close(e.jobs)
		e.mu.Unlock()
		e.wg.Wait()
		e.closeErr = e.destroySessions()
	})
	return e.closeErr
}

func (e *Encoder) destroySessions() error {
	return errors.Join(e.emb.destroy(), e.det.destroy(), e.lmk.destroy())
}

// worker holds one goroutine's tensors.
type worker struct {
	e          *Encoder
	detB, lmkB *netBuffers
	embB       map[int]*netBuffers // by batch size
	scr        scratch             // the detector's and landmarks' resampling memory
}

func newWorker(e *Encoder) (*worker, error) {
	w := &worker{e: e, embB: map[int]*netBuffers{}}
	var err error
	if _, err = w.embBuffers(1); err != nil {
		return nil, err
	}
	if e.det != nil {
		if w.detB, err = e.det.newBuffers(1); err != nil {
			w.destroy()
			return nil, err
		}
		if w.lmkB, err = e.lmk.newBuffers(1); err != nil {
			w.destroy()
			return nil, err
		}
	}
	return w, nil
}

func (w *worker) embBuffers(batch int) (*netBuffers, error) {
	if b := w.embB[batch]; b != nil {
		return b, nil
	}
	b, err := w.e.emb.newBuffers(batch)
	if err != nil {
		return nil, err
	}
	w.embB[batch] = b
	return b, nil
}

func (w *worker) destroy() {
	w.detB.destroy()
	w.lmkB.destroy()
	for _, b := range w.embB {
		b.destroy()
	}
}

func (w *worker) warmUp() error {
	for _, nb := range []struct {
		n *netSession
		b *netBuffers
	}{{w.e.emb, w.embB[1]}, {w.e.det, w.detB}, {w.e.lmk, w.lmkB}} {
		if nb.n != nil {
			if err := nb.n.run(nb.b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *worker) loop() {
	defer w.e.wg.Done()
	defer w.destroy()
	for j := range w.e.jobs {
		w.do(j)
		<-w.e.slots // free the slot before waking the caller, so a caller that submits again at once finds room
		close(j.done)
	}
}

func (w *worker) do(j *job) {
	j.res = make([]*Embedding, len(j.imgs))
	j.errs = make([]error, len(j.imgs))
	if err := j.ctx.Err(); err != nil { // gave up while queued
		for i := range j.errs {
			j.errs[i] = err
		}
		return
	}
	t := time.Now()
	defer func() {
		if r := recover(); r != nil {
			w.e.log.Error("embedding panicked", "panic", r, "model", w.e.id)
			for i := range j.errs {
				if j.res[i] == nil && j.errs[i] == nil {
					j.errs[i] = apperr.Errorf(apperr.EINTERNAL, "embedding failed: %v", r)
				}
			}
		}
		w.e.pipeNanos.Add(int64(time.Since(t)))
		for i := range j.errs {
			if j.errs[i] != nil {
				w.e.nFailed.Add(1)
			} else {
				w.e.nImages.Add(1)
			}
		}
	}()
	w.embedImages(j.imgs, j.boxes, j.res, j.errs)
}

// embedImages runs the pipeline on imgs, filling res and errs.
func (w *worker) embedImages(imgs []image.Image, boxes []image.Rectangle, res []*Embedding, errs []error) {
	crops := make([]rgbf, 0, len(imgs))
	idx := make([]int, 0, len(imgs))
	for i, img := range imgs {
		src, err := flatten(img)
		if err != nil {
			errs[i] = err
			continue
		}
		var box image.Rectangle
		if boxes != nil {
			box = boxes[i].Sub(img.Bounds().Min)
		}
		c, err := w.crop(src, box)
		if err != nil {
			errs[i] = err
			continue
		}
		res[i] = c.em
		crops = append(crops, c.img)
		idx = append(idx, i)
	}
	if len(crops) == 0 {
		return
	}
	vecs, err := w.embedCrops(crops)
	for k, i := range idx {
		if err != nil {
			res[i], errs[i] = nil, err
			continue
		}
		res[i].Vector = vecs[k]
	}
}

// cropResult is one image made ready for the embedder.
type cropResult struct {
	em   *Embedding // face fields filled in, no vector yet
	img  rgbf       // at the embedder's input size
	face faceBox    // face pipeline: the best detection
	five [5][2]float64
}

// crop turns one flattened image into the crop the embedder sees. A
// non-empty box is a face marked by hand and replaces detection.
func (w *worker) crop(src *image.RGBA, box image.Rectangle) (cropResult, error) {
	spec := &w.e.m.Networks.Embedder.Input
	if w.e.m.Pipeline == PipelineWhole {
		c := preprocess(src, spec)
		g := toGray(c)
		return cropResult{em: &Embedding{FaceFound: true, Aligned: g, AlignedWide: g, Face: FaceQuality{Found: true}}, img: c}, nil
	}
	var q FaceQuality
	var face faceBox
	if !box.Empty() {
		face = faceBox{x1: float64(box.Min.X), y1: float64(box.Min.Y), x2: float64(box.Max.X), y2: float64(box.Max.Y)}
		q.Manual, q.Faces = true, 1
	} else {
		faces, best, err := w.detect(src)
		if err != nil {
			return cropResult{}, err
		}
		face, q.Faces, q.Confidence = best, len(faces), best.score
	}
	if q.Manual || face.score >= float32(w.e.m.Networks.Detector.ScoreThreshold) {
		pts, err := w.landmarks(src, face)
		if err != nil {
			return cropResult{}, err
		}
		five := fivePoints(pts)
		if c, ok := alignFaceWith(&w.scr, src, five, spec.Size[0], 1); ok {
			q.Found, q.Box = true, face.rect()
			q.geometry(five)
			g := toGray(c)
			q.Sharpness = laplacianVariance(g)
			em := &Embedding{FaceFound: true, FaceScore: face.score, Aligned: g, AlignedWide: g, Face: q}
			if wide, ok := alignFaceWith(&w.scr, src, five, 112, WideCropShrink); ok {
				em.AlignedWide = toGray(wide)
			}
			return cropResult{em: em, img: c, face: face, five: five}, nil
		}
		if q.Manual {
			return cropResult{}, apperr.Errorf(apperr.EINVALID, "No face could be aligned inside the marked box: draw the box around the whole face, from the hairline to the chin.")
		}
	}
	w.e.nNoFace.Add(1)
	c := preprocess(src, spec)
	q.Found = false
	g := toGray(c)
	em := &Embedding{FaceFound: false, FaceScore: face.score, Aligned: g, AlignedWide: g, Note: NoFaceNote, Face: q}
	return cropResult{em: em, img: c, face: face}, nil
}

// detect runs the face detector on the whole image and returns the faces
// above the threshold (most confident first) and the best anchor (also
// when it is below the threshold: its score says how close it came).
func (w *worker) detect(src *image.RGBA) ([]faceBox, faceBox, error) {
	spec := &w.e.m.Networks.Detector.Input
	writeTensor(w.detB.in.GetData(), preprocessWith(&w.scr, src, spec), spec)
	if err := w.e.det.run(w.detB); err != nil {
		return nil, faceBox{}, err
	}
	scores, boxes := w.detB.outs[0].GetData(), w.detB.outs[1].GetData()
	wd, ht := src.Rect.Dx(), src.Rect.Dy()
	faces := detections(scores, boxes, wd, ht, float32(w.e.m.Networks.Detector.ScoreThreshold))
	return faces, bestFace(scores, boxes, wd, ht), nil
}

// landmarks runs the 68-point network on the crop around face and returns
// the points in image pixels (x0, y0, x1, y1, ...).
func (w *worker) landmarks(src *image.RGBA, face faceBox) ([]float64, error) {
	n := w.e.m.Networks.Landmarks
	r := landmarkCrop(face, n.BoxScale, src.Rect.Dx(), src.Rect.Dy())
	spec := &n.Input
	c := resampleWith(&w.scr, src, r, spec.Size[0], spec.Size[1], image.Rect(0, 0, spec.Size[0], spec.Size[1]), kernelFor(spec.Interpolation))
	writeTensor(w.lmkB.in.GetData(), c, spec)
	if err := w.e.lmk.run(w.lmkB); err != nil {
		return nil, err
	}
	out := w.lmkB.outs[0].GetData()
	pts := make([]float64, len(out))
	for i, v := range out {
		if i%2 == 0 {
			pts[i] = float64(r.Min.X) + float64(v)*float64(r.Dx())
		} else {
			pts[i] = float64(r.Min.Y) + float64(v)*float64(r.Dy())
		}
	}
	return pts, nil
}

// embedCrops embeds crops (already at the embedder's input size), with the
// mirror images when flip_tta is on. Vectors come back L2-normalised.
func (w *worker) embedCrops(crops []rgbf) ([][]float32, error) {
	tta := w.e.m.FlipTTA
	inputs := make([]rgbf, 0, 2*len(crops))
	for _, c := range crops {
		inputs = append(inputs, c)
		if tta {
			inputs = append(inputs, mirror(c))
		}
	}
	raw, err := w.runEmbedder(inputs)
	if err != nil {
		return nil, err
	}
	vecs := make([][]float32, len(crops))
	for i := range crops {
		if !tta {
			vecs[i] = raw[i]
		} else {
			vecs[i], err = meanDirection(raw[2*i], raw[2*i+1])
			if err != nil {
				return nil, err
			}
		}
		if err := normalize(vecs[i]); err != nil {
			return nil, err
		}
	}
	return vecs, nil
}

// meanDirection is the sum of a and b after normalising each (a is
// overwritten); the caller renormalises.
func meanDirection(a, b []float32) ([]float32, error) {
	if err := normalize(a); err != nil {
		return nil, err
	}
	if err := normalize(b); err != nil {
		return nil, err
	}
	for k := range a {
		a[k] += b[k]
	}
	return a, nil
}

// runEmbedder returns the raw (unnormalised) embedder outputs for inputs,
// several per Run when the batch axis is dynamic.
func (w *worker) runEmbedder(inputs []rgbf) ([][]float32, error) {
	spec := &w.e.m.Networks.Embedder.Input
	dim := w.e.Dim()
	raw := make([][]float32, len(inputs))
	step := 1
	if w.e.emb.io.dynBatch {
		step = len(inputs)
	}
	for start := 0; start < len(inputs); start += step {
		end := min(start+step, len(inputs))
		b, err := w.embBuffers(end - start)
		if err != nil {
			return nil, err
		}
		in, n := b.in.GetData(), b.imageLen()
		for k := start; k < end; k++ {
			writeTensor(in[(k-start)*n:(k-start+1)*n], inputs[k], spec)
		}
		if err := w.e.emb.run(b); err != nil {
			return nil, err
		}
		out := b.outs[0].GetData()
		for k := start; k < end; k++ {
			raw[k] = append([]float32(nil), out[(k-start)*dim:(k-start+1)*dim]...)
		}
	}
	return raw, nil
}

// normalize scales v to unit L2 norm in place.
func normalize(v []float32) error {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return apperr.Errorf(apperr.EINTERNAL, "the model produced an unusable vector (norm %v)", math.Sqrt(s))
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return nil
}

// String describes the encoder for logs.
func (e *Encoder) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s pipeline, dim %d, flip_tta %v, %s)", e.id, e.m.Pipeline, e.Dim(), e.m.FlipTTA, e.provider)
	return b.String()
}
