package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// Benchmarks. The scan is memory-bound, so compare BenchmarkSearch/d=512/n=100k
// with BenchmarkSequentialRead from the same run (same matrix, same cores):
//
//	go test -run=^$ -bench='Search$|SequentialRead|SearchVsRead' -benchtime=20x ./internal/index
//
// -short skips the 4 GB 1M×1024 case.

// benchIndex builds an index of n seeded random normalised vectors directly
// (no AddBatch copy, so the largest case needs 4 GB rather than 8).
func benchIndex(n, d int) *Index {
	data := make([]float32, n*d)
	var wg sync.WaitGroup
	const part = 1 << 14
	for lo := 0; lo < n; lo += part {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(lo), uint64(d)))
			for i := lo; i < min(lo+part, n); i++ {
				row := data[i*d : (i+1)*d]
				var ss float32
				for j := range row {
					v := r.Float32()*2 - 1
					row[j] = v
					ss += v * v
				}
				inv := 1 / float32(math.Sqrt(float64(ss)))
				for j := range row {
					row[j] *= inv
				}
			}
		})
	}
	wg.Wait()
	x := New(d)
	x.data = data
	x.ids = make([]int64, n)
	x.rows = make(map[int64]int32, n)
	for i := range x.ids {
		x.ids[i] = int64(i)
		x.rows[int64(i)] = int32(i)
	}
	return x
}

// shared100k is the 100k×512 matrix used by both BenchmarkSearch and
// BenchmarkSequentialRead.
var shared100k = sync.OnceValue(func() *Index { return benchIndex(100_000, 512) })

func BenchmarkSearch(b *testing.B) {
	for _, d := range []int{512, 1024} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			b.Run(fmt.Sprintf("d=%d/n=%s", d, short(n)), func(b *testing.B) {
				if testing.Short() && n*d > 512_000_000 {
					b.Skip("4 GB matrix; skipped under -short")
				}
				var x *Index
				if n == 100_000 && d == 512 {
					x = shared100k()
				} else {
					x = benchIndex(n, d)
				}
				benchSearch(b, x, 50)
			})
		}
	}
}

func benchSearch(b *testing.B, x *Index, k int) {
	q := randVecs(42, 1, x.dim)
	b.SetBytes(int64(len(x.data)) * 4)
	b.ReportAllocs()
	for b.Loop() {
		if hits := x.Search(q, k); len(hits) != min(k, len(x.ids)) {
			b.Fatalf("%d hits", len(hits))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/query")
}

// BenchmarkSequentialRead streams the 100k×512 matrix once per op with the
// fastest kernel and all cores, no heap: the memory-bandwidth floor a scan
// can reach on this machine.
func BenchmarkSequentialRead(b *testing.B) {
	x := shared100k()
	b.SetBytes(int64(len(x.data)) * 4)
	var sink float32
	for b.Loop() {
		sink += sequentialRead(x)
	}
	_ = sink
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/query")
}

// BenchmarkSearchVsRead alternates one 100k×512 top-50 search with one
// sequential read and reports their ratio. On a shared machine whose memory
// bandwidth drifts with other tenants' load, the ratio is steadier than two
// benchmarks run a few seconds apart.
func BenchmarkSearchVsRead(b *testing.B) {
	x := shared100k()
	q := randVecs(42, 1, x.dim)
	var search, read time.Duration
	var sink float32
	for b.Loop() {
		t0 := time.Now()
		x.Search(q, 50)
		t1 := time.Now()
		sink += sequentialRead(x)
		search, read = search+t1.Sub(t0), read+time.Since(t1)
	}
	_ = sink
	b.ReportMetric(float64(search.Nanoseconds())/float64(b.N)/1e6, "search-ms")
	b.ReportMetric(float64(read.Nanoseconds())/float64(b.N)/1e6, "read-ms")
	b.ReportMetric(float64(search)/float64(read), "search/read")
}

// sequentialRead sums every float of x (as row dot products with a vector of
// ones), split across GOMAXPROCS goroutines.
func sequentialRead(x *Index) float32 {
	ones := make([]float32, x.dim)
	for i := range ones {
		ones[i] = 1
	}
	workers := runtime.GOMAXPROCS(0)
	n := len(x.ids)
	sums := make([]float32, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var buf [blockRows]float32
			var s float32
			for r := w * n / workers; r < (w+1)*n/workers; r += blockRows {
				e := min(r+blockRows, (w+1)*n/workers)
				dotBlock(ones, x.data[r*x.dim:e*x.dim], buf[:e-r])
				for _, v := range buf[:e-r] {
					s += v
				}
			}
			sums[w] = s
		})
	}
	wg.Wait()
	var total float32
	for _, s := range sums {
		total += s
	}
	return total
}

// BenchmarkSearchSmall finds the size below which one goroutine beats
// splitting the scan (minParallelWork).
func BenchmarkSearchSmall(b *testing.B) {
	defer func(old int) { minParallelWork = old }(minParallelWork)
	for _, n := range []int{512, 1024, 2048, 4096, 8192, 16384} {
		x := benchIndex(n, 512)
		for _, mode := range []string{"seq", "par"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, mode), func(b *testing.B) {
				minParallelWork = math.MaxInt
				if mode == "par" {
					minParallelWork = 1
				}
				benchSearch(b, x, 50)
			})
		}
	}
}

// BenchmarkDot compares the kernels on a cache-resident block (1 MB), where
// arithmetic, not memory, is the limit.
func BenchmarkDot(b *testing.B) {
	const n, d = 512, 512
	q, rows := randVecs(1, 1, d), randVecs(2, n, d)
	out := make([]float32, n)
	defer func(old bool) { useAVX2 = old }(useAVX2)
	for _, k := range []string{"generic", "avx2"} {
		b.Run(k, func(b *testing.B) {
			useAVX2 = k == "avx2"
			if useAVX2 && !haveAVX2 {
				b.Skip("no AVX2+FMA")
			}
			for b.Loop() {
				dotBlock(q, rows, out)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(n*d), "ns/MAC")
		})
	}
}

// BenchmarkSearchGeneric is BenchmarkSearch's 100k×512 case with the
// portable kernel, to show what the assembly buys.
func BenchmarkSearchGeneric(b *testing.B) {
	defer func(old bool) { useAVX2 = old }(useAVX2)
	useAVX2 = false
	benchSearch(b, shared100k(), 50)
}

func short(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// BenchmarkSearchFiltered is the witness-filter acceptance check (issue 9
// §4): 100k×512, top-50, a filter keeping 30 % of the references, against
// the unfiltered search on the same matrix. The filter looks each id up in
// a slice indexed by id, as the gallery's does (its in-memory metadata is
// indexed by reference id: a map lookup per row cost more than the scan
// saved, 44 ms against 18 ms unfiltered).
//
//	go test -run=^$ -bench='SearchFiltered' -benchtime=50x ./internal/index
func BenchmarkSearchFiltered(b *testing.B) {
	x := shared100k()
	q := randVecs(42, 1, x.dim)
	r := rand.New(rand.NewPCG(30, 30))
	keep := make([]bool, len(x.ids))
	for _, id := range x.ids {
		keep[id] = r.Float64() < 0.30
	}
	allow := func(id int64) bool { return keep[id] }
	b.Run("unfiltered", func(b *testing.B) {
		for b.Loop() {
			x.Search(q, 50)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/query")
	})
	b.Run("keep30", func(b *testing.B) {
		for b.Loop() {
			if hits, _ := x.SearchFiltered(q, 50, allow); len(hits) != 50 {
				b.Fatalf("%d hits", len(hits))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/query")
	})
	// Alternating the two in one loop, and taking the median of the
	// per-pair ratios, is what stays steady on a machine shared with other
	// work (whose load changes both times by 3× within a minute).
	b.Run("ratio", func(b *testing.B) {
		var plain, filtered []float64
		var ratios []float64
		for b.Loop() {
			t0 := time.Now()
			x.Search(q, 50)
			t1 := time.Now()
			x.SearchFiltered(q, 50, allow)
			p, f := t1.Sub(t0).Seconds()*1e3, time.Since(t1).Seconds()*1e3
			plain, filtered, ratios = append(plain, p), append(filtered, f), append(ratios, f/p)
		}
		b.ReportMetric(median(plain), "unfiltered-median-ms")
		b.ReportMetric(median(filtered), "keep30-median-ms")
		b.ReportMetric(median(ratios), "filtered/unfiltered")
	})
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
