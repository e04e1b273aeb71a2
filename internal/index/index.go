// Package index is an exact, in-memory top-k cosine search over the
// embeddings of the active model.
//
// All vectors live in one contiguous []float32 (n rows of dim floats, already
// L2-normalised by the caller), so a query is a dot product against every row:
// a sequential scan that is bound by memory bandwidth once the kernel is fast
// enough. Large scans are split across GOMAXPROCS goroutines, each keeping a
// bounded min-heap of its best k, merged at the end.
//
// Concurrency: a sync.RWMutex. Searches take the read lock and never block
// each other; Add/AddBatch/Remove take the write lock and wait for running
// searches (at most one scan, ~tens of ms). Copy-on-write was rejected: it
// would double a multi-GB matrix on every insert.
package index

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Hit is one search result: a vector's id and its cosine with the query.
type Hit struct {
	ID    int64
	Score float32
}

// ErrDimension is returned (wrapped) when a vector's length is not Dim().
var ErrDimension = errors.New("index: wrong vector dimension")

// ErrNotFinite is returned (wrapped) when a vector holds NaN or ±Inf: one such
// row would poison every ranking it takes part in.
var ErrNotFinite = errors.New("index: vector has a NaN or infinite component")

// Index is an exact top-k cosine index. The zero value is not usable; use New.
type Index struct {
	dim int

	mu   sync.RWMutex
	data []float32       // n*dim floats, row r = data[r*dim:(r+1)*dim]
	ids  []int64         // row -> id
	rows map[int64]int32 // id -> row
}

// New returns an empty index for vectors of length dim (> 0).
func New(dim int) *Index {
	if dim <= 0 {
		panic(fmt.Sprintf("index: New(%d): dimension must be positive", dim))
	}
	return &Index{dim: dim, rows: make(map[int64]int32)}
}

// Dim returns the vector length.
func (x *Index) Dim() int { return x.dim }

// Len returns the number of vectors.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

// Has reports whether id is in the index.
func (x *Index) Has(id int64) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.rows[id]
	return ok
}

// IDs returns a copy of all ids in ascending order.
func (x *Index) IDs() []int64 {
	x.mu.RLock()
	ids := slices.Clone(x.ids)
	x.mu.RUnlock()
	slices.Sort(ids)
	return ids
}

func (x *Index) check(vecs []float32, n int) error {
	if len(vecs) != n*x.dim {
		if n == 1 {
			return fmt.Errorf("%w: got %d, want %d", ErrDimension, len(vecs), x.dim)
		}
		return fmt.Errorf("%w: got %d floats for %d ids, want %d", ErrDimension, len(vecs), n, n*x.dim)
	}
	for i, v := range vecs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w (row %d)", ErrNotFinite, i/x.dim)
		}
	}
	return nil
}

// Add inserts vec under id, replacing the vector already stored under id.
// vec must have length Dim(); it is copied, and used as given (the caller
// normalises: silently renormalising would hide a preprocessing bug).
func (x *Index) Add(id int64, vec []float32) error {
	if err := x.check(vec, 1); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.put(id, vec)
	return nil
}

// AddBatch inserts len(ids) vectors stored back to back in vecs, with the
// same semantics as Add for each (a later duplicate id wins). It is meant for
// the bulk load at start-up: on an empty index the matrix is allocated once,
// at exactly the size needed. Nothing is inserted if any vector is invalid.
func (x *Index) AddBatch(ids []int64, vecs []float32) error {
	if err := x.check(vecs, len(ids)); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.ids) == 0 && len(x.rows) == 0 {
		x.rows = make(map[int64]int32, len(ids))
	}
	x.reserve(len(ids))
	d := x.dim
	for i, id := range ids {
		x.put(id, vecs[i*d:(i+1)*d])
	}
	return nil
}

// Reserve makes room for n more vectors in one allocation (the start-up
// load knows the count before it streams the rows).
func (x *Index) Reserve(n int) {
	if n <= 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.rows == nil || len(x.rows) == 0 {
		x.rows = make(map[int64]int32, n)
	}
	need := len(x.ids) + n
	if cap(x.data) >= need*x.dim && cap(x.ids) >= need {
		return
	}
	x.realloc(need)
}

// put stores vec under id. The caller holds the write lock.
func (x *Index) put(id int64, vec []float32) {
	if r, ok := x.rows[id]; ok {
		copy(x.data[int(r)*x.dim:], vec)
		return
	}
	n := len(x.ids)
	if n >= math.MaxInt32 {
		panic("index: more than 2^31-1 vectors")
	}
	x.reserve(1)
	x.data = append(x.data, vec...)
	x.ids = append(x.ids, id)
	x.rows[id] = int32(n)
}

// Growth policy. append's default (×1.25 for large slices, ×2 for small)
// would leave up to 25% of a multi-GB matrix as slack; growing by 1/8 keeps
// the steady state under 1.125× raw. A grow copies the matrix once, so the old
// and new arrays coexist until the next GC: a transient 2.1×, as with append.
const (
	growDiv     = 8    // grow by len/growDiv rows
	minGrowRows = 64   // but at least this many
	shrinkSlack = 1024 // shrink only when this many rows are free...
	shrinkDiv   = 4    // ...and the slack exceeds len/shrinkDiv
)

// reserve makes room for extra more rows without further allocation.
func (x *Index) reserve(extra int) {
	n, d := len(x.ids), x.dim
	need := n + extra
	if cap(x.data) >= need*d && cap(x.ids) >= need {
		return
	}
	newCap := need
	if n > 0 { // an empty index (start-up bulk load) gets exactly what it asked for
		newCap = max(need, n+max(n/growDiv, minGrowRows))
	}
	x.realloc(newCap)
}

func (x *Index) realloc(rowCap int) {
	data := make([]float32, len(x.data), rowCap*x.dim)
	copy(data, x.data)
	ids := make([]int64, len(x.ids), rowCap)
	copy(ids, x.ids)
	x.data, x.ids = data, ids
}

// Remove deletes id in O(dim): the last row is moved into its place. It
// reports whether id was present.
func (x *Index) Remove(id int64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	r, ok := x.rows[id]
	if !ok {
		return false
	}
	d, last := x.dim, len(x.ids)-1
	if int(r) != last {
		copy(x.data[int(r)*d:(int(r)+1)*d], x.data[last*d:])
		moved := x.ids[last]
		x.ids[r] = moved
		x.rows[moved] = r
	}
	x.data = x.data[:last*d]
	x.ids = x.ids[:last]
	delete(x.rows, id)
	if slack := cap(x.ids) - last; slack > shrinkSlack && slack > last/shrinkDiv {
		x.realloc(last + last/growDiv)
	}
	return true
}

// Search returns the k vectors with the highest dot product with query,
// sorted by score descending, ties by ID ascending. k <= 0 gives no hits and
// k > Len() gives Len() hits. A query of the wrong length, or holding NaN or
// ±Inf, matches nothing and gives no hits (the caller checks Dim() up front;
// a panic here would take a search request down for a programming error that
// Add already reports).
func (x *Index) Search(query []float32, k int) []Hit {
	if k <= 0 || len(query) != x.dim || x.check(query, 1) != nil {
		return []Hit{}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.ids)
	k = min(k, n)
	if k == 0 {
		return []Hit{}
	}

	workers := min(runtime.GOMAXPROCS(0), n*x.dim/minParallelWork)
	if workers <= 1 {
		h := newTopK(k)
		x.scan(query, 0, n, h)
		return h.sorted()
	}

	// Rows are handed out in chunks through an atomic cursor rather than split
	// statically, so a worker slowed by other load (ONNX inference shares
	// these cores) does not hold the whole query back.
	var next atomic.Int64
	chunk := max(n/(workers*chunksPerWorker), 1)
	heaps := make([]*topK, workers)
	var wg sync.WaitGroup
	work := func(w int) {
		h := newTopK(k)
		for {
			lo := int(next.Add(int64(chunk))) - chunk
			if lo >= n {
				break
			}
			x.scan(query, lo, min(lo+chunk, n), h)
		}
		heaps[w] = h
	}
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() { defer wg.Done(); work(w) }()
	}
	work(0)
	wg.Wait()

	all := heaps[0].h
	for _, h := range heaps[1:] {
		all = append(all, h.h...)
	}
	slices.SortFunc(all, better)
	return all[:k:k]
}

// Parallel-scan tuning, measured with BenchmarkSearchSmall on the 2-core dev
// machine (see bench_test.go). Variables only so tests can force each path.
var (
	minParallelWork = 1 << 19 // rows*dim per goroutine: one goroutine below 2^20 (2048 rows at d=512)
	chunksPerWorker = 4
)

// blockRows is how many scores the kernel writes before the heap looks at
// them: large enough to amortise the call, small enough for the stack.
const blockRows = 256

// scan offers rows [lo,hi) to h. The caller holds the read lock.
func (x *Index) scan(q []float32, lo, hi int, h *topK) {
	d := x.dim
	var buf [blockRows]float32
	for b := lo; b < hi; b += blockRows {
		e := min(b+blockRows, hi)
		scores := buf[:e-b]
		dotBlock(q, x.data[b*d:e*d], scores)
		ids := x.ids[b:e]
		for i, s := range scores {
			// Most rows lose to the current k-th best: one compare, no heap work.
			if h.full && s < h.min {
				continue
			}
			h.offer(Hit{ID: ids[i], Score: s})
		}
	}
}

// better orders hits best first: score descending, then ID ascending.
func better(a, b Hit) int {
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// worse reports whether a ranks strictly below b.
func worse(a, b Hit) bool {
	return a.Score < b.Score || (a.Score == b.Score && a.ID > b.ID)
}

// topK keeps the best k hits offered so far in a min-heap whose root is the
// worst of them.
type topK struct {
	h    []Hit
	k    int
	full bool
	min  float32 // h[0].Score once full
}

func newTopK(k int) *topK {
	return &topK{h: make([]Hit, 0, k), k: k}
}

func (t *topK) offer(c Hit) {
	if !t.full {
		t.h = append(t.h, c)
		t.up(len(t.h) - 1)
		if len(t.h) == t.k {
			t.full = true
			t.min = t.h[0].Score
		}
		return
	}
	if !worse(t.h[0], c) {
		return
	}
	t.h[0] = c
	t.down(0)
	t.min = t.h[0].Score
}

func (t *topK) up(i int) {
	h := t.h
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (t *topK) down(i int) {
	h := t.h
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (t *topK) sorted() []Hit {
	slices.SortFunc(t.h, better)
	return t.h
}
