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

func microKernel(kc int, a, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool, _ activation) {
	microKernelScalar(kc, a, b, ldb, c, ldc, bias, load)
}

func sigmoidSlice(dst, x []float32) { sigmoidGeneric(dst, x) }
func siluSlice(dst, x []float32)    { siluGeneric(dst, x) }
func expSlice(dst, x []float32)     { expGeneric(dst, x) }

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
