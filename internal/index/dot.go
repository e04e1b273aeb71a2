package index

// useAVX2 selects the assembly kernel. It is a variable only so that tests and
// benchmarks can compare it with the portable one.
var useAVX2 = haveAVX2

// useAVX512 selects the AVX-512 VNNI kernel of the first stage (with
// useAVX2; the float32 kernel stays AVX2, so exact scores do not depend on
// it). A variable for the same reason as useAVX2.
var useAVX512 = haveAVX512VNNI

// dotBlock sets out[r] to the dot product of q with row r of rows, where rows
// holds len(out) rows of len(q) floats each.
func dotBlock(q, rows, out []float32) {
	d, n := len(q), len(out)
	if n == 0 || d == 0 {
		clear(out)
		return
	}
	rows = rows[:n*d] // one bounds check here instead of one per row
	if useAVX2 {
		dotBlockAVX2(&q[0], &rows[0], d, n, &out[0])
		return
	}
	for r := range out {
		out[r] = dotGeneric(q, rows[r*d:(r+1)*d])
	}
}

// dotGeneric is the portable kernel. The Go compiler (1.26, GOAMD64=v1) does
// not vectorise: every multiply-add is a scalar MULSS+ADDSS. Unrolling by 8
// with 4 accumulators breaks the add-latency chain; 8 accumulators was slower
// because one of them spills to the stack (X15 is reserved by the ABI).
func dotGeneric(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i <= n-8; i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		s0 += x[0]*y[0] + x[4]*y[4]
		s1 += x[1]*y[1] + x[5]*y[5]
		s2 += x[2]*y[2] + x[6]*y[6]
		s3 += x[3]*y[3] + x[7]*y[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
