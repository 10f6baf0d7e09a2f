//go:build !(goexperiment.simd && amd64)

// The portable kernel set, used unless the build has GOEXPERIMENT=simd on
// amd64 (kernels_simd.go): scalar loops from kernels_scalar.go.

package kernels

// SIMD reports whether the vector kernels were compiled in.
const SIMD = false

const (
	MR = 4
	NR = 32
)

// kernelFusesAct reports whether microKernel applies its activation.
const kernelFusesAct = false

// pair8 reports whether microKernel8 (two A panels at once) is available.
const pair8 = false

// Restrict is the vector build's test hook (kernels_simd.go): here only
// the scalar kernels exist, so it reports whether no vector path was asked
// for.
func Restrict(avx2, avx512, pair bool) (restore func(), ok bool) {
	return func() {}, !avx2 && !avx512 && !pair
}

func microKernel8(kc int, a0, a1, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool, act Activation) {
	microKernel(kc, a0, b, ldb, c, ldc, bias[:MR], load, act)
	microKernel(kc, a1, b, ldb, c[MR*ldc:], ldc, bias[MR:], load, act)
}

func microKernel(kc int, a, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool, _ Activation) {
	microKernelScalar(kc, a, b, ldb, c, ldc, bias, load)
}

func ConvTile16(w []float32, x []float32, offs []int, span int, c []float32, ldc int, bias []float32, act Activation) {
	convTile16Scalar(w, x, offs, span, c, ldc, bias, act)
}

// TransposeTile16 has no portable fast form; the caller transposes.
func TransposeTile16(dst []float32, ldd int, src []float32, lds int) bool { return false }

// DwS2Kernel reports whether DwPlaneS2 has a vector form: not here, so
// stride-2 depthwise convolutions keep the phase-split path.
func DwS2Kernel() bool { return false }

func DwPlaneS2(dst []float32, OH, OW int, buf []float32, rowLen int, w []float32, bias float32, act Activation) {
	dwPlaneS2Scalar(dst, OH, OW, buf, rowLen, w, bias, act)
}

// DwSameKernel reports whether DwSamePlane has a vector form: not here.
func DwSameKernel() bool { return false }

func DwSamePlane(dst, x []float32, H, W int, zero []float32, desc []DwVec, w []float32, bias float32, act Activation) {
	dwSameScalar(dst, x, H, W, w, bias, act)
}

func Sigmoid(dst, x []float32) { sigmoidGeneric(dst, x) }
func SiLU(dst, x []float32)    { siluGeneric(dst, x) }
func Exp(dst, x []float32)     { expGeneric(dst, x) }

func Clamp(dst, x []float32, lo, hi float32) { clampGeneric(dst, x, lo, hi) }
func Leaky(dst, x []float32, alpha float32)  { leakyGeneric(dst, x, alpha) }

func DwPlane(dst []float32, OH, OW int, buf []float32, rowStep int, off []int, w []float32, bias float32, act Activation) {
	dwPlaneScalar(dst, OH, OW, buf, rowStep, off, w, bias, act)
}

// MaxInto computes dst[i] = max(dst[i], x[i]).
func MaxInto(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v > dst[i] {
			dst[i] = v
		}
	}
}

// MaxOf computes dst[i] = max(a[i], b[i]) in increasing i (dst may be a).
func MaxOf(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		v := a[i]
		if b[i] > v {
			v = b[i]
		}
		dst[i] = v
	}
}

// Deinterleave2 splits src (2·len(even) values) into its even and odd
// elements: even[j] = src[2j], odd[j] = src[2j+1].
func Deinterleave2(even, odd, src []float32) {
	n := len(even)
	odd, src = odd[:n], src[:2*n]
	for j := range even {
		even[j], odd[j] = src[2*j], src[2*j+1]
	}
}

// Gather2 computes dst[j] = src[2j].
func Gather2(dst, src []float32) {
	for j := range dst {
		dst[j] = src[2*j]
	}
}

// Add and Mul compute dst[i] = a[i] + b[i] (a[i]·b[i]).
func Add(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func Mul(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// DwFlat computes dst[j] = Σ_t w[t]·buf[offs[t]+j] + bias (dwflat.go).
func DwFlat(dst, buf []float32, offs []int, w []float32, bias float32) {
	dwFlatScalar(dst, buf, offs, w, bias)
}

func piecewiseSlice(dst, x []float32, a Activation) { piecewiseGeneric(dst, x, a) }

// HardSigmoid computes dst[i] = max(0, min(1, α·x[i]+β)).
func HardSigmoid(dst, x []float32, alpha, beta float32) {
	piecewiseGeneric(dst, x, ActHardSigmoid(alpha, beta))
}

// HardSwish computes dst[i] = x[i]·max(0, min(1, x[i]/6+½)).
func HardSwish(dst, x []float32) { piecewiseGeneric(dst, x, ActHardSwish) }

// BinVV computes dst[i] = a[i] op b[i].
func BinVV(op BinOp, dst, a, b []float32) { binVVGeneric(op, dst, a, b) }

// BinVS computes dst[i] = a[i] op s (s op a[i] when swap).
func BinVS(op BinOp, dst, a []float32, s float32, swap bool) { binVSGeneric(op, dst, a, s, swap) }

// Erf computes dst[i] = erf(x[i]).
func Erf(dst, x []float32) { erfGeneric(dst, x) }

// GELU computes dst[i] = x[i]·½·(1 + erf(x[i]/√2)).
func GELU(dst, x []float32) { geluGeneric(dst, x) }

// LayerNorm normalises the row x into dst (layerNormGeneric).
func LayerNorm(dst, x, gamma, beta []float32, eps float32) {
	layerNormGeneric(dst, x, gamma, beta, eps)
}

// SoftmaxRow computes the softmax of the row x into dst.
func SoftmaxRow(dst, x []float32) { softmaxGeneric(dst, x) }

// Axpy computes dst[i] += s·x[i].
func Axpy(dst, x []float32, s float32) { axpyGeneric(dst, x, s) }

// Dot returns Σ a[i]·b[i].
func Dot(a, b []float32) float32 { return dotGeneric(a, b) }
