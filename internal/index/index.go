// Package index is an exact, in-memory top-k cosine search over the
// embeddings of the active model.
//
// A search runs in two stages (quant.go explains the arithmetic):
//
//  1. a scan of a compact copy of every row (int8 codes with a per-row
//     scale, d+4 bytes a row instead of 4d) with an exact integer kernel,
//     giving each row an approximate score a_r and a proven bound β with
//     |exact_r − a_r| ≤ β;
//  2. an exact float32 re-score, with the same kernel and the same rows as
//     the plain scan, of every row that could still be in the top k
//     (a_r ≥ T − 2β, T the k-th best a_r): the result is identical — ids,
//     order and scores — to an exact float32 scan of every row.
//
// The float32 rows are read only by stage 2, a few hundred rows a search,
// so they can live outside the Go heap: NewOnDisk keeps them in an unlinked
// temporary file (page cache, not RSS), New keeps them in memory.
//
// Large scans are split across GOMAXPROCS goroutines handing out chunks
// through an atomic cursor, each keeping a bounded min-heap of its best k,
// merged at the end.
//
// Concurrency: a sync.RWMutex. Searches take the read lock and never block
// each other; Add/AddBatch/Remove take the write lock and wait for running
// searches (at most one scan, ~ms). Copy-on-write was rejected: it
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
	dim  int
	dpad int // code row length: dim rounded up to codeAlign

	mu     sync.RWMutex
	codes  []int8          // n*dpad int8 codes, row r = codes[r*dpad:(r+1)*dpad]
	scales []float32       // row -> code scale
	ids    []int64         // row -> id
	rows   map[int64]int32 // id -> row
	floats floatStore      // the exact rows, for the re-score
	// bounds are the maxima over every row stored since New: never lowered
	// on Remove or overwrite (that would need a rescan), which only makes
	// β a little looser, never wrong.
	bounds rowBounds

	ioErr atomic.Pointer[error] // first failure of the float32 file, if any
}

// New returns an empty index for vectors of length dim (> 0) that keeps
// the float32 rows in memory (about 2.5 KiB a 512-d row with the codes).
func New(dim int) *Index {
	if dim <= 0 {
		panic(fmt.Sprintf("index: New(%d): dimension must be positive", dim))
	}
	return &Index{dim: dim, dpad: paddedDim(dim), rows: make(map[int64]int32), floats: &memFloats{d: dim}}
}

// NewOnDisk is New with the float32 rows in an unlinked temporary file in
// dir (not a tmpfs, whose pages would count as memory): the Go heap then
// holds about dim+30 bytes a row, and the second stage reads a few hundred
// rows a search from the page cache. Close releases the file.
func NewOnDisk(dim int, dir string) (*Index, error) {
	x := New(dim)
	f, err := newFileFloats(dir, dim)
	if err != nil {
		return nil, err
	}
	x.floats = f
	return x, nil
}

// Close releases the float32 file of an index made by NewOnDisk (a no-op
// for New). The index must not be used afterwards; an index that is only
// dropped releases its file when it is garbage collected.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if f, ok := x.floats.(*fileFloats); ok {
		return f.close()
	}
	return nil
}

// Err returns the first I/O error of the float32 file, if any. After one,
// searches return no hits rather than results that might not be exact.
func (x *Index) Err() error {
	if p := x.ioErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (x *Index) fail(err error) {
	x.ioErr.CompareAndSwap(nil, &err)
}

// Footprint returns the bytes the index holds in the Go heap (codes,
// scales, ids, the id map estimated at 40 bytes an entry, and the float32
// rows when kept in memory) and on disk.
func (x *Index) Footprint() (heap, disk int64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	heap = int64(cap(x.codes)) + 4*int64(cap(x.scales)) + 8*int64(cap(x.ids)) + 40*int64(len(x.rows))
	heap += x.floats.bytesInHeap()
	if _, ok := x.floats.(*fileFloats); ok {
		disk = int64(len(x.ids)) * int64(4*x.dim)
	}
	return heap, disk
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
	return x.addLocked([]int64{id}, vec)
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
	return x.addLocked(ids, vecs)
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
	if cap(x.codes) >= need*x.dpad && cap(x.ids) >= need {
		return
	}
	x.realloc(need)
}

// addLocked stores the rows of vecs under ids. New rows' float32 copies are
// written in one piece at the end; if that fails the new rows are taken
// out again. The caller holds the write lock.
func (x *Index) addLocked(ids []int64, vecs []float32) error {
	d := x.dim
	n0 := len(x.ids)
	// fresh holds the float32 rows n0.. in order, written at the end. While
	// every id so far is new and distinct (the start-up load) they are
	// vecs' own leading rows, so nothing is copied: copying 200 MB a 100k
	// load into fresh memory cost more than the quantising (first-touch
	// page faults).
	var fresh []float32
	inPlace := true
	updates := 0 // rows that already existed (a duplicate among them needs care)
	dup := false
	rowOf := make([]int32, len(ids))
	for i, id := range ids {
		vec := vecs[i*d : (i+1)*d]
		r, ok := x.rows[id]
		if !ok {
			n := len(x.ids)
			if n >= math.MaxInt32 {
				panic("index: more than 2^31-1 vectors")
			}
			x.reserve(1)
			r = int32(n)
			x.codes = x.codes[:(n+1)*x.dpad]
			x.scales = append(x.scales, 0)
			x.ids = append(x.ids, id)
			x.rows[id] = r
			if !inPlace {
				fresh = append(fresh, vec...)
			}
		} else if int(r) >= n0 {
			dup = true // a duplicate within this batch: the later vector wins
			if inPlace {
				fresh = x.materialize(i, vecs)
				inPlace = false
			}
			copy(fresh[(int(r)-n0)*d:], vec)
		} else {
			updates++
			if inPlace {
				fresh = x.materialize(i, vecs)
				inPlace = false
			}
			if err := x.floats.set(int(r), vec); err != nil {
				x.fail(err)
				return fmt.Errorf("index: storing row: %w", err)
			}
		}
		rowOf[i] = r
	}
	if inPlace {
		fresh = vecs[:(len(x.ids)-n0)*d]
	}
	x.quantize(rowOf, vecs, dup || updates > 1)
	if len(fresh) == 0 {
		return nil
	}
	if err := x.floats.push(fresh); err != nil {
		for _, id := range x.ids[n0:] {
			delete(x.rows, id)
		}
		x.codes, x.scales, x.ids = x.codes[:n0*x.dpad], x.scales[:n0], x.ids[:n0]
		if terr := x.floats.truncate(n0); terr != nil {
			x.fail(terr)
		}
		return fmt.Errorf("index: storing rows: %w", err)
	}
	return nil
}

// materialize starts addLocked's fresh rows as a copy of vecs' first n
// rows: until the n-th, every row was new, distinct and in row order.
func (x *Index) materialize(n int, vecs []float32) []float32 {
	fresh := make([]float32, 0, len(vecs)) // at most every row is new
	return append(fresh, vecs[:n*x.dim]...)
}

// quantize codes vecs' rows into rows rowOf, on every core for a large
// batch (the start-up load), and widens the bounds. With repeats (a row
// given twice), a row keeps the later vector, as the float32 copy does.
func (x *Index) quantize(rowOf []int32, vecs []float32, repeats bool) {
	d, dp := x.dim, x.dpad
	var last map[int32]int
	if repeats {
		last = make(map[int32]int, len(rowOf))
		for i, r := range rowOf {
			last[r] = i
		}
	}
	one := func(i int) rowBounds {
		r := rowOf[i]
		if last != nil && last[r] != i {
			return rowBounds{}
		}
		s, b := quantizeRow(vecs[i*d:(i+1)*d], x.codes[int(r)*dp:(int(r)+1)*dp])
		x.scales[r] = s
		return b
	}
	workers := min(runtime.GOMAXPROCS(0), len(rowOf)/256)
	parts := make([]rowBounds, max(workers, 1))
	if workers <= 1 {
		for i := range rowOf {
			parts[0] = maxBounds(parts[0], one(i))
		}
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(rowOf); i += workers {
					parts[w] = maxBounds(parts[w], one(i))
				}
			})
		}
		wg.Wait()
	}
	for _, b := range parts {
		x.bounds = maxBounds(x.bounds, b)
	}
}

func maxBounds(a, b rowBounds) rowBounds {
	return rowBounds{err: max(a.err, b.err), scale: max(a.scale, b.scale), norm: max(a.norm, b.norm)}
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
	n := len(x.ids)
	need := n + extra
	if cap(x.codes) >= need*x.dpad && cap(x.ids) >= need {
		return
	}
	newCap := need
	if n > 0 { // an empty index (start-up bulk load) gets exactly what it asked for
		newCap = max(need, n+max(n/growDiv, minGrowRows))
	}
	x.realloc(newCap)
}

func (x *Index) realloc(rowCap int) {
	codes := make([]int8, len(x.codes), rowCap*x.dpad)
	copy(codes, x.codes)
	scales := make([]float32, len(x.scales), rowCap)
	copy(scales, x.scales)
	ids := make([]int64, len(x.ids), rowCap)
	copy(ids, x.ids)
	x.codes, x.scales, x.ids = codes, scales, ids
	x.floats.reserve(rowCap)
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
	dp, last := x.dpad, len(x.ids)-1
	if int(r) != last {
		if err := x.floats.move(last, int(r)); err != nil {
			x.fail(err) // row r's float32 copy is now stale: searches stop
		}
		copy(x.codes[int(r)*dp:(int(r)+1)*dp], x.codes[last*dp:])
		x.scales[r] = x.scales[last]
		moved := x.ids[last]
		x.ids[r] = moved
		x.rows[moved] = r
	}
	if err := x.floats.truncate(last); err != nil {
		x.fail(err)
	}
	x.codes = x.codes[:last*dp]
	x.scales = x.scales[:last]
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
	hits, _, _ := x.search(query, k, nil)
	return hits
}

// stage1 is one scanning goroutine's state: the best k first-stage scores
// (Hit.ID holds the row) and every row that was within 2β of its k-th best
// when scanned, a superset of the final candidates.
type stage1 struct {
	h     *topK
	cands []cand
	kept  int
}

type cand struct {
	row int32
	a   float32
}

// search runs both stages; allow == nil accepts every row. It returns the
// hits, how many rows allow accepted, and how many were re-scored.
func (x *Index) search(query []float32, k int, allow func(int64) bool) (hits []Hit, kept, rescored int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.ids)
	if n == 0 || x.ioErr.Load() != nil {
		return []Hit{}, 0, 0
	}
	q := prepareQuery(query, x.dpad)
	beta := q.slack(x.bounds, x.dim)
	hk := max(min(k, n), 1)

	workers := min(runtime.GOMAXPROCS(0), n*x.dpad/minParallelWork)
	states := make([]stage1, max(workers, 1))
	if workers <= 1 {
		states[0] = stage1{h: newTopK(hk), cands: make([]cand, 0, 4*hk)}
		x.scanCodes(&q, 0, n, &states[0], beta, k > 0, allow)
	} else {
		// Rows are handed out in chunks through an atomic cursor rather than
		// split statically, so a worker slowed by other load (ONNX inference
		// shares these cores) does not hold the whole query back.
		var next atomic.Int64
		chunk := max(n/(workers*chunksPerWorker), 1)
		var wg sync.WaitGroup
		work := func(w int) {
			st := &states[w]
			// Typically 2-4×k candidates (BenchmarkSearch's rescored/query
			// is ~2k for k=50): one allocation instead of a doubling series.
			st.h, st.cands = newTopK(hk), make([]cand, 0, 4*hk)
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					break
				}
				x.scanCodes(&q, lo, min(lo+chunk, n), st, beta, k > 0, allow)
			}
		}
		wg.Add(workers - 1)
		for w := 1; w < workers; w++ {
			go func() { defer wg.Done(); work(w) }()
		}
		work(0)
		wg.Wait()
	}
	for i := range states {
		kept += states[i].kept
	}
	if k <= 0 || kept == 0 {
		return []Hit{}, kept, 0
	}

	// T: the k-th best first-stage score over all rows (−∞ when fewer than
	// k rows were kept: every kept row is then a candidate).
	thr := math.Inf(-1)
	if kept >= k {
		all := make([]float32, 0, len(states)*hk)
		for i := range states {
			for _, h := range states[i].h.h {
				all = append(all, h.Score)
			}
		}
		slices.Sort(all)
		thr = float64(all[len(all)-k]) - 2*beta
	}
	cands := make([]cand, 0, 4*k)
	for i := range states {
		for _, c := range states[i].cands {
			if float64(c.a) >= thr {
				cands = append(cands, c)
			}
		}
	}
	hits, err := x.rescore(query, cands)
	if err != nil {
		x.fail(err)
		return []Hit{}, kept, len(cands)
	}
	slices.SortFunc(hits, better)
	k = min(k, len(hits))
	return hits[:k:k], kept, len(cands)
}

// rescore scores the candidates exactly, reading their rows in row order
// (sequential in the float32 file). From the file each row is a read
// system call (~1.5 µs), so a few hundred are split across the cores.
func (x *Index) rescore(q []float32, cands []cand) ([]Hit, error) {
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.row, b.row) })
	hits := make([]Hit, len(cands))
	part := func(lo, hi int) error {
		buf := make([]float32, x.dim)
		var s [1]float32
		for i := lo; i < hi; i++ {
			c := cands[i]
			row, err := x.floats.read(int(c.row), buf)
			if err != nil {
				return err
			}
			dotBlock(q, row, s[:])
			hits[i] = Hit{ID: x.ids[c.row], Score: s[0]}
		}
		return nil
	}
	_, inFile := x.floats.(*fileFloats)
	workers := min(runtime.GOMAXPROCS(0), len(cands)/minRescorePerWorker)
	if !inFile || workers <= 1 {
		return hits, part(0, len(cands))
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { errs[w] = part(w*len(cands)/workers, (w+1)*len(cands)/workers) })
	}
	wg.Wait()
	return hits, errors.Join(errs...)
}

// minRescorePerWorker: below this many rows a goroutine costs more than
// the reads it would take over.
const minRescorePerWorker = 64

// Parallel-scan tuning, measured with BenchmarkSearchSmall on the 2-core dev
// machine (see bench_test.go). Variables only so tests can force each path.
var (
	minParallelWork = 1 << 19 // rows*dim per goroutine: one goroutine below 2^20 (2048 rows at d=512)
	chunksPerWorker = 4
)

// blockRows is how many scores the kernel writes before the heap looks at
// them: large enough to amortise the call, small enough for the stack.
const blockRows = 256

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
