package embed

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// netSession is one ONNX Runtime session, created once and shared by every
// worker (ONNX Runtime allows concurrent Run calls on one session).
type netSession struct {
	io   *netIO
	sess *ort.DynamicAdvancedSession
	daz  bool
	// runNanos accumulates the time spent inside Run, for Stats.
	runNanos *atomic.Int64
	// cpuClock, when set (benchmarks only), reads the calling thread's CPU
	// time; cpuNanos then accumulates the thread CPU time inside Run, which
	// with one intra-op thread is ONNX Runtime's whole compute.
	cpuClock func() int64
	cpuNanos atomic.Int64
}

func newNetSession(io *netIO, cfg sessionConfig, runNanos *atomic.Int64) (*netSession, error) {
	opts, err := newSessionOptions(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: session options: %w", io.path, err)
	}
	defer opts.Destroy()
	var s *ort.DynamicAdvancedSession
	err = withFPMode(false, func() error {
		var err error
		s, err = ort.NewDynamicAdvancedSession(io.path, []string{io.inName}, io.outNames, opts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: creating the ONNX Runtime session: %w", io.path, err)
	}
	if runNanos == nil {
		runNanos = new(atomic.Int64)
	}
	return &netSession{io: io, sess: s, daz: cfg.denormalsAreZero, runNanos: runNanos}, nil
}

func (n *netSession) destroy() error {
	if n == nil || n.sess == nil {
		return nil
	}
	err := n.sess.Destroy()
	n.sess = nil
	return err
}

// netBuffers are one worker's input and output tensors for one session
// and batch size, allocated once and reused for every Run.
type netBuffers struct {
	batch int
	in    *ort.Tensor[float32]
	outs  []*ort.Tensor[float32]
	ins   []ort.Value
	outv  []ort.Value
}

func (n *netSession) newBuffers(batch int) (*netBuffers, error) {
	shape := n.io.inShape.Clone()
	shape[0] = int64(batch)
	in, err := ort.NewEmptyTensor[float32](shape)
	if err != nil {
		return nil, fmt.Errorf("%s: input tensor: %w", n.io.path, err)
	}
	b := &netBuffers{batch: batch, in: in, ins: []ort.Value{in}}
	for _, s := range n.io.outShapes {
		s = s.Clone()
		s[0] = int64(batch)
		t, err := ort.NewEmptyTensor[float32](s)
		if err != nil {
			b.destroy()
			return nil, fmt.Errorf("%s: output tensor: %w", n.io.path, err)
		}
		b.outs = append(b.outs, t)
		b.outv = append(b.outv, t)
	}
	return b, nil
}

func (b *netBuffers) destroy() {
	if b == nil {
		return
	}
	var errs []error
	if b.in != nil {
		errs = append(errs, b.in.Destroy())
	}
	for _, t := range b.outs {
		errs = append(errs, t.Destroy())
	}
	_ = errors.Join(errs...)
}

// imageLen is the number of floats of one image in the input tensor.
func (b *netBuffers) imageLen() int { return len(b.in.GetData()) / b.batch }

// run runs the session on b's tensors.
func (n *netSession) run(b *netBuffers) error {
	return withFPMode(n.daz, func() error {
		var c0 int64
		if n.cpuClock != nil {
			c0 = n.cpuClock()
		}
		t := time.Now()
		err := n.sess.Run(b.ins, b.outv)
		n.runNanos.Add(int64(time.Since(t)))
		if n.cpuClock != nil {
			n.cpuNanos.Add(n.cpuClock() - c0)
		}
		if err != nil {
			return fmt.Errorf("%s: Run: %w", n.io.path, err)
		}
		return nil
	})
}
