//go:build amd64 && !purego

package index

import "golang.org/x/sys/cpu"

// x/sys/cpu reports AVX2/FMA only when the OS also saves the YMM registers.
var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dotBlockAVX2(q *float32, rows *float32, d int, n int, out *float32)

//go:noescape
func prefetch(p *float32, bytes int)

//go:noescape
func dotCodesAVX2(p *int16, codes *int8, d int, n int, out *int32)

//go:noescape
func prefetchCodes(p *int8, bytes int)

// haveAVX512VNNI: VPMOVSXBW on ZMM (AVX512BW) and VPDPWSSD (AVX512_VNNI).
var haveAVX512VNNI = haveAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI

//go:noescape
func dotCodesAVX512(p *int16, codes *int8, d int, n int, out *int32)
