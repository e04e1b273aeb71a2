package index

import "math"

// The compact first stage.
//
// Every row r is kept as int8 codes c_r with a per-row scale s_r, chosen as
// max|v_r|/127 and rounded to nearest: v_r = s_r·c_r + e_r. The query is
// quantised to int16 (q = t·p + e_q) so the first-stage score
//
//	a_r = s_r·t·(p·c_r)
//
// needs only an exact integer dot product (no rounding, any summation
// order). Then
//
//	q·v_r = a_r + s_r·(e_q·c_r) + q·e_r
//
// and, by Cauchy–Schwarz, |q·v_r − a_r| ≤ ‖e_q‖·max‖s_r c_r‖ + ‖q‖·max‖e_r‖.
// The index's exact score is the float32 kernel's fl(q·v_r), within
// γ_d·‖q‖·‖v_r‖ of q·v_r (γ_d = d·u/(1−d·u), u = 2⁻²⁴; any summation order).
// With β the sum of these (inflated for the float64 and float32 roundings
// of a_r itself), every row satisfies |score_r − a_r| ≤ β. If T is the k-th
// best a_r, k rows score at least T−β, so a row can only be in the exact
// top k if a_r + β ≥ T − β: those candidates are re-scored in float32 with
// the same kernel as before, which makes the result identical (ids, order,
// scores) to the exact scan.

// codeAlign pads rows so the kernel needs no tail loop.
const codeAlign = 16

func paddedDim(d int) int { return (d + codeAlign - 1) / codeAlign * codeAlign }

const (
	signBit = 1 << 31    // of a float32
	half32  = 0x3f000000 // 0.5's float32 bits
)

// rowBounds are what quantising one row contributes to β.
type rowBounds struct {
	err   float64 // ‖e_r‖
	scale float64 // ‖s_r·c_r‖
	norm  float64 // ‖v_r‖
}

// quantizeRow writes v's codes into dst (len ≥ len(v); the padding is
// zeroed) and returns the scale and the bounds.
func quantizeRow(v []float32, dst []int8) (float32, rowBounds) {
	var m float32
	for _, x := range v {
		m = max(m, math.Float32frombits(math.Float32bits(x)&^signBit))
	}
	clear(dst[len(v):])
	scale := m / 127
	var b rowBounds
	if scale == 0 || math.IsInf(float64(1/scale), 0) {
		// All zeros, or too small to divide by: code nothing, the whole row
		// is error (and so is bounded).
		clear(dst[:len(v)])
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		n := math.Sqrt(ss)
		return 0, rowBounds{err: n, norm: n}
	}
	// Any codes would do (the bound uses the error they leave, computed
	// exactly); round-to-nearest by x·(1/scale) is the cheap near-best.
	s, inv := float64(scale), 1/scale
	var ee, vv float64
	var cc int64 // exact
	for i, x := range v {
		// Round half away from zero and clamp to ±127, without a branch
		// (the signs of real embeddings are a coin toss for a predictor):
		// half is ±0.5 with t's sign, and int32 truncates towards zero.
		t := x * inv
		half := math.Float32frombits(math.Float32bits(t)&signBit | half32)
		ci := int32(max(min(t+half, 127), -127))
		dst[i] = int8(ci)
		cc += int64(ci * ci)
		e := float64(x) - s*float64(ci) // exact: s·c has 32 significant bits, and |e| ≤ ~s
		ee += e * e
		vv += float64(x) * float64(x)
	}
	b.err, b.scale, b.norm = math.Sqrt(ee), s*math.Sqrt(float64(cc)), math.Sqrt(vv)
	return scale, b
}

// query is a search's query prepared for the first stage.
type query struct {
	f     []float32 // the query as given (second stage)
	p     []int16   // int16 codes, padded to the code row length
	t     float64   // their scale
	norm  float64   // ‖q‖
	eNorm float64   // ‖e_q‖
}

// maxQueryCode keeps the kernel's int32 sums from overflowing:
// |p·c| ≤ dpad·127·maxQueryCode < 2³¹.
func maxQueryCode(dpad int) float64 {
	return float64(min(32767, (math.MaxInt32)/(dpad*127)))
}

func prepareQuery(q []float32, dpad int) query {
	out := query{f: q, p: make([]int16, dpad)}
	var m, ss float64
	for _, x := range q {
		m = max(m, math.Abs(float64(x)))
		ss += float64(x) * float64(x)
	}
	out.norm = math.Sqrt(ss)
	if m == 0 {
		return out
	}
	out.t = m / maxQueryCode(dpad)
	var ee float64
	for i, x := range q {
		c := math.RoundToEven(float64(x) / out.t)
		out.p[i] = int16(c)
		e := float64(x) - out.t*c
		ee += e * e
	}
	out.eNorm = math.Sqrt(ee)
	return out
}

// slack returns β for this query against rows whose bounds are at most b.
func (q *query) slack(b rowBounds, d int) float64 {
	const u = 1.0 / (1 << 24)
	gamma := float64(d) * u / (1 - float64(d)*u)
	mag := q.norm * b.norm
	beta := q.eNorm*b.scale + q.norm*b.err + gamma*mag
	// The float64 arithmetic of a_r, β and the square roots is good to
	// ~1e-15 relative; a_r and T are rounded to float32 (2⁻²⁴ of |a| ≤
	// mag+β each). Cover all of it generously.
	beta = beta*(1+1e-6) + 4*u*(mag+beta) + 1e-30
	if math.IsNaN(beta) || math.IsInf(beta, 0) {
		return math.Inf(1)
	}
	return beta
}

// dotCodes sets out[r] to the exact integer dot product of p with row r of
// codes (len(out) rows of len(p) codes; len(p) a multiple of codeAlign).
func dotCodes(p []int16, codes []int8, out []int32) {
	d, n := len(p), len(out)
	if n == 0 {
		return
	}
	codes = codes[:n*d]
	if useAVX2 && useAVX512 {
		dotCodesAVX512(&p[0], &codes[0], d, n, &out[0])
		return
	}
	if useAVX2 {
		dotCodesAVX2(&p[0], &codes[0], d, n, &out[0])
		return
	}
	for r := range out {
		out[r] = dotCodesGeneric(p, codes[r*d:(r+1)*d])
	}
}

func dotCodesGeneric(p []int16, c []int8) int32 {
	c = c[:len(p)]
	var s0, s1, s2, s3 int32
	for i := 0; i+4 <= len(p); i += 4 {
		s0 += int32(p[i]) * int32(c[i])
		s1 += int32(p[i+1]) * int32(c[i+1])
		s2 += int32(p[i+2]) * int32(c[i+2])
		s3 += int32(p[i+3]) * int32(c[i+3])
	}
	return (s0 + s1) + (s2 + s3)
}
