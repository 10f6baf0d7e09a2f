//go:build goexperiment.simd && amd64

package outlier

import (
	"math"
	"math/bits"
	"simd/archsimd"
	"unsafe"
)

var useAVX512 = archsimd.X86.AVX512()

// shiftUp moves lane i−1 to lane i and puts lane 0 of the second operand
// (−Inf) in lane 0.
var shiftUp = func() (a [16]uint32) {
	a[0] = 16
	for i := 1; i < 16; i++ {
		a[i] = uint32(i - 1)
	}
	return a
}()

// scanGroup compares every candidate point of ranges with the group's
// queries and keeps, per lane j, the k smallest squared distances below
// w[j] in d[j·ls:] (ascending); w[j] becomes lane j's k-th. ranges[0:2]
// is the group itself, where lane j skips its own point. It returns the
// number of candidates.
//
// One candidate against 16 queries per step: Sub, Mul and Add stay
// separate instructions (no fused multiply-add), so every lane rounds as
// sqDist and FLANN do. With k ≤ 16 a lane's list is one vector and an
// insertion is branch-free: L' = min(L, max(L shifted up one lane, v)).
func scanGroup(pts []float32, ranges []int32, q *[3][groupSize]float32, d []float32, ls, k int, w *[groupSize]float32) int {
	if !useAVX512 || k > 16 || ls != 16 || len(d) < 16*16 {
		return scanGroupScalar(pts, ranges, q, d, ls, k, w)
	}
	qx, qy, qz := archsimd.LoadFloat32x16(&q[0]), archsimd.LoadFloat32x16(&q[1]), archsimd.LoadFloat32x16(&q[2])
	wv := archsimd.LoadFloat32x16(w)
	ninf := archsimd.BroadcastFloat32x16(float32(math.Inf(-1)))
	sh := archsimd.LoadUint32x16(&shiftUp)
	// lane k−2 of a list, or −Inf (lane 0 of the second operand) for k = 1
	km2 := archsimd.BroadcastUint32x16(16)
	if k >= 2 {
		km2 = archsimd.BroadcastUint32x16(uint32(k - 2))
	}
	n := 0
	pd := unsafe.Pointer(unsafe.SliceData(d))
	p := unsafe.Pointer(unsafe.SliceData(pts))
	self := int(ranges[0])
	for r := 0; r+1 < len(ranges); r += 2 {
		a, e := int(ranges[r]), int(ranges[r+1])
		if a < 0 || e > len(pts)/3 || a > e {
			panic("outlier: candidate range outside the tree")
		}
		n += e - a
		for i := a; i < e; i++ {
			c := (*[3]float32)(unsafe.Add(p, 12*i))
			dx := qx.Sub(archsimd.BroadcastFloat32x16(c[0]))
			dy := qy.Sub(archsimd.BroadcastFloat32x16(c[1]))
			dz := qz.Sub(archsimd.BroadcastFloat32x16(c[2]))
			v := dx.Mul(dx).Add(dy.Mul(dy)).Add(dz.Mul(dz))
			m := v.Less(wv).ToBits()
			if r == 0 {
				m &^= uint16(1) << uint(i-self) // the query itself
			}
			if m == 0 {
				continue
			}
			for m != 0 {
				j := bits.TrailingZeros16(m)
				m &= m - 1
				lp := (*[16]float32)(unsafe.Add(pd, 64*j))
				l := archsimd.LoadFloat32x16(lp)
				vj := v.Permute(archsimd.BroadcastUint32x16(uint32(j)))
				l.Min(l.ConcatPermute(ninf, sh).Max(vj)).Store(lp)
				// the new k-th is max(old (k−1)-th, v): computed from the
				// old list, so the bound's dependency chain is one blend
				wj := l.ConcatPermute(ninf, km2).Max(vj)
				wv = wj.Merge(wv, archsimd.Mask32x16FromBits(uint16(1)<<uint(j)))
			}
		}
	}
	wv.Store(w)
	return n
}

// laneMeans sets out[j], j < m, to PCL's mean neighbour distance of lane
// j: the float32 square roots of its k squared distances summed in
// float64 in ascending order, divided by k, rounded to float32. VSQRTPS
// is correctly rounded, as is float32(math.Sqrt(float64(x))) (rounding
// twice is innocuous for square roots from float64 to float32), so the
// roots equal C++'s sqrt(float); the sum keeps PCL's order.
func laneMeans(d []float32, ls, k, m int, out *[groupSize]float32) {
	if !useAVX512 || ls != 16 || k > 16 || len(d) < 16*m {
		laneMeansScalar(d, ls, k, m, out)
		return
	}
	var r [16]float32
	for j := 0; j < m; j++ {
		archsimd.LoadFloat32x16((*[16]float32)(d[16*j:])).Sqrt().Store(&r)
		var ds float64
		for _, v := range r[:k] {
			ds += float64(v)
		}
		out[j] = float32(ds / float64(k))
	}
}
