package gallery

import "context"

// loadBatch is how many rows loadPipelined hands over at a time.
const loadBatch = 4096

// loadPipelined streams rows from read into batches and hands each full
// batch to add on another goroutine, so reading the database (and its
// decoding) overlaps with quantising into the index: the start-up load
// takes about the longer of the two instead of their sum. Three batch
// buffers go round and round, so a load touches no new memory per batch.
//
// read calls row for every row (vec is only valid during the call) and
// must stop when ctx is done; add may change vecs. The first error of
// either ends both and is returned.
func loadPipelined(ctx context.Context, dim int,
	read func(ctx context.Context, row func(id int64, vec []float32) error) error,
	add func(ids []int64, vecs []float32) error,
) error {
	type batch struct {
		ids  []int64
		vecs []float32
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan *batch, 3)
	for range cap(free) {
		free <- &batch{ids: make([]int64, 0, loadBatch), vecs: make([]float32, 0, loadBatch*dim)}
	}
	full := make(chan *batch, cap(free))
	readErr := make(chan error, 1)
	go func() {
		defer close(full)
		cur := <-free
		send := func() error {
			select {
			case full <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case cur = <-free:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := read(ctx, func(id int64, vec []float32) error {
			cur.ids = append(cur.ids, id)
			cur.vecs = append(cur.vecs, vec...)
			if len(cur.ids) == loadBatch {
				return send()
			}
			return nil
		})
		if err == nil && len(cur.ids) > 0 {
			err = send()
		}
		readErr <- err
	}()
	var addErr error
	for b := range full {
		if addErr == nil {
			if addErr = add(b.ids, b.vecs); addErr != nil {
				cancel() // the reader stops at its next row
			}
		}
		b.ids, b.vecs = b.ids[:0], b.vecs[:0]
		free <- b
	}
	rerr := <-readErr
	if addErr != nil {
		return addErr // rerr is then most likely the cancellation
	}
	return rerr
}
