package fusion

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func randUnit(r *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	normalise(v)
	return v
}

// TestPCARecoversSubspace: rows drawn from a known low-dimensional
// subspace (plus small noise) give principal directions that span it.
func TestPCARecoversSubspace(t *testing.T) {
	for _, tc := range []struct {
		name          string
		d, rank, rows int
		noise         float64
	}{
		{"exact rank 3 in 50", 50, 3, 40, 0},
		{"rank 5 in 200 with noise", 200, 5, 120, 0.01},
		{"more directions asked than rows", 30, 4, 6, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.d)))
			basis := make([][]float32, tc.rank)
			for i := range basis {
				basis[i] = randUnit(r, tc.d)
			}
			x := make([][]float32, tc.rows)
			for i := range x {
				x[i] = make([]float32, tc.d)
				for _, b := range basis {
					c := float32(r.NormFloat64())
					for t := range b {
						x[i][t] += c * b[t]
					}
				}
				for t := range x[i] {
					x[i][t] += float32(tc.noise * r.NormFloat64())
				}
			}
			dirs := pca(x, tc.rank)
			if len(dirs) != tc.rank {
				t.Fatalf("%d directions, want %d", len(dirs), tc.rank)
			}
			// Every true basis vector lies (almost) in the span of dirs.
			for i, b := range basis {
				var in float64
				for _, d := range dirs {
					c := float64(dot(b, d))
					in += c * c
				}
				if in < 0.99 {
					t.Errorf("basis vector %d: %.3f of it in the found span, want ~1", i, in)
				}
			}
			for i := range dirs {
				for j := range dirs {
					want := 0.0
					if i == j {
						want = 1
					}
					if got := float64(dot(dirs[i], dirs[j])); math.Abs(got-want) > 1e-3 {
						t.Fatalf("dirs %d·%d = %.4f, want %g", i, j, got, want)
					}
				}
			}
		})
	}
}

// TestWCCNWhitensWithinPairScatter: W (Sw + (tr Sw/d)·I) W = I, and
// whitening removes a nuisance direction the pairs differ along, so
// identification improves.
func TestWCCNWhitensWithinPairScatter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d, n     int
		nuisance float64 // std of the pair difference along the nuisance directions
		nDirs    int
	}{
		{"one strong nuisance direction", 16, 300, 2.0, 1},
		{"three nuisance directions", 24, 400, 1.5, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(tc.d)))
			nuis := make([][]float32, tc.nDirs)
			for i := range nuis {
				nuis[i] = randUnit(r, tc.d)
			}
			make2 := func() (a, b [][]float32) {
				for i := 0; i < tc.n; i++ {
					id := randUnit(r, tc.d)
					p, s := make([]float32, tc.d), make([]float32, tc.d)
					for t := range id {
						p[t] = id[t] + float32(0.05*r.NormFloat64())
						s[t] = id[t] + float32(0.05*r.NormFloat64())
					}
					for _, v := range nuis {
						c := float32(tc.nuisance * r.NormFloat64())
						for t := range v {
							s[t] += c * v[t]
						}
					}
					normalise(p)
					normalise(s)
					a, b = append(a, s), append(b, p)
				}
				return a, b
			}
			a, b := make2()
			w := wccn(a, b)
			// Sw + ridge, then W·(Sw+ridge)·W.
			d := tc.d
			sw := make([]float64, d*d)
			for i := range a {
				for x := 0; x < d; x++ {
					for y := 0; y < d; y++ {
						sw[x*d+y] += float64(a[i][x]-b[i][x]) * float64(a[i][y]-b[i][y]) / float64(2*len(a))
					}
				}
			}
			var tr float64
			for x := 0; x < d; x++ {
				tr += sw[x*d+x]
			}
			for x := 0; x < d; x++ {
				sw[x*d+x] += tr / float64(d)
			}
			for x := 0; x < d; x++ {
				for y := 0; y < d; y++ {
					var s float64
					for k := 0; k < d; k++ {
						for l := 0; l < d; l++ {
							s += float64(w[x*d+k]) * sw[k*d+l] * float64(w[l*d+y])
						}
					}
					want := 0.0
					if x == y {
						want = 1
					}
					if math.Abs(s-want) > 1e-3 {
						t.Fatalf("(W Sw W)[%d][%d] = %.4f, want %g", x, y, s, want)
					}
				}
			}
			// Held-out identification, raw vs whitened.
			ta, tb := make2()
			rank1 := func(f func([]float32) []float32) float64 {
				hits := 0
				for i := range ta {
					q := f(ta[i])
					best, arg := float32(-2), -1
					for j := range tb {
						if s := dot(q, f(tb[j])); s > best {
							best, arg = s, j
						}
					}
					if arg == i {
						hits++
					}
				}
				return float64(hits) / float64(len(ta))
			}
			raw := rank1(func(v []float32) []float32 { return v })
			white := rank1(func(v []float32) []float32 { o := matVec(w, v); normalise(o); return o })
			if white <= raw {
				t.Errorf("rank-1 raw %.3f, whitened %.3f: whitening should help", raw, white)
			}
		})
	}
}

// TestHubness: the offset is the mean of the K best scores against the
// calibration sketches.
func TestHubness(t *testing.T) {
	sk := [][]float32{{1, 0}, {0, 1}, {0.6, 0.8}, {-1, 0}}
	var flat []float32
	for _, v := range sk {
		flat = append(flat, v...)
	}
	for _, tc := range []struct {
		name string
		beta float64
		k    int
		v    []float32
		want float32
	}{
		{"best one", 0.5, 1, []float32{1, 0}, 1},
		{"best two", 0.5, 2, []float32{1, 0}, (1 + 0.6) / 2},
		{"k beyond the sketches", 0.5, 10, []float32{1, 0}, (1 + 0 + 0.6 - 1) / 4},
		{"no CSLS", 0, 10, []float32{1, 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{CSLSBeta: tc.beta, CSLSK: tc.k, CSLSSketches: flat}
			if got := m.hubness(tc.v); math.Abs(float64(got-tc.want)) > 1e-6 {
				t.Fatalf("hubness %.4f, want %.4f", got, tc.want)
			}
		})
	}
}

// synthPairs are pairs of small random descriptors with a shared identity.
func synthPairs(r *rand.Rand, n, e, h int) []Pair {
	out := make([]Pair, n)
	for i := range out {
		id, ht, hw := randUnit(r, e), randUnit(r, h), randUnit(r, h)
		noisy := func(v []float32, s float64) []float32 {
			o := make([]float32, len(v))
			for t := range v {
				o[t] = v[t] + float32(s*r.NormFloat64())
			}
			normalise(o)
			return o
		}
		out[i] = Pair{Photo: Parts{noisy(id, 0.1), noisy(ht, 0.1), noisy(hw, 0.1)}, Sketch: Parts{noisy(id, 0.3), noisy(ht, 0.3), noisy(hw, 0.3)}}
	}
	return out
}

// TestFitScoresAndCSLS: the fused score is (cos_emb + w·cos_hog)/(1+w)
// minus β × the reference's hubness; a reference without HOG ranks on its
// embedding alone; the model survives Marshal/Unmarshal bit for bit.
func TestFitScoresAndCSLS(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 1))
	pairs := synthPairs(r, 60, 12, 20)
	for _, tc := range []struct {
		name   string
		o      FitOptions
		whiten bool
	}{
		{"un-learned", FitOptions{Weight: 1.5, K: 8}, false},
		{"un-learned with CSLS", FitOptions{Weight: 1.5, K: 8, CSLSBeta: 0.5, CSLSK: 5}, false},
		{"whitened with CSLS", FitOptions{Weight: 2, K: 8, Whiten: true, CSLSBeta: 0.5, CSLSK: 5}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Fit(pairs, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Validate(12, 20); err != nil {
				t.Fatal(err)
			}
			if m.Whitened() != tc.whiten || m.Dim() != 12+8+1 {
				t.Fatalf("whitened %t dim %d", m.Whitened(), m.Dim())
			}
			p, _ := m.Photo(pairs[0].Photo)
			s, _ := m.Sketch(pairs[0].Sketch)
			e := dot(m.embPart(pairs[0].Sketch.Emb, m.SketchEmbMean), m.embPart(pairs[0].Photo.Emb, m.PhotoEmbMean))
			hh := dot(m.hogPart(concatHOG(pairs[0].Sketch, m.SketchHOGMean)), m.hogPart(concatHOG(pairs[0].Photo, m.PhotoHOGMean)))
			pv := p[:len(p)-1]
			want := (float64(e)+tc.o.Weight*float64(hh))/(1+tc.o.Weight) - tc.o.CSLSBeta*float64(m.hubness(pv))
			if got := float64(dot(s, p)); math.Abs(got-want) > 1e-5 {
				t.Fatalf("score %.6f, want %.6f", got, want)
			}
			if tc.o.CSLSBeta > 0 && p[len(p)-1] >= 0 {
				t.Fatalf("CSLS slot %.4f, want negative", p[len(p)-1])
			}
			// Without HOG: embedding part only.
			bare, ok := m.Photo(Parts{Emb: pairs[0].Photo.Emb})
			if !ok || len(bare) != m.Dim() {
				t.Fatal("a reference without HOG must still get a vector")
			}
			for _, x := range bare[12 : 12+8] {
				if x != 0 {
					t.Fatal("HOG part of a reference without HOG must be zero")
				}
			}
			if _, ok := m.Photo(Parts{Emb: []float32{1}}); ok {
				t.Fatal("a wrong-length embedding must be refused")
			}
			back, err := Unmarshal(m.Marshal())
			if err != nil || !reflect.DeepEqual(back, m) {
				t.Fatalf("round trip: %v", err)
			}
			blob := m.Marshal()
			for _, bad := range [][]byte{nil, blob[:len(blob)-1], append(append([]byte(nil), blob...), 0), append([]byte("XX"), blob[2:]...)} {
				if _, err := Unmarshal(bad); err == nil {
					t.Fatal("a damaged blob must be refused")
				}
			}
		})
	}
}

func BenchmarkPhotoProjection(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	const e, k, h = 512, 300, 6084
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	m := &Model{Weight: 1.5, CSLSBeta: 0.5, CSLSK: 10, PhotoEmbMean: rnd(e), SketchEmbMean: rnd(e),
		PhotoHOGMean: rnd(2 * h), SketchHOGMean: rnd(2 * h), Basis: rnd(k * 2 * h), EmbWhiten: rnd(e * e), HOGWhiten: rnd(k * k), CSLSSketches: rnd(480 * (e + k))}
	p := Parts{Emb: rnd(e), Tight: rnd(h), Wide: rnd(h)}
	for b.Loop() {
		m.Photo(p)
	}
}
