//go:build goexperiment.simd && amd64

package detect

import (
	"math/bits"
	"simd/archsimd"
)

// useAVX512 selects the 8-lane kernels; other CPUs run the scalar loops.
var useAVX512 = archsimd.X86.AVX512()

// countNear counts the sample points within thr of the plane (a, b, cc, d).
// Eight points per step with the scalar loop's operations in its order
// (((a·x + b·y) + cc·z) + d, no fused multiply-add), so every distance is
// the scalar one to the bit; |v| ≤ thr is tested as −thr ≤ v ≤ thr, which
// is the same for every v, NaN included. It clears the upper register
// halves before returning (see scores8).
func countNear(sx, sy, sz []float64, a, b, cc, d, thr float64) int {
	if !useAVX512 {
		return countNearScalar(sx, sy, sz, a, b, cc, d, thr, 0)
	}
	va, vb, vc, vd := archsimd.BroadcastFloat64x8(a), archsimd.BroadcastFloat64x8(b), archsimd.BroadcastFloat64x8(cc), archsimd.BroadcastFloat64x8(d)
	hi, lo := archsimd.BroadcastFloat64x8(thr), archsimd.BroadcastFloat64x8(-thr)
	n := len(sx) &^ 7
	sy, sz = sy[:len(sx)], sz[:len(sx)]
	cnt := 0
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat64x8((*[8]float64)(sx[i : i+8]))
		y := archsimd.LoadFloat64x8((*[8]float64)(sy[i : i+8]))
		z := archsimd.LoadFloat64x8((*[8]float64)(sz[i : i+8]))
		v := va.Mul(x).Add(vb.Mul(y)).Add(vc.Mul(z)).Add(vd)
		cnt += bits.OnesCount8(v.LessEqual(hi).And(v.GreaterEqual(lo)).ToBits())
	}
	archsimd.ClearAVXUpperBits()
	return cnt + countNearScalar(sx, sy, sz, a, b, cc, d, thr, n)
}
