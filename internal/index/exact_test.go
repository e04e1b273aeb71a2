package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// newTestIndex returns an empty index: with its float32 rows in a file while
// TestSearch_OnDisk runs the shared tests (testOnDisk), else in memory.
func newTestIndex(t *testing.T, d int) *Index {
	t.Helper()
	if !testOnDisk {
		return New(d)
	}
	x, err := NewOnDisk(d, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

var testOnDisk bool

// TestSearch_OnDisk runs the brute-force comparisons with the float32 rows
// in the file store.
func TestSearch_OnDisk(t *testing.T) {
	testOnDisk = true
	defer func() { testOnDisk = false }()
	t.Run("MatchesBruteForce", TestSearch_MatchesBruteForce)
	t.Run("Adversarial", TestSearch_AdversariallyClose)
}

// TestSearch_AdversariallyClose builds galleries whose exact scores are far
// closer together than the int8 codes can tell apart, so the first stage's
// order is wrong and only the bound and the re-score make it right.
func TestSearch_AdversariallyClose(t *testing.T) {
	const d = 128
	base := randVecs(1, 1, d)
	for _, tt := range []struct {
		name  string
		n     int
		noise float64 // per-component perturbation of base
		far   int     // plus this many unrelated rows
	}{
		{"Identical", 300, 0, 200},
		{"Ulp", 400, 1e-7, 500},
		{"BelowCodeStep", 500, 1e-4, 1000},
		{"AroundCodeStep", 500, 3e-3, 1000},
		{"Spread", 500, 3e-2, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tt.n), 5))
			var ids []int64
			var vecs []float32
			for i := 0; i < tt.n; i++ {
				row := slices.Clone(base)
				var ss float64
				for j := range row {
					row[j] += float32(r.NormFloat64() * tt.noise)
					ss += float64(row[j]) * float64(row[j])
				}
				for j := range row {
					row[j] = float32(float64(row[j]) / math.Sqrt(ss))
				}
				ids = append(ids, int64(r.IntN(1<<30))*2+int64(i%2)) // unordered ids
				vecs = append(vecs, row...)
			}
			vecs = append(vecs, randVecs(9, tt.far, d)...)
			for i := 0; i < tt.far; i++ {
				ids = append(ids, -int64(i)-1)
			}
			x := newTestIndex(t, d)
			if err := x.AddBatch(ids, vecs); err != nil {
				t.Fatal(err)
			}
			queries := [][]float32{base, vecs[d : 2*d]}
			// A query near base but off it, and a query of other scale.
			q3 := slices.Clone(base)
			for j := range q3 {
				q3[j] = q3[j]*0.9 + float32(r.NormFloat64()*0.01)
			}
			queries = append(queries, q3)
			kernels(t, func(t *testing.T) {
				parallelism(t, func(t *testing.T) {
					for qi, q := range queries {
						for _, k := range []int{1, 5, 50, 200} {
							got, _, rescored := x.search(q, k, nil)
							if want := bruteForce(ids, vecs, q, k); !slices.Equal(got, want) {
								t.Fatalf("query %d k=%d (%d re-scored):\n got %v\nwant %v", qi, k, rescored, got, want)
							}
						}
					}
				})
			})
		})
	}
}

// TestQuantizeBound checks the bound itself: for random rows and queries of
// several scales, |exact − first-stage| ≤ β for every row.
func TestQuantizeBound(t *testing.T) {
	for _, d := range []int{1, 3, 16, 100, 512, 1031} {
		t.Run(fmt.Sprint("d=", d), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(d), 2))
			rows := randVecs(uint64(d), 200, d)
			for i := range rows {
				if i%7 == 0 {
					rows[i] *= float32(math.Pow(10, float64(r.IntN(7)-3)))
				}
			}
			x := New(d)
			ids := make([]int64, 200)
			for i := range ids {
				ids[i] = int64(i)
			}
			if err := x.AddBatch(ids, rows); err != nil {
				t.Fatal(err)
			}
			for qi := 0; qi < 5; qi++ {
				q := randVecs(uint64(100+qi), 1, d)
				for j := range q {
					q[j] *= float32(math.Pow(10, float64(qi-2)))
				}
				pq := prepareQuery(q, x.dpad)
				beta := pq.slack(x.bounds, d)
				ints := make([]int32, 200)
				dotCodes(pq.p, x.codes, ints)
				for i := range ids {
					var s [1]float32
					dotBlock(q, rows[i*d:(i+1)*d], s[:])
					a := float64(ints[i]) * float64(x.scales[i]) * pq.t
					if diff := math.Abs(float64(s[0]) - a); diff > beta {
						t.Fatalf("row %d: |exact−a| = %g > β = %g", i, diff, beta)
					}
				}
			}
		})
	}
}

func TestDotCodesKernels(t *testing.T) {
	for _, d := range []int{16, 32, 48, 64, 80, 512, 1040} {
		r := rand.New(rand.NewPCG(uint64(d), 3))
		const n = 7
		p := make([]int16, d)
		c := make([]int8, n*d)
		for i := range p {
			p[i] = int16(r.IntN(2*32767+1) - 32767)
		}
		for i := range c {
			c[i] = int8(r.IntN(255) - 127)
		}
		if d > 516 { // keep the sums in int32 as maxQueryCode does
			for i := range p {
				p[i] /= 4
			}
		}
		kernels(t, func(t *testing.T) {
			out := make([]int32, n)
			dotCodes(p, c, out)
			for row := 0; row < n; row++ {
				var want int64
				for i := 0; i < d; i++ {
					want += int64(p[i]) * int64(c[row*d+i])
				}
				if int64(out[row]) != want {
					t.Fatalf("d=%d row %d: got %d, want %d", d, row, out[row], want)
				}
			}
		})
	}
}

func TestNewOnDisk_LeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	x, err := NewOnDisk(8, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.AddBatch([]int64{1, 2}, randVecs(1, 2, 8)); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left in the directory: %v (the float32 file is unlinked at once)", ents)
	}
	if _, err := NewOnDisk(8, filepath.Join(dir, "missing")); err == nil {
		t.Fatal("NewOnDisk in a missing directory: no error")
	}
}

// TestSearch_ReadFailure: once the float32 file cannot be read, searches
// return no hits (never a ranking that might not be exact) and Err says why.
func TestSearch_ReadFailure(t *testing.T) {
	x, err := NewOnDisk(8, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := x.AddBatch([]int64{1, 2, 3}, randVecs(2, 3, 8)); err != nil {
		t.Fatal(err)
	}
	x.floats.(*fileFloats).f.Close() // the file fails under the index
	if got := x.Search(randVecs(3, 1, 8), 2); len(got) != 0 {
		t.Fatalf("Search after a read failure = %v, want none", got)
	}
	if x.Err() == nil {
		t.Fatal("Err() = nil after a read failure")
	}
}
