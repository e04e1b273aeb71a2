package fusion

import (
	"math"
	"runtime"
	"sync"
)

// dot is the float32 inner product, accumulated in four float32 lanes.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// normalise scales v to unit length (a zero vector stays zero).
func normalise(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
}

// mean returns the mean of rows (all of length d).
func mean(rows [][]float32, d int) []float32 {
	acc := make([]float64, d)
	for _, r := range rows {
		for i, x := range r {
			acc[i] += float64(x)
		}
	}
	out := make([]float32, d)
	for i := range acc {
		out[i] = float32(acc[i] / float64(len(rows)))
	}
	return out
}

// parallel runs f(i) for i in [0, n) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// matVec returns M·v for M rows×len(v), row-major float32.
func matVec(m []float32, v []float32) []float32 {
	d := len(v)
	out := make([]float32, len(m)/d)
	for r := range out {
		out[r] = dot(m[r*d:(r+1)*d], v)
	}
	return out
}

// pca returns the top k principal directions (k rows of length d,
// row-major, unit length) of the rows of x, which the caller has already
// centred. It works on the m×m Gram matrix (m = len(x) ≪ d): with
// X Xᵀ u = λ u, the direction is Xᵀ u / √λ. Fewer than k directions come
// back when the rows span fewer dimensions.
func pca(x [][]float32, k int) [][]float32 {
	m := len(x)
	if m == 0 {
		return nil
	}
	d := len(x[0])
	g := make([]float64, m*m)
	parallel(m, func(i int) {
		for j := 0; j <= i; j++ {
			v := float64(dot(x[i], x[j]))
			g[i*m+j], g[j*m+i] = v, v
		}
	})
	vals, vecs := symEigen(g, m)
	var out [][]float32
	for j := 0; j < min(k, m); j++ {
		if vals[j] <= vals[0]*1e-9 {
			break
		}
		out = append(out, nil)
	}
	parallel(len(out), func(j int) {
		dir := make([]float64, d)
		for i := 0; i < m; i++ {
			c := vecs[i*m+j]
			for t, v := range x[i] {
				dir[t] += c * float64(v)
			}
		}
		row := make([]float32, d)
		for t := range dir {
			row[t] = float32(dir[t])
		}
		normalise(row)
		out[j] = row
	})
	return out
}

// wccn returns the within-pair whitening W = (Sw + (tr Sw/d)·I)^(-1/2)
// (d×d, row-major, symmetric) for pairs (a[i], b[i]) of unit vectors:
// Sw = Σ Dᵢᵀ Dᵢ / (2n), Dᵢ = a[i] − b[i]. The ridge (tr Sw/d)·I keeps the
// directions the pairs do not span from exploding.
func wccn(a, b [][]float32) []float32 {
	n, d := len(a), len(a[0])
	diffs := make([][]float64, n)
	for i := range a {
		diffs[i] = make([]float64, d)
		for t := range diffs[i] {
			diffs[i][t] = float64(a[i][t]) - float64(b[i][t])
		}
	}
	sw := make([]float64, d*d)
	parallel(d, func(r int) {
		for c := 0; c <= r; c++ {
			var s float64
			for _, df := range diffs {
				s += df[r] * df[c]
			}
			sw[r*d+c] = s / float64(2*n)
		}
	})
	var tr float64
	for r := 0; r < d; r++ {
		for c := 0; c < r; c++ {
			sw[c*d+r] = sw[r*d+c]
		}
		tr += sw[r*d+r]
	}
	ridge := tr / float64(d)
	if ridge <= 0 {
		ridge = 1
	}
	for r := 0; r < d; r++ {
		sw[r*d+r] += ridge
	}
	vals, vecs := symEigen(sw, d)
	w := make([]float32, d*d)
	parallel(d, func(r int) {
		for c := 0; c <= r; c++ {
			var s float64
			for j := 0; j < d; j++ {
				s += vecs[r*d+j] * vecs[c*d+j] / math.Sqrt(math.Max(vals[j], ridge*1e-6))
			}
			w[r*d+c], w[c*d+r] = float32(s), float32(s)
		}
	})
	return w
}
