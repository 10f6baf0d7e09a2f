//go:build !(goexperiment.simd && amd64)

// The portable kernel set, used unless the build has GOEXPERIMENT=simd on
// amd64 (kernels_simd.go): scalar loops from kernels_scalar.go.

package infer

// simdKernels reports whether the vector kernels were compiled in.
const simdKernels = false

const (
	mr = 4
	nr = 32
)

// kernelFusesAct reports whether microKernel applies its activation.
const kernelFusesAct = false

// pair8 reports whether microKernel8 (two A panels at once) is available.
const pair8 = false

func microKernel8(kc int, a0, a1, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool, act activation) {
	microKernel(kc, a0, b, ldb, c, ldc, bias[:mr], load, act)
	microKernel(kc, a1, b, ldb, c[mr*ldc:], ldc, bias[mr:], load, act)
}

func microKernel(kc int, a, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool, _ activation) {
	microKernelScalar(kc, a, b, ldb, c, ldc, bias, load)
}

func convTile16(w []float32, x []float32, offs []int, span int, c []float32, ldc int, bias []float32, act activation) {
	convTile16Scalar(w, x, offs, span, c, ldc, bias, act)
}

// transposeTile16 has no portable fast form; the caller transposes.
func transposeTile16(dst []float32, ldd int, src []float32, lds int) bool { return false }

// dwS2Kernel reports whether dwPlaneS2 has a vector form: not here, so
// stride-2 depthwise convolutions keep the phase-split path.
func dwS2Kernel() bool { return false }

func dwPlaneS2(dst []float32, OH, OW int, buf []float32, rowLen int, w []float32, bias float32, act activation) {
	dwPlaneS2Scalar(dst, OH, OW, buf, rowLen, w, bias, act)
}

// dwSameKernel reports whether dwSamePlane has a vector form: not here.
func dwSameKernel() bool { return false }

func dwSamePlane(dst, x []float32, H, W int, zero []float32, desc []dwVec, w []float32, bias float32, act activation) {
	dwSameScalar(dst, x, H, W, w, bias, act)
}

func sigmoidSlice(dst, x []float32) { sigmoidGeneric(dst, x) }
func siluSlice(dst, x []float32)    { siluGeneric(dst, x) }
func expSlice(dst, x []float32)     { expGeneric(dst, x) }

func clampSlice(dst, x []float32, lo, hi float32) { clampGeneric(dst, x, lo, hi) }
func leakySlice(dst, x []float32, alpha float32)  { leakyGeneric(dst, x, alpha) }

func dwPlane(dst []float32, OH, OW int, buf []float32, rowStep int, off []int, w []float32, bias float32, act activation) {
	dwPlaneScalar(dst, OH, OW, buf, rowStep, off, w, bias, act)
}

// maxInto computes dst[i] = max(dst[i], x[i]).
func maxInto(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v > dst[i] {
			dst[i] = v
		}
	}
}

// maxOf computes dst[i] = max(a[i], b[i]) in increasing i (dst may be a).
func maxOf(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		v := a[i]
		if b[i] > v {
			v = b[i]
		}
		dst[i] = v
	}
}

// deinterleave2 splits src (2·len(even) values) into its even and odd
// elements: even[j] = src[2j], odd[j] = src[2j+1].
func deinterleave2(even, odd, src []float32) {
	n := len(even)
	odd, src = odd[:n], src[:2*n]
	for j := range even {
		even[j], odd[j] = src[2*j], src[2*j+1]
	}
}

// gather2 computes dst[j] = src[2j].
func gather2(dst, src []float32) {
	for j := range dst {
		dst[j] = src[2*j]
	}
}

// addSlices and mulSlices compute dst[i] = a[i] + b[i] (a[i]·b[i]).
func addSlices(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func mulSlices(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}
