package index

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// exactScan is the index's search as it was before the compact first
// stage (float32 rows in memory, every row scored with dotBlock, parallel
// chunks, bounded heaps): the reference for the benchmarks' before/after
// and a second brute force for the tests.
type exactScan struct {
	d    int
	data []float32
	ids  []int64
}

func (e *exactScan) search(q []float32, k int) []Hit {
	n := len(e.ids)
	k = min(k, n)
	workers := min(runtime.GOMAXPROCS(0), n*e.d/(1<<19))
	if workers <= 1 {
		h := newTopK(k)
		e.scan(q, 0, n, h)
		return h.sorted()
	}
	var next atomic.Int64
	chunk := max(n/(workers*4), 1)
	heaps := make([]*topK, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			h := newTopK(k)
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					break
				}
				e.scan(q, lo, min(lo+chunk, n), h)
			}
			heaps[w] = h
		})
	}
	wg.Wait()
	all := heaps[0].h
	for _, h := range heaps[1:] {
		all = append(all, h.h...)
	}
	slices.SortFunc(all, better)
	return all[:k:k]
}

func (e *exactScan) scan(q []float32, lo, hi int, h *topK) {
	d := e.d
	var buf [blockRows]float32
	for b := lo; b < hi; b += blockRows {
		end := min(b+blockRows, hi)
		scores := buf[:end-b]
		dotBlock(q, e.data[b*d:end*d], scores)
		for i, s := range scores {
			if h.full && s < h.min {
				continue
			}
			h.offer(Hit{ID: e.ids[b+i], Score: s})
		}
	}
}
