package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// randVecs returns n L2-normalised random vectors of length d, seeded.
func randVecs(seed uint64, n, d int) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	v := make([]float32, n*d)
	for i := 0; i < n; i++ {
		row := v[i*d : (i+1)*d]
		var ss float64
		for j := range row {
			row[j] = float32(r.NormFloat64())
			ss += float64(row[j]) * float64(row[j])
		}
		inv := float32(1 / math.Sqrt(ss))
		for j := range row {
			row[j] *= inv
		}
	}
	return v
}

// bruteForce ranks every row with the same kernel the index uses and a full sort.
func bruteForce(ids []int64, vecs, q []float32, k int) []Hit {
	d := len(q)
	hits := make([]Hit, len(ids))
	for i, id := range ids {
		var s [1]float32
		dotBlock(q, vecs[i*d:(i+1)*d], s[:])
		hits[i] = Hit{ID: id, Score: s[0]}
	}
	slices.SortFunc(hits, better)
	if k < 0 {
		k = 0
	}
	return hits[:min(k, len(hits))]
}

// kernels runs f once per available dot-product kernel.
func kernels(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer func(a2, a512 bool) { useAVX2, useAVX512 = a2, a512 }(useAVX2, useAVX512)
	useAVX2, useAVX512 = false, false
	t.Run("generic", f)
	if haveAVX2 {
		useAVX2 = true
		t.Run("avx2", f)
	}
	if haveAVX512VNNI {
		useAVX2, useAVX512 = true, true
		t.Run("avx512", f)
	}
}

// parallelism runs f with the sequential scan and with the parallel scan
// forced on for any size.
func parallelism(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer func(old int) { minParallelWork = old }(minParallelWork)
	minParallelWork = math.MaxInt
	t.Run("sequential", f)
	minParallelWork = 1
	t.Run("parallel", f)
}

func TestDotKernels(t *testing.T) {
	for _, d := range []int{1, 2, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 100, 512, 1024, 1031} {
		t.Run(fmt.Sprint("d=", d), func(t *testing.T) {
			const n = 5
			q, rows := randVecs(1, 1, d), randVecs(2, n, d)
			kernels(t, func(t *testing.T) {
				out := make([]float32, n)
				dotBlock(q, rows, out)
				for r := 0; r < n; r++ {
					var want float64
					for i := 0; i < d; i++ {
						want += float64(q[i]) * float64(rows[r*d+i])
					}
					if got := out[r]; math.Abs(float64(got)-want) > 1e-5 {
						t.Fatalf("row %d: got %v, want %v", r, got, want)
					}
				}
			})
		})
	}
}

func TestSearch_MatchesBruteForce(t *testing.T) {
	for _, tt := range []struct {
		name string
		n, d int
		dups int // rows that copy an earlier row under a new id (exact ties)
		ks   []int
	}{
		{"Empty", 0, 8, 0, []int{-1, 0, 1, 5}},
		{"One", 1, 8, 0, []int{0, 1, 2}},
		{"Small", 7, 3, 0, []int{1, 3, 7, 100}},
		{"TailOnly", 50, 5, 0, []int{1, 10, 50}},
		{"Ties", 200, 16, 120, []int{1, 10, 50, 199, 320, 400}},
		{"Medium", 1000, 33, 10, []int{1, 10, 50, 1010}},
		{"Large", 5000, 128, 100, []int{1, 50, 500}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vecs := randVecs(uint64(tt.n), tt.n, tt.d)
			r := rand.New(rand.NewPCG(7, 7))
			ids := make([]int64, tt.n)
			for i := range ids {
				ids[i] = int64(i)*3 + 11 // not row numbers
			}
			// Duplicates get ids both below and above the original's, so the
			// ID tie-break is exercised in both directions.
			for i := 0; i < tt.dups; i++ {
				src := r.IntN(tt.n)
				vecs = append(vecs, vecs[src*tt.d:(src+1)*tt.d]...)
				if i%2 == 0 {
					ids = append(ids, -int64(i+1))
				} else {
					ids = append(ids, 1<<40+int64(i))
				}
			}
			x := newTestIndex(t, tt.d)
			if err := x.AddBatch(ids, vecs); err != nil {
				t.Fatal(err)
			}
			if got, want := x.Len(), len(ids); got != want {
				t.Fatalf("Len=%d, want %d", got, want)
			}
			queries := randVecs(99, 3, tt.d)
			if tt.n > 0 {
				queries = append(queries, vecs[:tt.d]...) // a query equal to a stored row
			}
			kernels(t, func(t *testing.T) {
				parallelism(t, func(t *testing.T) {
					for qi := 0; qi < len(queries)/tt.d; qi++ {
						q := queries[qi*tt.d : (qi+1)*tt.d]
						for _, k := range tt.ks {
							got := x.Search(q, k)
							want := bruteForce(ids, vecs, q, k)
							if !slices.Equal(got, want) {
								t.Fatalf("query %d k=%d:\n got %v\nwant %v", qi, k, got, want)
							}
						}
					}
				})
			})
		})
	}
}

func TestSearch_AllEqualScores(t *testing.T) {
	// Every row identical: the ranking is decided by ID alone.
	const d, n = 4, 300
	x := New(d)
	perm := rand.New(rand.NewPCG(3, 3)).Perm(n)
	for _, p := range perm {
		if err := x.Add(int64(p), []float32{0.5, 0.5, 0.5, 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	parallelism(t, func(t *testing.T) {
		got := x.Search([]float32{1, 0, 0, 0}, 10)
		for i, h := range got {
			if h.ID != int64(i) || h.Score != 0.5 {
				t.Fatalf("hit %d = %+v, want {ID:%d Score:0.5}", i, h, i)
			}
		}
	})
}

func TestSearch_BadQuery(t *testing.T) {
	x := New(3)
	if err := x.Add(1, []float32{1, 0, 0}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		q    []float32
		k    int
	}{
		{"KZero", []float32{1, 0, 0}, 0},
		{"KNegative", []float32{1, 0, 0}, -3},
		{"ShortQuery", []float32{1, 0}, 1},
		{"LongQuery", []float32{1, 0, 0, 0}, 1},
		{"NaNQuery", []float32{float32(math.NaN()), 0, 0}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := x.Search(tt.q, tt.k); got == nil || len(got) != 0 {
				t.Fatalf("Search=%#v, want empty non-nil", got)
			}
		})
	}
}

func TestAdd_Errors(t *testing.T) {
	x := New(4)
	for _, tt := range []struct {
		name string
		err  error
		add  func() error
	}{
		{"ErrShort", ErrDimension, func() error { return x.Add(1, []float32{1, 0, 0}) }},
		{"ErrLong", ErrDimension, func() error { return x.Add(1, []float32{1, 0, 0, 0, 0}) }},
		{"ErrNil", ErrDimension, func() error { return x.Add(1, nil) }},
		{"ErrNaN", ErrNotFinite, func() error { return x.Add(1, []float32{float32(math.NaN()), 0, 0, 0}) }},
		{"ErrInf", ErrNotFinite, func() error { return x.Add(1, []float32{float32(math.Inf(-1)), 0, 0, 0}) }},
		{"ErrBatchShort", ErrDimension, func() error { return x.AddBatch([]int64{1, 2}, make([]float32, 7)) }},
		{"ErrBatchNaN", ErrNotFinite, func() error {
			v := make([]float32, 8)
			v[6] = float32(math.NaN())
			return x.AddBatch([]int64{1, 2}, v)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.add(); !errors.Is(err, tt.err) {
				t.Fatalf("err=%v, want %v", err, tt.err)
			}
			if got := x.Len(); got != 0 {
				t.Fatalf("Len=%d after a failed add, want 0", got)
			}
		})
	}
}

func TestAdd_NotRenormalised(t *testing.T) {
	x := New(2)
	if err := x.Add(1, []float32{3, 4}); err != nil {
		t.Fatal(err)
	}
	if got := x.Search([]float32{1, 0}, 1); got[0].Score != 3 {
		t.Fatalf("score=%v, want 3 (vectors are stored as given)", got[0].Score)
	}
}

func TestAdd_ReplacesAndCopies(t *testing.T) {
	x := New(2)
	v := []float32{1, 0}
	if err := x.Add(5, v); err != nil {
		t.Fatal(err)
	}
	v[0] = -1 // the index must hold its own copy
	if got := x.Search([]float32{1, 0}, 1); got[0] != (Hit{5, 1}) {
		t.Fatalf("got %v, want [{5 1}]", got)
	}
	if err := x.Add(5, []float32{0, 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := x.Len(), 1; got != want {
		t.Fatalf("Len=%d, want %d", got, want)
	}
	if got := x.Search([]float32{1, 0}, 1); got[0] != (Hit{5, 0}) {
		t.Fatalf("got %v, want [{5 0}] after replace", got)
	}
}

func TestAddBatch_DuplicatesLastWins(t *testing.T) {
	x := New(2)
	if err := x.Add(1, []float32{1, 0}); err != nil {
		t.Fatal(err)
	}
	err := x.AddBatch([]int64{2, 1, 2}, []float32{1, 0, 0, 1, 0.5, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := x.IDs(), []int64{1, 2}; !slices.Equal(got, want) {
		t.Fatalf("IDs=%v, want %v", got, want)
	}
	got := x.Search([]float32{1, 0}, 2)
	if want := []Hit{{2, 0.5}, {1, 0}}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestAddBatch_SameAsAdds checks every shape of batch the copy-free path
// must tell apart (all new; an existing row or a repeat first, in the
// middle, last) against the same vectors added one at a time, with the
// float32 rows in memory and on disk.
func TestAddBatch_SameAsAdds(t *testing.T) {
	const d = 24
	cases := []struct {
		name string
		ids  []int64 // the index already holds 1..4
	}{
		{"all new", []int64{10, 11, 12, 13}},
		{"existing first", []int64{2, 10, 11}},
		{"existing in the middle", []int64{10, 3, 11}},
		{"existing last", []int64{10, 11, 4}},
		{"repeat of a new row", []int64{10, 11, 10, 12}},
		{"repeat at once", []int64{10, 10}},
		{"existing twice", []int64{1, 10, 1}},
		{"only existing", []int64{4, 3, 2, 1}},
	}
	for _, onDisk := range []bool{false, true} {
		for i, c := range cases {
			t.Run(fmt.Sprintf("%s/disk=%v", c.name, onDisk), func(t *testing.T) {
				mk := func() *Index {
					if !onDisk {
						return New(d)
					}
					x, err := NewOnDisk(d, t.TempDir())
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { x.Close() })
					return x
				}
				batch, one := mk(), mk()
				base := randVecs(uint64(100+i), 4, d)
				for _, x := range []*Index{batch, one} {
					if err := x.AddBatch([]int64{1, 2, 3, 4}, base); err != nil {
						t.Fatal(err)
					}
				}
				vecs := randVecs(uint64(200+i), len(c.ids), d)
				keep := slices.Clone(vecs)
				if err := batch.AddBatch(c.ids, vecs); err != nil {
					t.Fatal(err)
				}
				clear(vecs) // the index keeps its own copy
				for j, id := range c.ids {
					if err := one.Add(id, keep[j*d:(j+1)*d]); err != nil {
						t.Fatal(err)
					}
				}
				if got, want := batch.IDs(), one.IDs(); !slices.Equal(got, want) {
					t.Fatalf("IDs %v, want %v", got, want)
				}
				for q := range 3 {
					query := randVecs(uint64(300+q), 1, d)
					if got, want := batch.Search(query, 10), one.Search(query, 10); !slices.Equal(got, want) {
						t.Fatalf("query %d: batch %v, one at a time %v", q, got, want)
					}
				}
			})
		}
	}
}

func TestAddBatch_OneAllocation(t *testing.T) {
	const n, d = 1000, 64
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	vecs := randVecs(1, n, d)
	x := New(d)
	if err := x.AddBatch(ids, vecs); err != nil {
		t.Fatal(err)
	}
	if got, want := cap(x.codes), n*x.dpad; got != want {
		t.Fatalf("cap(codes)=%d, want exactly %d", got, want)
	}
	if got, want := cap(x.floats.(*memFloats).data), n*d; got != want {
		t.Fatalf("cap(floats)=%d, want exactly %d", got, want)
	}
}

func TestRemove(t *testing.T) {
	const n, d = 500, 16
	vecs := randVecs(5, n, d)
	x := New(d)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(1000 + i)
	}
	if err := x.AddBatch(ids, vecs); err != nil {
		t.Fatal(err)
	}
	if x.Remove(42) {
		t.Fatal("Remove of an absent id reported true")
	}
	r := rand.New(rand.NewPCG(9, 9))
	removed := map[int64]bool{}
	for len(removed) < n/2 {
		id := ids[r.IntN(n)]
		if got, want := x.Remove(id), !removed[id]; got != want {
			t.Fatalf("Remove(%d)=%v, want %v", id, got, want)
		}
		removed[id] = true
		if x.Has(id) {
			t.Fatalf("Has(%d) after Remove", id)
		}
	}
	if got, want := x.Len(), n-len(removed); got != want {
		t.Fatalf("Len=%d, want %d", got, want)
	}
	var keepIDs []int64
	var keepVecs []float32
	for i, id := range ids {
		if !removed[id] {
			keepIDs = append(keepIDs, id)
			keepVecs = append(keepVecs, vecs[i*d:(i+1)*d]...)
		}
	}
	if got := x.IDs(); !slices.Equal(got, keepIDs) {
		t.Fatalf("IDs=%v, want %v", got, keepIDs)
	}
	queries := randVecs(11, 5, d)
	queries = append(queries, vecs[:d]...)
	for qi := 0; qi < len(queries)/d; qi++ {
		q := queries[qi*d : (qi+1)*d]
		got := x.Search(q, n) // everything that is left
		if want := bruteForce(keepIDs, keepVecs, q, n); !slices.Equal(got, want) {
			t.Fatalf("query %d: got %v\nwant %v", qi, got, want)
		}
		for _, h := range got {
			if removed[h.ID] {
				t.Fatalf("removed id %d returned", h.ID)
			}
		}
	}
	for _, id := range keepIDs {
		x.Remove(id)
	}
	if got := x.Search(queries[:d], 10); len(got) != 0 {
		t.Fatalf("Search on an emptied index = %v", got)
	}
}

func TestRemove_ShrinksCapacity(t *testing.T) {
	const n, d = 20000, 8
	x := New(d)
	for i := 0; i < n; i++ {
		if err := x.Add(int64(i), randVecs(uint64(i), 1, d)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n*3/4; i++ {
		x.Remove(int64(i))
	}
	if got, limit := cap(x.ids), n/4*5/4+shrinkSlack; got > limit {
		t.Fatalf("cap=%d rows for %d left, want <= %d", got, x.Len(), limit)
	}
	if got, want := x.Len(), n/4; got != want {
		t.Fatalf("Len=%d, want %d", got, want)
	}
}

// TestConcurrent exercises Search against Add/Remove; run it with -race.
func TestConcurrent(t *testing.T) {
	const d, writers, readers, ops = 16, 2, 4, 300
	defer func(old int) { minParallelWork = old }(minParallelWork)
	minParallelWork = 64 // parallel scans even at this small n
	x := New(d)
	base := randVecs(1, 200, d)
	ids := make([]int64, 200)
	for i := range ids {
		ids[i] = int64(i)
	}
	if err := x.AddBatch(ids, base); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; i < ops; i++ {
				id := int64(r.IntN(400))
				if r.IntN(2) == 0 {
					if err := x.Add(id, randVecs(uint64(i), 1, d)); err != nil {
						t.Error(err)
						return
					}
				} else {
					x.Remove(id)
				}
			}
		})
	}
	for g := 0; g < readers; g++ {
		wg.Go(func() {
			q := randVecs(uint64(100+g), 1, d)
			for i := 0; i < ops; i++ {
				hits := x.Search(q, 20)
				if !slices.IsSortedFunc(hits, better) {
					t.Errorf("unsorted hits %v", hits)
					return
				}
				if len(hits) > 0 {
					_ = x.Has(hits[0].ID)
				}
				_ = x.Len()
				if i%50 == 0 {
					_ = x.IDs()
				}
			}
		})
	}
	wg.Wait()
	// The final state must still match a brute force over what is left.
	left := x.IDs()
	vecs := make([]float32, 0, len(left)*d)
	for _, id := range left {
		row, err := x.floats.read(int(x.rows[id]), make([]float32, d))
		if err != nil {
			t.Fatal(err)
		}
		vecs = append(vecs, row...)
	}
	q := randVecs(77, 1, d)
	if got, want := x.Search(q, 30), bruteForce(left, vecs, q, 30); !slices.Equal(got, want) {
		t.Fatalf("after concurrent ops: got %v, want %v", got, want)
	}
}

// TestMemoryOverhead checks the heap held per row, for the bulk load and
// one-at-a-time growth: with the float32 rows on disk (NewOnDisk, the
// server's index) at most 0.75 KiB a 512-d row; with them in memory (New)
// at most 1.4× the raw float32 bytes (they and the codes).
func TestMemoryOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~100 MB")
	}
	const n, d = 50000, 512
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i) * 7
	}
	vecs := randVecs(1, n, d)
	raw := float64(n * d * 4)
	for _, tt := range []struct {
		name   string
		onDisk bool
		load   func(x *Index)
	}{
		{"AddBatch", false, func(x *Index) {
			if err := x.AddBatch(ids, vecs); err != nil {
				t.Fatal(err)
			}
		}},
		{"Add", false, func(x *Index) {
			for i, id := range ids {
				if err := x.Add(id, vecs[i*d:(i+1)*d]); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"OnDiskAddBatch", true, nil},
		{"OnDiskAdd", true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := heapInUse()
			var x *Index
			if tt.onDisk {
				var err error
				if x, err = NewOnDisk(d, t.TempDir()); err != nil {
					t.Fatal(err)
				}
				defer x.Close()
				if tt.name == "OnDiskAdd" {
					for i, id := range ids {
						if err := x.Add(id, vecs[i*d:(i+1)*d]); err != nil {
							t.Fatal(err)
						}
					}
				} else if err := x.AddBatch(ids, vecs); err != nil {
					t.Fatal(err)
				}
			} else {
				x = New(d)
				tt.load(x)
			}
			used := float64(heapInUse() - before)
			runtime.KeepAlive(x)
			t.Logf("%s: %.3f× raw; %.1f bytes/row (slack %d rows)", tt.name, used/raw, used/n, cap(x.ids)-len(x.ids))
			if tt.onDisk {
				if used/n > 768 {
					t.Fatalf("heap %.0f bytes a row, want ≤ 768 (0.75 KiB)", used/n)
				}
			} else if used > 1.4*raw {
				t.Fatalf("heap %.0f bytes = %.2f× raw, want ≤ 1.4×", used, used/raw)
			}
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
