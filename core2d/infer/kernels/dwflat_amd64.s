//go:build goexperiment.simd && amd64

#include "textflag.h"

// func dwFlat16(dst, buf, offs, w unsafe.Pointer, ntap, nvec int, bias float32)
//
// dst[j] = Σ_t w[t]·buf[offs[t]+j] + bias for j < 16·nvec (offs in floats,
// ntap ≥ 1): blocks of eight vectors (eight independent FMA chains hide
// the FMA latency; each tap's weight is broadcast once per block), then
// of four, then single vectors. Every product is added with one rounding
// from a zero start, in tap order, then the bias: the FMA chain of
// DwPlane.
TEXT ·dwFlat16(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ buf+8(FP), SI
	MOVQ offs+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ ntap+32(FP), CX
	MOVQ nvec+40(FP), DX
	VBROADCASTSS bias+48(FP), Z9

blk8:
	CMPQ DX, $8
	JLT blk4
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ R10, R10

tap8:
	MOVQ (R8)(R10*8), R11
	LEAQ (SI)(R11*4), R12
	VBROADCASTSS (R9)(R10*4), Z8
	VFMADD231PS (R12), Z8, Z0
	VFMADD231PS 64(R12), Z8, Z1
	VFMADD231PS 128(R12), Z8, Z2
	VFMADD231PS 192(R12), Z8, Z3
	VFMADD231PS 256(R12), Z8, Z4
	VFMADD231PS 320(R12), Z8, Z5
	VFMADD231PS 384(R12), Z8, Z6
	VFMADD231PS 448(R12), Z8, Z7
	INCQ R10
	CMPQ R10, CX
	JLT tap8
	VADDPS Z9, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z9, Z2, Z2
	VADDPS Z9, Z3, Z3
	VADDPS Z9, Z4, Z4
	VADDPS Z9, Z5, Z5
	VADDPS Z9, Z6, Z6
	VADDPS Z9, Z7, Z7
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	ADDQ $512, SI
	ADDQ $512, DI
	SUBQ $8, DX
	JMP blk8

blk4:
	CMPQ DX, $4
	JLT blk1
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ R10, R10

tap4:
	MOVQ (R8)(R10*8), R11
	LEAQ (SI)(R11*4), R12
	VBROADCASTSS (R9)(R10*4), Z8
	VFMADD231PS (R12), Z8, Z0
	VFMADD231PS 64(R12), Z8, Z1
	VFMADD231PS 128(R12), Z8, Z2
	VFMADD231PS 192(R12), Z8, Z3
	INCQ R10
	CMPQ R10, CX
	JLT tap4
	VADDPS Z9, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z9, Z2, Z2
	VADDPS Z9, Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $4, DX

blk1:
	TESTQ DX, DX
	JEQ done
	VPXORD Z0, Z0, Z0
	XORQ R10, R10

tap1:
	MOVQ (R8)(R10*8), R11
	VBROADCASTSS (R9)(R10*4), Z8
	VFMADD231PS (SI)(R11*4), Z8, Z0
	INCQ R10
	CMPQ R10, CX
	JLT tap1
	VADDPS Z9, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ DX
	JMP blk1

done:
	VZEROUPPER
	RET
