//go:build amd64 && !purego

#include "textflag.h"

// func dotBlockAVX2(q *float32, rows *float32, d int, n int, out *float32)
//
// out[r] = sum_i q[i]*rows[r*d+i] for r in [0,n). Four independent 8-wide
// FMA accumulators (32 floats per iteration) hide the FMA latency; the scan is
// then bound by memory bandwidth, not by arithmetic. Unaligned loads are fine:
// Go's allocator gives 16-byte alignment at best and rows start at r*d*4.
TEXT ·dotBlockAVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), R8
	MOVQ rows+8(FP), DI
	MOVQ d+16(FP), R9
	MOVQ n+24(FP), R10
	MOVQ out+32(FP), R11

row:
	TESTQ R10, R10
	JEQ   done
	MOVQ  R8, SI
	MOVQ  R9, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ CX, $32
	JLT  loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JLT  reduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0

tail:
	TESTQ CX, CX
	JEQ   store
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail

store:
	VMOVSS X0, (R11)
	ADDQ $4, R11
	DECQ R10
	JMP  row

done:
	VZEROUPPER
	RET

// func prefetch(p *float32, bytes int)
//
// Hints the cache lines of [p, p+bytes) into L1/L2 (PREFETCHT0), one line
// per 64 bytes. A filtered scan touches rows out of sequence, which defeats
// the hardware prefetcher; it asks for the next accepted row's lines while
// the current row is being scored.
TEXT ·prefetch(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ bytes+8(FP), CX

pf:
	CMPQ CX, $0
	JLE  pfdone
	PREFETCHT0 (SI)
	ADDQ $64, SI
	SUBQ $64, CX
	JMP  pf

pfdone:
	RET

// func dotCodesAVX2(p *int16, codes *int8, d int, n int, out *int32)
//
// out[r] = sum_i p[i]*codes[r*d+i] for r in [0,n), exact in int32 (the
// caller bounds |p| so the sum cannot overflow); d is a multiple of 16.
// Per 16 columns: sign-extend 16 codes to int16 (VPMOVSXBW), multiply with
// the query and add adjacent pairs to int32 (VPMADDWD), accumulate. Four
// accumulators for 64 columns per iteration.
TEXT ·dotCodesAVX2(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), R8
	MOVQ codes+8(FP), DI
	MOVQ d+16(FP), R9
	MOVQ n+24(FP), R10
	MOVQ out+32(FP), R11

crow:
	TESTQ R10, R10
	JEQ   cdone
	MOVQ  R8, SI
	MOVQ  R9, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

cloop64:
	CMPQ CX, $64
	JLT  cloop16
	VPMOVSXBW (DI), Y4
	VPMOVSXBW 16(DI), Y5
	VPMOVSXBW 32(DI), Y6
	VPMOVSXBW 48(DI), Y7
	VPMADDWD (SI), Y4, Y4
	VPMADDWD 32(SI), Y5, Y5
	VPMADDWD 64(SI), Y6, Y6
	VPMADDWD 96(SI), Y7, Y7
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y7, Y3, Y3
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $64, CX
	JMP  cloop64

cloop16:
	CMPQ CX, $16
	JLT  creduce
	VPMOVSXBW (DI), Y4
	VPMADDWD (SI), Y4, Y4
	VPADDD Y4, Y0, Y0
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JMP  cloop16

creduce:
	VPADDD Y1, Y0, Y0
	VPADDD Y3, Y2, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4E, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xB1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, (R11)
	ADDQ $4, R11
	DECQ R10
	JMP  crow

cdone:
	VZEROUPPER
	RET

// func prefetchCodes(p *int8, bytes int): prefetch for the code rows.
TEXT ·prefetchCodes(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ bytes+8(FP), CX

cpf:
	CMPQ CX, $0
	JLE  cpfdone
	PREFETCHT0 (SI)
	ADDQ $64, SI
	SUBQ $64, CX
	JMP  cpf

cpfdone:
	RET

// func dotCodesAVX512(p *int16, codes *int8, d int, n int, out *int32)
//
// dotCodesAVX2 with AVX-512 VNNI: per 32 columns, sign-extend 32 codes to
// int16 (VPMOVSXBW into a ZMM) and multiply-add pairs into int32 in one
// instruction (VPDPWSSD). Two accumulators for 64 columns per iteration;
// the ZMM sums are folded to a YMM before the 16-column tail (a VEX
// instruction would clear the upper half of a ZMM destination).
TEXT ·dotCodesAVX512(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), R8
	MOVQ codes+8(FP), DI
	MOVQ d+16(FP), R9
	MOVQ n+24(FP), R10
	MOVQ out+32(FP), R11

zrow:
	TESTQ R10, R10
	JEQ   zdone
	MOVQ  R8, SI
	MOVQ  R9, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

zloop64:
	CMPQ CX, $64
	JLT  zfold
	VPMOVSXBW (DI), Z4
	VPMOVSXBW 32(DI), Z5
	VPDPWSSD (SI), Z4, Z0
	VPDPWSSD 64(SI), Z5, Z1
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $64, CX
	JMP  zloop64

zfold:
	VPADDD Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPADDD Y1, Y0, Y0

zloop16:
	CMPQ CX, $16
	JLT  zreduce
	VPMOVSXBW (DI), Y4
	VPMADDWD (SI), Y4, Y4
	VPADDD Y4, Y0, Y0
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JMP  zloop16

zreduce:
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4E, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xB1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, (R11)
	ADDQ $4, R11
	DECQ R10
	JMP  zrow

zdone:
	VZEROUPPER
	RET
