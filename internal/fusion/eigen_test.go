package fusion

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSymEigen(t *testing.T) {
	for _, n := range []int{1, 2, 5, 40} {
		r := rand.New(rand.NewPCG(1, uint64(n)))
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				v := r.NormFloat64()
				a[i*n+j], a[j*n+i] = v, v
			}
		}
		vals, vecs := symEigen(a, n)
		for j := 0; j < n; j++ {
			if j > 0 && vals[j] > vals[j-1] {
				t.Fatalf("n=%d: not descending", n)
			}
			for i := 0; i < n; i++ { // (A v)_i = λ v_i
				s := 0.0
				for k := 0; k < n; k++ {
					s += a[i*n+k] * vecs[k*n+j]
				}
				if math.Abs(s-vals[j]*vecs[i*n+j]) > 1e-9 {
					t.Fatalf("n=%d: A v != λ v for pair %d", n, j)
				}
			}
		}
	}
}
