//go:build !amd64 || purego

package index

const haveAVX2 = false

func dotBlockAVX2(q *float32, rows *float32, d int, n int, out *float32) {
	panic("index: dotBlockAVX2 without AVX2")
}

// prefetch is a no-op without the amd64 assembly.
func prefetch(p *float32, bytes int) {}

func dotCodesAVX2(p *int16, codes *int8, d int, n int, out *int32) {
	panic("index: dotCodesAVX2 without AVX2")
}

func prefetchCodes(p *int8, bytes int) {}

const haveAVX512VNNI = false

func dotCodesAVX512(p *int16, codes *int8, d int, n int, out *int32) {
	panic("index: dotCodesAVX512 without AVX-512")
}
