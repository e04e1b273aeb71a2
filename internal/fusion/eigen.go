package fusion

import "math"

// symEigen returns the eigenvalues (descending) and eigenvectors (column
// j of vecs, row-major n×n: vecs[i*n+j]) of the symmetric n×n matrix a
// (row-major; only read). Householder tridiagonalisation then the
// implicit QL method (EISPACK tred2/tql2, as in JAMA).
func symEigen(a []float64, n int) (vals, vecs []float64) {
	v := make([]float64, n*n)
	copy(v, a)
	d := make([]float64, n)
	e := make([]float64, n)
	tred2(v, d, e, n)
	tql2(v, d, e, n)
	// Sort descending.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	// Selection sort by value is O(n²): fine next to the O(n³) above.
	for i := 0; i < n; i++ {
		k := i
		for j := i + 1; j < n; j++ {
			if d[idx[j]] > d[idx[k]] {
				k = j
			}
		}
		idx[i], idx[k] = idx[k], idx[i]
	}
	vals = make([]float64, n)
	vecs = make([]float64, n*n)
	for j, src := range idx {
		vals[j] = d[src]
		for i := 0; i < n; i++ {
			vecs[i*n+j] = v[i*n+src]
		}
	}
	return vals, vecs
}

func tred2(V, d, e []float64, n int) {
	for j := 0; j < n; j++ {
		d[j] = V[(n-1)*n+j]
	}
	for i := n - 1; i > 0; i-- {
		scale, h := 0.0, 0.0
		for k := 0; k < i; k++ {
			scale += math.Abs(d[k])
		}
		if scale == 0 {
			e[i] = d[i-1]
			for j := 0; j < i; j++ {
				d[j] = V[(i-1)*n+j]
				V[i*n+j] = 0
				V[j*n+i] = 0
			}
		} else {
			for k := 0; k < i; k++ {
				d[k] /= scale
				h += d[k] * d[k]
			}
			f := d[i-1]
			g := math.Sqrt(h)
			if f > 0 {
				g = -g
			}
			e[i] = scale * g
			h -= f * g
			d[i-1] = f - g
			for j := 0; j < i; j++ {
				e[j] = 0
			}
			for j := 0; j < i; j++ {
				f = d[j]
				V[j*n+i] = f
				g = e[j] + V[j*n+j]*f
				for k := j + 1; k <= i-1; k++ {
					g += V[k*n+j] * d[k]
					e[k] += V[k*n+j] * f
				}
				e[j] = g
			}
			f = 0
			for j := 0; j < i; j++ {
				e[j] /= h
				f += e[j] * d[j]
			}
			hh := f / (h + h)
			for j := 0; j < i; j++ {
				e[j] -= hh * d[j]
			}
			for j := 0; j < i; j++ {
				f = d[j]
				g = e[j]
				for k := j; k <= i-1; k++ {
					V[k*n+j] -= f*e[k] + g*d[k]
				}
				d[j] = V[(i-1)*n+j]
				V[i*n+j] = 0
			}
		}
		d[i] = h
	}
	for i := 0; i < n-1; i++ {
		V[(n-1)*n+i] = V[i*n+i]
		V[i*n+i] = 1
		h := d[i+1]
		if h != 0 {
			for k := 0; k <= i; k++ {
				d[k] = V[k*n+i+1] / h
			}
			for j := 0; j <= i; j++ {
				g := 0.0
				for k := 0; k <= i; k++ {
					g += V[k*n+i+1] * V[k*n+j]
				}
				for k := 0; k <= i; k++ {
					V[k*n+j] -= g * d[k]
				}
			}
		}
		for k := 0; k <= i; k++ {
			V[k*n+i+1] = 0
		}
	}
	for j := 0; j < n; j++ {
		d[j] = V[(n-1)*n+j]
		V[(n-1)*n+j] = 0
	}
	V[(n-1)*n+n-1] = 1
	e[0] = 0
}

func tql2(V, d, e []float64, n int) {
	for i := 1; i < n; i++ {
		e[i-1] = e[i]
	}
	e[n-1] = 0
	f, tst1 := 0.0, 0.0
	eps := math.Pow(2, -52)
	for l := 0; l < n; l++ {
		tst1 = math.Max(tst1, math.Abs(d[l])+math.Abs(e[l]))
		m := l
		for m < n {
			if math.Abs(e[m]) <= eps*tst1 {
				break
			}
			m++
		}
		if m == n {
			m = n - 1
		}
		if m > l {
			for iter := 0; iter < 60; iter++ {
				g := d[l]
				p := (d[l+1] - g) / (2 * e[l])
				r := math.Hypot(p, 1)
				if p < 0 {
					r = -r
				}
				d[l] = e[l] / (p + r)
				d[l+1] = e[l] * (p + r)
				dl1 := d[l+1]
				h := g - d[l]
				for i := l + 2; i < n; i++ {
					d[i] -= h
				}
				f += h
				p = d[m]
				c, c2, c3 := 1.0, 1.0, 1.0
				el1 := e[l+1]
				s, s2 := 0.0, 0.0
				for i := m - 1; i >= l; i-- {
					c3 = c2
					c2 = c
					s2 = s
					g = c * e[i]
					h = c * p
					r = math.Hypot(p, e[i])
					e[i+1] = s * r
					s = e[i] / r
					c = p / r
					p = c*d[i] - s*g
					d[i+1] = h + s*(c*g+s*d[i])
					for k := 0; k < n; k++ {
						h = V[k*n+i+1]
						V[k*n+i+1] = s*V[k*n+i] + c*h
						V[k*n+i] = c*V[k*n+i] - s*h
					}
				}
				p = -s * s2 * c3 * el1 * e[l] / dl1
				e[l] = s * p
				d[l] = c * p
				if math.Abs(e[l]) <= eps*tst1 {
					break
				}
			}
		}
		d[l] += f
		e[l] = 0
	}
}
