//go:build goexperiment.simd && amd64

// The vector kernel set (GOEXPERIMENT=simd on amd64): simd/archsimd
// AVX-512 and AVX2+FMA code paths chosen at run time, falling back to the
// scalar kernels on CPUs without AVX2+FMA.

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// SIMD reports whether the vector kernels were compiled in; they
// run only when the CPU has AVX2 and FMA (useSIMD), else the scalar ones.
const SIMD = true

var (
	useSIMD   = archsimd.X86.AVX2() && archsimd.X86.FMA()
	useAVX512 = useSIMD && archsimd.X86.AVX512()
)

// The logistic constants, broadcast once (only on CPUs that have the
// instructions) and read through a pointer: a kernel building them as a
// local struct copies it with SSE moves, which the dirty-upper penalty
// below makes costly.
var (
	lgc8  lgConst
	lgc16 lgConst16
)

func init() {
	if useSIMD {
		lgc8 = newLgConst()
	}
	if useAVX512 {
		lgc16 = newLgConst16()
	}
	if useSIMD {
		archsimd.ClearAVXUpperBits()
	}
}

// Every vector kernel ends with archsimd.ClearAVXUpperBits (VZEROUPPER,
// as the assembly kernels do) before it returns or runs a scalar tail:
// the Go compiler encodes scalar float32 code and small copies as legacy
// SSE instructions, and an SSE instruction while the upper halves of the
// vector registers are dirty costs hundreds of nanoseconds on some CPUs
// (measured: a 64-float Clamp took 470 ns instead of 8 ns), which made
// every small kernel of a model pay a fixed toll.

// The tile is 4×32: with AVX-512 eight 16-lane accumulators, with AVX2
// two 4×16 halves. Four rows keep every accumulator, both B vectors and the
// broadcast A value in the 16 vector registers Go allocates.
const (
	MR = 4
	NR = 32
)

func f16(p unsafe.Pointer) *[16]float32 { return (*[16]float32)(p) }
func f8(p unsafe.Pointer) *[8]float32   { return (*[8]float32)(p) }

// microKernel computes the MR×NR tile c[r·ldc+j] = (load ? c : 0) +
// Σ_k a[k·MR+r]·b[k·ldb+j] (+ bias[r] unless load) with fused
// multiply-adds; the bias is added after the sum. With AVX-512 the
// activation act is applied in registers (kernelFusesAct); otherwise the
// caller applies it.
func microKernel(kc int, a, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool, act Activation) {
	switch {
	case useAVX512:
		microKernel512(kc, a, b, ldb, c, ldc, bias, load, act)
		archsimd.ClearAVXUpperBits()
	case useSIMD:
		microKernel256(kc, a, b, ldb, c, ldc, bias, load)
		microKernel256(kc, a, b[16:], ldb, c[16:], ldc, bias, load)
		archsimd.ClearAVXUpperBits()
	default:
		microKernelScalar(kc, a, b, ldb, c, ldc, bias, load)
	}
}

// kernelFusesAct reports whether microKernel applies its activation.
var kernelFusesAct = useAVX512

// pair8 reports whether microKernel8 (two A panels at once) is available.
var pair8 = useAVX512

// Restrict limits the kernels to the AVX2+FMA paths (avx2), the AVX-512
// ones (avx512) and the 8-row assembly GEMM tile (pair), so that tests can
// run the fallbacks a faster CPU never takes. It reports false, changing
// nothing, when the CPU lacks a path asked for; restore brings back the
// CPU's own choice. Not safe while a session runs.
func Restrict(avx2, avx512, pair bool) (restore func(), ok bool) {
	saveSIMD, save512, saveFuse, savePair := useSIMD, useAVX512, kernelFusesAct, pair8
	restore = func() { useSIMD, useAVX512, kernelFusesAct, pair8 = saveSIMD, save512, saveFuse, savePair }
	if avx2 && !saveSIMD || avx512 && !save512 || pair && !savePair {
		return restore, false
	}
	useSIMD, useAVX512, kernelFusesAct, pair8 = avx2, avx512, avx512, pair
	return restore, true
}

//go:noescape
func gemmTile8x32(kc int, a0, a1, b unsafe.Pointer, ldb int, c unsafe.Pointer, ldc int, load bool, bias unsafe.Pointer, act int, tab unsafe.Pointer)

//go:noescape
func convTile16x16(ntap int, w, x, offs, c unsafe.Pointer, ldc int, bias unsafe.Pointer, act int, tab unsafe.Pointer)

//go:noescape
func dwPlane9(out, in, offs, w, tab unsafe.Pointer, rows, nfull, inRow, outRow, tailOff, tailMask, act int)

//go:noescape
func transpose16x16(src unsafe.Pointer, lds int, dst unsafe.Pointer, ldd int)

// TransposeTile16 writes dst[j·ldd+i] = src[i·lds+j] for i, j < 16 with
// register shuffles (transpose_amd64.s) and reports whether it did (only
// with AVX-512).
func TransposeTile16(dst []float32, ldd int, src []float32, lds int) bool {
	if !useAVX512 {
		return false
	}
	_ = src[15*lds+15]
	_ = dst[15*ldd+15]
	transpose16x16(unsafe.Pointer(unsafe.SliceData(src)), lds, unsafe.Pointer(unsafe.SliceData(dst)), ldd)
	return true
}

//go:noescape
func dwPlane9s2(out, in, w, tab, idx unsafe.Pointer, rows, nfull, inRow, outRow, tailOff, tailMask, act, rowLen int)

// DwS2Kernel reports whether DwPlaneS2 has its vector form (AVX-512).
func DwS2Kernel() bool { return useAVX512 }

// s2Idx is the even then the odd lane indices for dwPlane9s2's VPERMT2PS.
var s2Idx = [32]uint32{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
	1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}

// DwPlaneS2 computes a 3×3 stride-2 depthwise plane, dst[oy·OW+ox] =
// act(Σ w[ky·3+kx]·buf[(2oy+ky)·rowLen + 2ox+kx] + bias), from plain
// zero-padded rows; buf must extend 48 floats past its last row.
func DwPlaneS2(dst []float32, OH, OW int, buf []float32, rowLen int, w []float32, bias float32, act Activation) {
	if !useAVX512 {
		dwPlaneS2Scalar(dst, OH, OW, buf, rowLen, w, bias, act)
		return
	}
	_ = dst[OH*OW-1]
	_ = buf[(OH-1)*2*rowLen+2*rowLen+2*max(OW-16, 0)+33]
	var wb [10]float32
	copy(wb[:9], w[:9])
	wb[9] = bias
	tailOff, tailMask := 0, 0
	if OW%16 != 0 {
		tailMask = 0xffff
		if OW < 16 {
			tailMask = 1<<OW - 1
		} else {
			tailOff = (OW - 16) * 4
		}
	}
	dwPlane9s2(unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.SliceData(buf)), unsafe.Pointer(&wb), unsafe.Pointer(&lgTable),
		unsafe.Pointer(&s2Idx), OH, OW/16, 2*rowLen*4, OW*4, tailOff, tailMask, asmAct(act), rowLen*4)
}

//go:noescape
func dwSame9(out, in, zero, desc, w, tab unsafe.Pointer, ndesc, rows, rowBytes, act int)

// DwSameKernel reports whether DwSamePlane has its vector form (AVX-512).
func DwSameKernel() bool { return useAVX512 }

// DwSamePlane computes a 3×3 stride-1 depthwise plane with one pixel of
// zero padding on each side directly from the H×W input plane x (no
// padded copy): dst = act(Σ w·x + bias). zero is a row of W zeros, desc
// the row's vectors (DwSameDesc).
func DwSamePlane(dst, x []float32, H, W int, zero []float32, desc []DwVec, w []float32, bias float32, act Activation) {
	if !useAVX512 {
		dwSameScalar(dst, x, H, W, w, bias, act)
		return
	}
	_ = dst[H*W-1]
	_ = x[H*W-1]
	_ = zero[W-1]
	var wb [10]float32
	copy(wb[:9], w[:9])
	wb[9] = bias
	dwSame9(unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.SliceData(x)), unsafe.Pointer(unsafe.SliceData(zero)),
		unsafe.Pointer(unsafe.SliceData(desc)), unsafe.Pointer(&wb), unsafe.Pointer(&lgTable), len(desc), H, W*4, asmAct(act))
}

// lgTable holds the constants of logistic16 for the assembly kernels
// (gemm8_amd64.s LOGISTIC): clamp bounds, α9…α1, β10…β0, ½, 0, 1.
var lgTable = [16]float32{-18, 18, lgAlpha9, lgAlpha7, lgAlpha5, lgAlpha3, lgAlpha1,
	lgBeta10, lgBeta8, lgBeta6, lgBeta4, lgBeta2, lgBeta0, 0.5, 0, 1}

// asmAct is the assembly kernels' code for an activation they apply in
// registers (1 SiLU, 2 Sigmoid); 0 leaves it to the caller.
func asmAct(a Activation) int {
	switch a.kind {
	case actKSiLU:
		return 1
	case actKSigmoid:
		return 2
	}
	return 0
}

// microKernel8 is microKernel for the 8×32 tile of two consecutive 4-row
// A panels a0 and a1 (rows 0–3 and 4–7; bias has 8 values): the k loop,
// the bias and a logistic activation run in assembly (gemm8_amd64.s) with
// 16 accumulators, twice the arithmetic per loaded B vector of the 4×32
// kernel; a piecewise-linear activation is applied afterwards while the
// tile is in L1.
func microKernel8(kc int, a0, a1, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool, act Activation) {
	var pl pw16
	if act.Piecewise() {
		pl.set(&act)
	}
	_ = a0[kc*MR-1]
	_ = a1[kc*MR-1]
	_ = b[(kc-1)*ldb+NR-1]
	_ = c[7*ldc+NR-1]
	_ = bias[7]
	gemmTile8x32(kc, unsafe.Pointer(unsafe.SliceData(a0)), unsafe.Pointer(unsafe.SliceData(a1)), unsafe.Pointer(unsafe.SliceData(b)), ldb,
		unsafe.Pointer(unsafe.SliceData(c)), ldc, load, unsafe.Pointer(unsafe.SliceData(bias)), asmAct(act), unsafe.Pointer(&lgTable))
	if !act.Piecewise() {
		return
	}
	for r := 0; r < 8; r++ {
		pl.applyRow(c[r*ldc : r*ldc+NR])
	}
	archsimd.ClearAVXUpperBits()
}

// ConvTile16 runs convTile16x16: 16 output channels (weights w[t·16+m],
// bias[m], outputs c[m·ldc+j]) × 16 pixels over the taps x[offs[t]/4 + j]
// (offs in bytes, the largest one (span−16)·4).
func ConvTile16(w []float32, x []float32, offs []int, span int, c []float32, ldc int, bias []float32, act Activation) {
	if !useAVX512 {
		convTile16Scalar(w, x, offs, span, c, ldc, bias, act)
		return
	}
	var pl pw16
	if act.Piecewise() {
		pl.set(&act)
	}
	nt := len(offs)
	_ = w[nt*16-1]
	_ = x[span-1]
	_ = c[15*ldc+15]
	_ = bias[15]
	convTile16x16(nt, unsafe.Pointer(unsafe.SliceData(w)), unsafe.Pointer(unsafe.SliceData(x)), unsafe.Pointer(unsafe.SliceData(offs)),
		unsafe.Pointer(unsafe.SliceData(c)), ldc, unsafe.Pointer(unsafe.SliceData(bias)), asmAct(act), unsafe.Pointer(&lgTable))
	if act.Piecewise() {
		for m := 0; m < 16; m++ {
			pl.applyRow(c[m*ldc : m*ldc+16])
		}
		archsimd.ClearAVXUpperBits()
	}
}

// microKernel512 is the AVX-512 4×32 kernel.
func microKernel512(kc int, a, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool, act Activation) {
	var pl pw16
	if act.Piecewise() {
		pl.set(&act)
	}
	_ = a[kc*MR-1]
	_ = b[(kc-1)*ldb+31]
	_ = c[(MR-1)*ldc+31]
	_ = bias[MR-1]
	step := uintptr(ldb) * 4
	pa := unsafe.Pointer(unsafe.SliceData(a))
	pb := unsafe.Pointer(unsafe.SliceData(b))
	pc := unsafe.Pointer(unsafe.SliceData(c))
	row := uintptr(ldc) * 4
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
	if load {
		p := pc
		c00, c01 = archsimd.LoadFloat32x16(f16(p)), archsimd.LoadFloat32x16(f16(unsafe.Add(p, 64)))
		p = unsafe.Add(p, row)
		c10, c11 = archsimd.LoadFloat32x16(f16(p)), archsimd.LoadFloat32x16(f16(unsafe.Add(p, 64)))
		p = unsafe.Add(p, row)
		c20, c21 = archsimd.LoadFloat32x16(f16(p)), archsimd.LoadFloat32x16(f16(unsafe.Add(p, 64)))
		p = unsafe.Add(p, row)
		c30, c31 = archsimd.LoadFloat32x16(f16(p)), archsimd.LoadFloat32x16(f16(unsafe.Add(p, 64)))
	}
	for k := 0; k < kc; k++ {
		// pointers from k (not advanced past the end: checkptr)
		pbk := unsafe.Add(pb, uintptr(k)*step)
		b0 := archsimd.LoadFloat32x16(f16(pbk))
		b1 := archsimd.LoadFloat32x16(f16(unsafe.Add(pbk, 64)))
		ap := (*[MR]float32)(unsafe.Add(pa, k*MR*4))
		a0 := archsimd.BroadcastFloat32x16(ap[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x16(ap[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x16(ap[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x16(ap[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	if !load {
		v0 := archsimd.BroadcastFloat32x16(bias[0])
		c00, c01 = c00.Add(v0), c01.Add(v0)
		v1 := archsimd.BroadcastFloat32x16(bias[1])
		c10, c11 = c10.Add(v1), c11.Add(v1)
		v2 := archsimd.BroadcastFloat32x16(bias[2])
		c20, c21 = c20.Add(v2), c21.Add(v2)
		v3 := archsimd.BroadcastFloat32x16(bias[3])
		c30, c31 = c30.Add(v3), c31.Add(v3)
	}
	switch act.kind {
	case actKSiLU:
		lc := &lgc16
		c00, c01 = c00.Mul(lc.logistic16(c00)), c01.Mul(lc.logistic16(c01))
		c10, c11 = c10.Mul(lc.logistic16(c10)), c11.Mul(lc.logistic16(c11))
		c20, c21 = c20.Mul(lc.logistic16(c20)), c21.Mul(lc.logistic16(c21))
		c30, c31 = c30.Mul(lc.logistic16(c30)), c31.Mul(lc.logistic16(c31))
	case actKSigmoid:
		lc := &lgc16
		c00, c01 = lc.logistic16(c00), lc.logistic16(c01)
		c10, c11 = lc.logistic16(c10), lc.logistic16(c11)
		c20, c21 = lc.logistic16(c20), lc.logistic16(c21)
		c30, c31 = lc.logistic16(c30), lc.logistic16(c31)
	}
	p := pc
	c00.Store(f16(p))
	c01.Store(f16(unsafe.Add(p, 64)))
	p = unsafe.Add(p, row)
	c10.Store(f16(p))
	c11.Store(f16(unsafe.Add(p, 64)))
	p = unsafe.Add(p, row)
	c20.Store(f16(p))
	c21.Store(f16(unsafe.Add(p, 64)))
	p = unsafe.Add(p, row)
	c30.Store(f16(p))
	c31.Store(f16(unsafe.Add(p, 64)))
	if act.Piecewise() {
		for r := 0; r < MR; r++ {
			pl.applyRow(c[r*ldc : r*ldc+NR])
		}
	}
}

// microKernel256 is the AVX2 4×16 kernel.
func microKernel256(kc int, a, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool) {
	_ = a[kc*MR-1]
	_ = b[(kc-1)*ldb+15]
	_ = c[(MR-1)*ldc+15]
	_ = bias[MR-1]
	step := uintptr(ldb) * 4
	pa := unsafe.Pointer(unsafe.SliceData(a))
	pb := unsafe.Pointer(unsafe.SliceData(b))
	pc := unsafe.Pointer(unsafe.SliceData(c))
	row := uintptr(ldc) * 4
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	if load {
		p := pc
		c00, c01 = archsimd.LoadFloat32x8(f8(p)), archsimd.LoadFloat32x8(f8(unsafe.Add(p, 32)))
		p = unsafe.Add(p, row)
		c10, c11 = archsimd.LoadFloat32x8(f8(p)), archsimd.LoadFloat32x8(f8(unsafe.Add(p, 32)))
		p = unsafe.Add(p, row)
		c20, c21 = archsimd.LoadFloat32x8(f8(p)), archsimd.LoadFloat32x8(f8(unsafe.Add(p, 32)))
		p = unsafe.Add(p, row)
		c30, c31 = archsimd.LoadFloat32x8(f8(p)), archsimd.LoadFloat32x8(f8(unsafe.Add(p, 32)))
	}
	for k := 0; k < kc; k++ {
		// pointers from k (not advanced past the end: checkptr)
		pbk := unsafe.Add(pb, uintptr(k)*step)
		b0 := archsimd.LoadFloat32x8(f8(pbk))
		b1 := archsimd.LoadFloat32x8(f8(unsafe.Add(pbk, 32)))
		ap := (*[MR]float32)(unsafe.Add(pa, k*MR*4))
		a0 := archsimd.BroadcastFloat32x8(ap[0])
		c00 = a0.MulAdd(b0, c00)
		c01 = a0.MulAdd(b1, c01)
		a1 := archsimd.BroadcastFloat32x8(ap[1])
		c10 = a1.MulAdd(b0, c10)
		c11 = a1.MulAdd(b1, c11)
		a2 := archsimd.BroadcastFloat32x8(ap[2])
		c20 = a2.MulAdd(b0, c20)
		c21 = a2.MulAdd(b1, c21)
		a3 := archsimd.BroadcastFloat32x8(ap[3])
		c30 = a3.MulAdd(b0, c30)
		c31 = a3.MulAdd(b1, c31)
	}
	if !load {
		v0 := archsimd.BroadcastFloat32x8(bias[0])
		c00, c01 = c00.Add(v0), c01.Add(v0)
		v1 := archsimd.BroadcastFloat32x8(bias[1])
		c10, c11 = c10.Add(v1), c11.Add(v1)
		v2 := archsimd.BroadcastFloat32x8(bias[2])
		c20, c21 = c20.Add(v2), c21.Add(v2)
		v3 := archsimd.BroadcastFloat32x8(bias[3])
		c30, c31 = c30.Add(v3), c31.Add(v3)
	}
	p := pc
	c00.Store(f8(p))
	c01.Store(f8(unsafe.Add(p, 32)))
	p = unsafe.Add(p, row)
	c10.Store(f8(p))
	c11.Store(f8(unsafe.Add(p, 32)))
	p = unsafe.Add(p, row)
	c20.Store(f8(p))
	c21.Store(f8(unsafe.Add(p, 32)))
	p = unsafe.Add(p, row)
	c30.Store(f8(p))
	c31.Store(f8(unsafe.Add(p, 32)))
}

// lgConst holds logistic's coefficients broadcast once per slice.
type lgConst struct {
	lo, hi, a9, a7, a5, a3, a1, b10, b8, b6, b4, b2, b0, half, zero, one archsimd.Float32x8
}

func newLgConst() lgConst {
	bc := archsimd.BroadcastFloat32x8
	return lgConst{bc(-18), bc(18), bc(lgAlpha9), bc(lgAlpha7), bc(lgAlpha5), bc(lgAlpha3), bc(lgAlpha1),
		bc(lgBeta10), bc(lgBeta8), bc(lgBeta6), bc(lgBeta4), bc(lgBeta2), bc(lgBeta0), bc(0.5), bc(0), bc(1)}
}

// logistic8 is the vector form of logistic (mathf.go).
func (c *lgConst) logistic8(x archsimd.Float32x8) archsimd.Float32x8 {
	x = x.Max(c.lo).Min(c.hi)
	x2 := x.Mul(x)
	p := x2.MulAdd(c.a9, c.a7)
	p = p.MulAdd(x2, c.a5)
	p = p.MulAdd(x2, c.a3)
	p = p.MulAdd(x2, c.a1)
	p = p.Mul(x)
	q := x2.MulAdd(c.b10, c.b8)
	q = q.MulAdd(x2, c.b6)
	q = q.MulAdd(x2, c.b4)
	q = q.MulAdd(x2, c.b2)
	q = q.MulAdd(x2, c.b0)
	return p.Div(q).Add(c.half).Max(c.zero).Min(c.one)
}

// lgConst16 is lgConst for 16 lanes.
type lgConst16 struct {
	lo, hi, a9, a7, a5, a3, a1, b10, b8, b6, b4, b2, b0, half, zero, one, two archsimd.Float32x16
}

func newLgConst16() lgConst16 {
	bc := archsimd.BroadcastFloat32x16
	return lgConst16{bc(-18), bc(18), bc(lgAlpha9), bc(lgAlpha7), bc(lgAlpha5), bc(lgAlpha3), bc(lgAlpha1),
		bc(lgBeta10), bc(lgBeta8), bc(lgBeta6), bc(lgBeta4), bc(lgBeta2), bc(lgBeta0), bc(0.5), bc(0), bc(1), bc(2)}
}

func (c *lgConst16) logistic16(x archsimd.Float32x16) archsimd.Float32x16 {
	x = x.Max(c.lo).Min(c.hi)
	x2 := x.Mul(x)
	p := x2.MulAdd(c.a9, c.a7)
	p = p.MulAdd(x2, c.a5)
	p = p.MulAdd(x2, c.a3)
	p = p.MulAdd(x2, c.a1)
	p = p.Mul(x)
	q := x2.MulAdd(c.b10, c.b8)
	q = q.MulAdd(x2, c.b6)
	q = q.MulAdd(x2, c.b4)
	q = q.MulAdd(x2, c.b2)
	q = q.MulAdd(x2, c.b0)
	// p/q as p·(1/q): a 14-bit reciprocal refined by one Newton step
	// (r' = r + r·(1 − q·r)), about 1 ulp, cheaper than a 16-lane divide;
	// the same operations as LOGISTIC in gemm8_amd64.s.
	r := q.Reciprocal()
	r = r.MulAdd(c.zero.Sub(q).MulAdd(r, c.one), r)
	return p.MulAdd(r, c.half).Max(c.zero).Min(c.one)
}

func Sigmoid(dst, x []float32) {
	if !useSIMD {
		sigmoidGeneric(dst, x)
		return
	}
	n := len(dst)
	x = x[:n]
	i := 0
	if useAVX512 {
		c := &lgc16
		for ; i+16 <= n; i += 16 {
			c.logistic16(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i])))).Store(f16(unsafe.Pointer(&dst[i])))
		}
	} else {
		c := &lgc8
		for ; i+8 <= n; i += 8 {
			c.logistic8(archsimd.LoadFloat32x8(f8(unsafe.Pointer(&x[i])))).Store(f8(unsafe.Pointer(&dst[i])))
		}
	}
	archsimd.ClearAVXUpperBits()
	if i < n {
		sigmoidGeneric(dst[i:], x[i:])
	}
}

func SiLU(dst, x []float32) {
	if !useSIMD {
		siluGeneric(dst, x)
		return
	}
	n := len(dst)
	x = x[:n]
	i := 0
	if useAVX512 {
		c := &lgc16
		for ; i+16 <= n; i += 16 {
			v := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i])))
			v.Mul(c.logistic16(v)).Store(f16(unsafe.Pointer(&dst[i])))
		}
	} else {
		c := &lgc8
		for ; i+8 <= n; i += 8 {
			v := archsimd.LoadFloat32x8(f8(unsafe.Pointer(&x[i])))
			v.Mul(c.logistic8(v)).Store(f8(unsafe.Pointer(&dst[i])))
		}
	}
	archsimd.ClearAVXUpperBits()
	if i < n {
		siluGeneric(dst[i:], x[i:])
	}
}

// Exp computes dst[i] = e^x[i] (expf; exp16 on whole vectors).
func Exp(dst, x []float32) {
	n := len(dst)
	x = x[:n]
	i := 0
	if useAVX512 {
		c := &erfc16
		for ; i+16 <= n; i += 16 {
			c.exp16(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i])))).Store(f16(unsafe.Pointer(&dst[i])))
		}
		archsimd.ClearAVXUpperBits()
	}
	if i < n {
		expGeneric(dst[i:], x[i:])
	}
}

// DwPlane computes dst[oy·OW+ox] = act(Σ_t w[t]·buf[oy·rowStep + off[t] +
// ox] + bias) for a whole depthwise plane: weights are broadcast once, each
// output vector keeps its sum in a register, and the activation is applied
// before the store. buf must extend 16 floats past the last tap read.
func DwPlane(dst []float32, OH, OW int, buf []float32, rowStep int, off []int, w []float32, bias float32, act Activation) {
	nt := len(off)
	if !useAVX512 {
		if !useSIMD {
			dwPlaneScalar(dst, OH, OW, buf, rowStep, off, w, bias, act)
			return
		}
		for oy := 0; oy < OH; oy++ {
			row := dst[oy*OW : (oy+1)*OW]
			var taps [MaxTaps][]float32
			for t, o := range off {
				taps[t] = buf[oy*rowStep+o : oy*rowStep+o+OW]
			}
			dwRow256(row, taps[:nt], w, bias)
			archsimd.ClearAVXUpperBits()
			ApplyAct(act, row)
		}
		return
	}
	_ = dst[OH*OW-1]
	last := (OH-1)*rowStep + OW
	for _, o := range off {
		_ = buf[last+o-1]
	}
	if nt == 9 && off[0] == 0 && !act.Piecewise() {
		// the 3×3 kernel in assembly: a row's last partial vector is
		// recomputed over its last 16 columns (or stored under a mask
		// when OW < 16) instead of going through a stack copy
		var ob [9]int
		var wb [10]float32
		for t := range ob {
			_ = buf[(OH-1)*rowStep+off[t]+max(OW, 16)-1]
			ob[t] = off[t] * 4
			wb[t] = w[t]
		}
		wb[9] = bias
		tailOff, tailMask := 0, 0
		if OW%16 != 0 {
			tailMask = 0xffff
			if OW < 16 {
				tailMask = 1<<OW - 1
			} else {
				tailOff = (OW - 16) * 4
			}
		}
		dwPlane9(unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.SliceData(buf)), unsafe.Pointer(&ob), unsafe.Pointer(&wb),
			unsafe.Pointer(&lgTable), OH, OW/16, rowStep*4, OW*4, tailOff, tailMask, asmAct(act))
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(buf))
	out := unsafe.Pointer(unsafe.SliceData(dst))
	var wv [MaxTaps]archsimd.Float32x16
	var po [MaxTaps]uintptr
	for t := 0; t < nt; t++ {
		wv[t] = archsimd.BroadcastFloat32x16(w[t])
		po[t] = uintptr(off[t]) * 4
	}
	var pl pw16
	if act.Piecewise() {
		pl.set(&act)
	}
	bv := archsimd.BroadcastFloat32x16(bias)
	lc := &lgc16
	full := OW &^ 15
	for oy := 0; oy < OH; oy++ {
		rb := unsafe.Add(base, uintptr(oy*rowStep)*4)
		ob := unsafe.Add(out, uintptr(oy*OW)*4)
		for i := 0; i < OW; i += 16 {
			p := unsafe.Add(rb, uintptr(i)*4)
			var acc archsimd.Float32x16
			if nt == 9 {
				acc = wv[0].Mul(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[0]))))
				acc = wv[1].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[1]))), acc)
				acc = wv[2].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[2]))), acc)
				acc = wv[3].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[3]))), acc)
				acc = wv[4].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[4]))), acc)
				acc = wv[5].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[5]))), acc)
				acc = wv[6].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[6]))), acc)
				acc = wv[7].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[7]))), acc)
				acc = wv[8].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[8]))), acc)
			} else {
				for t := 0; t < nt; t++ {
					acc = wv[t].MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Add(p, po[t]))), acc)
				}
			}
			acc = acc.Add(bv)
			switch act.kind {
			case actKSiLU:
				acc = acc.Mul(lc.logistic16(acc))
			case actKSigmoid:
				acc = lc.logistic16(acc)
			}
			if i < full {
				acc.Store(f16(unsafe.Add(ob, uintptr(i)*4)))
			} else {
				storePart16(acc, dst[oy*OW+i:(oy+1)*OW])
			}
		}
		if act.Piecewise() {
			pl.applyRow(dst[oy*OW : (oy+1)*OW])
		}
	}
	archsimd.ClearAVXUpperBits()
}

// dwRow256 computes dst[i] = Σ_t w[t]·taps[t][i] + bias with AVX2.
func dwRow256(dst []float32, taps [][]float32, w []float32, bias float32) {
	n := len(dst)
	nt := len(taps)
	var wv [MaxTaps]archsimd.Float32x8
	for t := 0; t < nt; t++ {
		_ = taps[t][n-1]
		wv[t] = archsimd.BroadcastFloat32x8(w[t])
	}
	bv := archsimd.BroadcastFloat32x8(bias)
	i := 0
	for ; i+8 <= n; i += 8 {
		var acc archsimd.Float32x8
		for t := 0; t < nt; t++ {
			acc = wv[t].MulAdd(archsimd.LoadFloat32x8Slice(taps[t][i:i+8]), acc)
		}
		acc.Add(bv).StoreSlice(dst[i : i+8])
	}
	if i < n {
		var acc archsimd.Float32x8
		for t := 0; t < nt; t++ {
			acc = wv[t].MulAdd(loadPart8(taps[t][i:n]), acc)
		}
		storePart8(acc.Add(bv), dst[i:])
	}
}

// MaxInto computes dst[i] = max(dst[i], x[i]).
func MaxInto(dst, x []float32) {
	n := len(dst)
	x = x[:n]
	i := 0
	if useAVX512 {
		for ; i+16 <= n; i += 16 {
			d := f16(unsafe.Pointer(&dst[i]))
			archsimd.LoadFloat32x16(d).Max(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i])))).Store(d)
		}
	}
	archsimd.ClearAVXUpperBits()
	// the tail stays scalar: the short rows of small pooling planes (SPP
	// on 13×13) make the masked-tail copies through the stack dominate
	for ; i < n; i++ {
		if x[i] > dst[i] {
			dst[i] = x[i]
		}
	}
}

// MaxOf computes dst[i] = max(a[i], b[i]) in increasing i, both loads
// of a vector before its store, so dst may be a and b a later part of the
// same buffer (slidingMax's in-place doubling).
func MaxOf(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	if useAVX512 {
		for ; i+16 <= n; i += 16 {
			x := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&a[i])))
			y := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&b[i])))
			x.Max(y).Store(f16(unsafe.Pointer(&dst[i])))
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; i < n; i++ {
		v := a[i]
		if b[i] > v {
			v = b[i]
		}
		dst[i] = v
	}
}

// loadPart8/16 and storePart8/16 move a short tail (< lanes elements)
// through a stack array: archsimd's masked SlicePart forms convert a short
// slice to a full-width array pointer, which checkptr (-race) rejects at the
// end of an allocation.
func loadPart8(s []float32) archsimd.Float32x8 {
	var t [8]float32
	copy(t[:], s)
	return archsimd.LoadFloat32x8(&t)
}

func storePart8(v archsimd.Float32x8, s []float32) {
	var t [8]float32
	v.Store(&t)
	copy(s, t[:])
}

func loadPart16(s []float32) archsimd.Float32x16 {
	var t [16]float32
	copy(t[:], s)
	return archsimd.LoadFloat32x16(&t)
}

func storePart16(v archsimd.Float32x16, s []float32) {
	var t [16]float32
	v.Store(&t)
	copy(s, t[:])
}

// pw16 applies a post-pass activation (Activation.Piecewise: Clamp,
// LeakyRelu, HardSigmoid, HardSwish) to 16 lanes. Leaky is max(x, α·x)
// for α ≤ 1 and min(x, α·x) for α > 1: the same product as the scalar
// form, selected without a mask. As in MLAS, a NaN input gives a bound
// instead of NaN. The hard kinds compute α·x+β with one rounding (FMA).
type pw16 struct {
	kind                actKind
	useMin              bool
	lo, hi, alpha, beta archsimd.Float32x16
}

func (p *pw16) apply(x archsimd.Float32x16) archsimd.Float32x16 {
	switch p.kind {
	case actKClamp:
		return x.Max(p.lo).Min(p.hi)
	case actKLeaky:
		if p.useMin {
			return x.Min(x.Mul(p.alpha))
		}
		return x.Max(x.Mul(p.alpha))
	case actKHardSigmoid:
		return x.MulAdd(p.alpha, p.beta).Max(p.lo).Min(p.hi)
	}
	return x.Mul(x.MulAdd(p.alpha, p.beta).Max(p.lo).Min(p.hi))
}

type pw8 struct {
	kind                actKind
	useMin              bool
	lo, hi, alpha, beta archsimd.Float32x8
}

func (p *pw8) apply(x archsimd.Float32x8) archsimd.Float32x8 {
	switch p.kind {
	case actKClamp:
		return x.Max(p.lo).Min(p.hi)
	case actKLeaky:
		if p.useMin {
			return x.Min(x.Mul(p.alpha))
		}
		return x.Max(x.Mul(p.alpha))
	case actKHardSigmoid:
		return x.MulAdd(p.alpha, p.beta).Max(p.lo).Min(p.hi)
	}
	return x.Mul(x.MulAdd(p.alpha, p.beta).Max(p.lo).Min(p.hi))
}

// set broadcasts a post-pass activation's parameters into p and clears
// the upper halves: kernels call it before their first vector
// instruction, as the compiler moves structs with SSE instructions, which
// must not meet dirty upper halves. Not inlined, so that every SSE move
// of the struct stays on the clean side.
//
//go:noinline
func (p *pw16) set(a *Activation) {
	p.kind, p.useMin = a.kind, a.useMin
	p.lo, p.hi = archsimd.BroadcastFloat32x16(a.lo), archsimd.BroadcastFloat32x16(a.hi)
	p.alpha, p.beta = archsimd.BroadcastFloat32x16(a.alpha), archsimd.BroadcastFloat32x16(a.beta)
	archsimd.ClearAVXUpperBits()
}

// applyRow applies the activation in place to a row of whole 16-lane
// vectors (a register tile's row; a partial last vector goes through the
// stack). The caller clears the upper halves when it is done.
func (p *pw16) applyRow(row []float32) {
	n := len(row)
	i := 0
	for ; i+16 <= n; i += 16 {
		q := f16(unsafe.Pointer(&row[i]))
		p.apply(archsimd.LoadFloat32x16(q)).Store(q)
	}
	if i < n {
		storePart16(p.apply(loadPart16(row[i:])), row[i:])
	}
}

// piecewiseSlice applies a post-pass activation to x into dst: whole
// vectors, then (upper halves cleared) the scalar form for the tail.
func piecewiseSlice(dst, x []float32, a Activation) {
	n := len(dst)
	x = x[:n]
	i := 0
	switch {
	case useAVX512:
		p := pw16{kind: a.kind, useMin: a.useMin}
		p.lo, p.hi = archsimd.BroadcastFloat32x16(a.lo), archsimd.BroadcastFloat32x16(a.hi)
		p.alpha, p.beta = archsimd.BroadcastFloat32x16(a.alpha), archsimd.BroadcastFloat32x16(a.beta)
		for ; i+16 <= n; i += 16 {
			p.apply(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i])))).Store(f16(unsafe.Pointer(&dst[i])))
		}
		archsimd.ClearAVXUpperBits()
	case useSIMD:
		p := pw8{kind: a.kind, useMin: a.useMin}
		p.lo, p.hi = archsimd.BroadcastFloat32x8(a.lo), archsimd.BroadcastFloat32x8(a.hi)
		p.alpha, p.beta = archsimd.BroadcastFloat32x8(a.alpha), archsimd.BroadcastFloat32x8(a.beta)
		for ; i+8 <= n; i += 8 {
			p.apply(archsimd.LoadFloat32x8(f8(unsafe.Pointer(&x[i])))).Store(f8(unsafe.Pointer(&dst[i])))
		}
		archsimd.ClearAVXUpperBits()
	}
	if i < n {
		piecewiseGeneric(dst[i:], x[i:], a)
	}
}

func Clamp(dst, x []float32, lo, hi float32) { piecewiseSlice(dst, x, ActClamp(lo, hi)) }
func Leaky(dst, x []float32, alpha float32)  { piecewiseSlice(dst, x, ActLeaky(alpha)) }

// HardSigmoid computes dst[i] = max(0, min(1, α·x[i]+β)).
func HardSigmoid(dst, x []float32, alpha, beta float32) {
	piecewiseSlice(dst, x, ActHardSigmoid(alpha, beta))
}

// HardSwish computes dst[i] = x[i]·max(0, min(1, x[i]/6+½)).
func HardSwish(dst, x []float32) { piecewiseSlice(dst, x, ActHardSwish) }

var (
	evenIdx = [16]uint32{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}
	oddIdx  = [16]uint32{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}
)

// Deinterleave2 splits src (2·len(even) values) into its even and odd
// elements: even[j] = src[2j], odd[j] = src[2j+1]. The stride-2 depthwise
// input copy; VPERMI2PS picks 16 of 32 lanes per output vector.
func Deinterleave2(even, odd, src []float32) {
	n := len(even)
	odd, src = odd[:n], src[:2*n]
	j := 0
	if useAVX512 {
		ie, io := archsimd.LoadUint32x16(&evenIdx), archsimd.LoadUint32x16(&oddIdx)
		for ; j+16 <= n; j += 16 {
			a := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&src[2*j])))
			b := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&src[2*j+16])))
			a.ConcatPermute(b, ie).Store(f16(unsafe.Pointer(&even[j])))
			a.ConcatPermute(b, io).Store(f16(unsafe.Pointer(&odd[j])))
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; j < n; j++ {
		even[j], odd[j] = src[2*j], src[2*j+1]
	}
}

// Gather2 computes dst[j] = src[2j] (a stride-2 Slice row; src holds at
// least 2·len(dst)−1 values).
func Gather2(dst, src []float32) {
	n := len(dst)
	j := 0
	if useAVX512 {
		ie := archsimd.LoadUint32x16(&evenIdx)
		for ; j+16 <= n && 2*j+32 <= len(src); j += 16 {
			a := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&src[2*j])))
			b := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&src[2*j+16])))
			a.ConcatPermute(b, ie).Store(f16(unsafe.Pointer(&dst[j])))
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; j < n; j++ {
		dst[j] = src[2*j]
	}
}

// Add and Mul compute dst[i] = a[i] + b[i] (a[i]·b[i]).
func Add(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	if useAVX512 {
		for ; i+16 <= n; i += 16 {
			archsimd.LoadFloat32x16(f16(unsafe.Pointer(&a[i]))).Add(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&b[i])))).Store(f16(unsafe.Pointer(&dst[i])))
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; i < n; i++ {
		dst[i] = a[i] + b[i]
	}
}

func Mul(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	if useAVX512 {
		for ; i+16 <= n; i += 16 {
			archsimd.LoadFloat32x16(f16(unsafe.Pointer(&a[i]))).Mul(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&b[i])))).Store(f16(unsafe.Pointer(&dst[i])))
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; i < n; i++ {
		dst[i] = a[i] * b[i]
	}
}
