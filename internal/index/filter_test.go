package index

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// bruteForceFiltered is bruteForce over the rows allow accepts.
func bruteForceFiltered(ids []int64, vecs, q []float32, k int, allow func(int64) bool) ([]Hit, int) {
	d := len(q)
	var fids []int64
	var fvecs []float32
	for i, id := range ids {
		if allow(id) {
			fids = append(fids, id)
			fvecs = append(fvecs, vecs[i*d:(i+1)*d]...)
		}
	}
	return bruteForce(fids, fvecs, q, k), len(fids)
}

func TestSearchFiltered_MatchesBruteForce(t *testing.T) {
	const n, d = 3000, 40
	vecs := randVecs(5, n, d)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)*7 + 3
	}
	x := New(d)
	if err := x.AddBatch(ids, vecs); err != nil {
		t.Fatal(err)
	}
	keep := func(p float64) func(int64) bool {
		r := rand.New(rand.NewPCG(uint64(p*1000), 1))
		set := map[int64]bool{}
		for _, id := range ids {
			if r.Float64() < p {
				set[id] = true
			}
		}
		return func(id int64) bool { return set[id] }
	}
	// A vector that scores highest but is filtered out must not take a slot:
	// the query is one of the stored rows, whose id the filters below reject.
	q := vecs[:d]
	for _, tt := range []struct {
		name  string
		allow func(int64) bool
	}{
		{"None", func(int64) bool { return false }},
		{"One", func(id int64) bool { return id == ids[n/2] }},
		{"OnePercent", keep(0.01)},
		{"ThirtyPercent", keep(0.30)},
		{"Alternate", func(id int64) bool { return (id/7)%2 == 1 }},
		{"AllButBest", func(id int64) bool { return id != ids[0] }},
		{"All", func(int64) bool { return true }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kernels(t, func(t *testing.T) {
				parallelism(t, func(t *testing.T) {
					for _, k := range []int{0, 1, 10, 50, 2999, 5000} {
						got, kept := x.SearchFiltered(q, k, tt.allow)
						want, wantKept := bruteForceFiltered(ids, vecs, q, k, tt.allow)
						if kept != wantKept {
							t.Fatalf("k=%d: kept=%d, want %d", k, kept, wantKept)
						}
						if len(got) != min(k, wantKept) {
							t.Fatalf("k=%d: %d hits, want min(k, kept)=%d", k, len(got), min(k, wantKept))
						}
						if !slices.Equal(got, want) {
							t.Fatalf("k=%d:\n got %v\nwant %v", k, got, want)
						}
						for _, h := range got {
							if !tt.allow(h.ID) {
								t.Fatalf("k=%d: hit %d fails the filter", k, h.ID)
							}
						}
					}
				})
			})
		})
	}
	t.Run("NilAllowIsSearch", func(t *testing.T) {
		got, kept := x.SearchFiltered(q, 20, nil)
		if kept != n || !slices.Equal(got, x.Search(q, 20)) {
			t.Fatalf("nil allow: kept=%d", kept)
		}
	})
	t.Run("BadQuery", func(t *testing.T) {
		got, kept := x.SearchFiltered(q[:d-1], 5, func(int64) bool { return true })
		if got == nil || len(got) != 0 || kept != 0 {
			t.Fatalf("short query: %v %d", got, kept)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		got, kept := New(d).SearchFiltered(q, 5, func(int64) bool { return true })
		if got == nil || len(got) != 0 || kept != 0 {
			t.Fatalf("empty index: %v %d", got, kept)
		}
	})
}
