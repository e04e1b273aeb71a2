package logging

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// QueueSize is how many records the asynchronous log queue holds before it
// starts dropping droppable lines (see droppable).
var QueueSize = 4096

// FlushInterval bounds how long a written line may sit in the buffers when
// the queue never runs empty.
var FlushInterval = time.Second

// dropped counts the request lines dropped on a full queue, over the
// process (every async handler); Dropped reads it for /metrics.
var dropped atomic.Uint64

// Dropped is the number of log lines dropped because the log queue was
// full (sketchmatch_log_lines_dropped_total).
func Dropped() uint64 { return dropped.Load() }

// asyncQueue decouples request handlers from the log destinations: Handle
// clones the record and puts it on a bounded queue, and one goroutine
// formats and writes it (through bufio writers, flushed when the queue runs
// empty, every FlushInterval, and on Close). Before this, every request's
// log line serialised on the JSON handler's mutex around a write(2) to the
// file: 54 % of the server's mutex wait under the mixed load (docs/perf).
//
// When the queue is full, a droppable line (an access-log "request" line
// below Warn for a response under 400) is counted and dropped instead of
// making the handler wait. Every other line — warnings, errors, failed or
// refused requests, and anything that is not an access-log line (sign-ins,
// admin actions and the other audit-relevant events are logged by their
// own packages) — waits for room: those are never dropped.
type asyncQueue struct {
	ch    chan queued
	flush chan chan struct{}
	done  chan struct{}
	// exited is closed when the drainer has written its last record.
	exited chan struct{}
	// mu: Handle holds it shared while enqueuing, Close exclusively to
	// switch to synchronous writes, so no record is enqueued after the
	// drainer's last pass.
	mu     sync.RWMutex
	closed bool
	// syncMu serialises the synchronous writes after Close.
	syncMu  sync.Mutex
	bufs    []*bufio.Writer
	closers []io.Closer
}

type queued struct {
	h   slog.Handler
	ctx context.Context
	r   slog.Record
}

func newAsyncQueue(bufs []*bufio.Writer, closers []io.Closer) *asyncQueue {
	q := &asyncQueue{
		ch:      make(chan queued, QueueSize),
		flush:   make(chan chan struct{}),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
		bufs:    bufs,
		closers: closers,
	}
	go q.drain()
	return q
}

func (q *asyncQueue) drain() {
	defer close(q.exited)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case e := <-q.ch:
			e.h.Handle(e.ctx, e.r)
			if len(q.ch) == 0 {
				q.flushBufs()
			}
		case <-t.C:
			q.flushBufs()
		case ack := <-q.flush:
			q.drainPending()
			q.flushBufs()
			close(ack)
		case <-q.done:
			q.drainPending()
			q.flushBufs()
			return
		}
	}
}

func (q *asyncQueue) drainPending() {
	for {
		select {
		case e := <-q.ch:
			e.h.Handle(e.ctx, e.r)
		default:
			return
		}
	}
}

func (q *asyncQueue) flushBufs() {
	for _, b := range q.bufs {
		b.Flush()
	}
}

// Flush waits until every record handed over before the call is written.
func (q *asyncQueue) Flush() {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return
	}
	ack := make(chan struct{})
	q.flush <- ack
	<-ack
}

// Close writes every queued record, flushes and closes the destinations.
// Records logged after Close are written synchronously.
func (q *asyncQueue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.mu.Unlock()
	close(q.done)
	// Wait for the drainer's last pass: it owns the buffers until then.
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	<-q.exited
	var err error
	for _, c := range q.closers {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

func (q *asyncQueue) enqueue(ctx context.Context, h slog.Handler, r slog.Record) error {
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		q.syncMu.Lock()
		defer q.syncMu.Unlock()
		err := h.Handle(ctx, r)
		q.flushBufs()
		return err
	}
	defer q.mu.RUnlock()
	e := queued{h: h, ctx: context.WithoutCancel(ctx), r: r.Clone()}
	select {
	case q.ch <- e:
		return nil
	default:
	}
	if droppable(r) {
		dropped.Add(1)
		return nil
	}
	q.ch <- e
	return nil
}

// droppable reports whether r may be dropped on a full queue: an
// access-log line ("request", logged by the web middleware) below Warn
// whose status is under 400. Nothing else is ever dropped.
func droppable(r slog.Record) bool {
	if r.Level >= slog.LevelWarn || r.Message != "request" {
		return false
	}
	ok := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "status" {
			v := a.Value.Resolve()
			switch v.Kind() {
			case slog.KindInt64:
				ok = v.Int64() < 400
			case slog.KindUint64:
				ok = v.Uint64() < 400
			}
			return false
		}
		return true
	})
	return ok
}

// asyncHandler is the slog.Handler in front of the queue; h is the
// destination handler (with its attributes and groups) the drainer calls.
type asyncHandler struct {
	q *asyncQueue
	h slog.Handler
}

func (a *asyncHandler) Enabled(ctx context.Context, l slog.Level) bool { return a.h.Enabled(ctx, l) }

func (a *asyncHandler) Handle(ctx context.Context, r slog.Record) error {
	return a.q.enqueue(ctx, a.h, r)
}

func (a *asyncHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &asyncHandler{q: a.q, h: a.h.WithAttrs(attrs)}
}

func (a *asyncHandler) WithGroup(name string) slog.Handler {
	return &asyncHandler{q: a.q, h: a.h.WithGroup(name)}
}
