//go:build goexperiment.simd && amd64

package deskew

import (
	"simd/archsimd"
	"unsafe"
)

var useAVX2 = archsimd.X86.AVX2()

// Lane masks: x, y, z (3D) and x, y (planar) are computed, the rest of the
// four values is put back unchanged.
var (
	lanes3 = [4]int32{1, 1, 1, 0}
	lanes2 = [4]int32{1, 1, 0, 0}
)

// move3 applies m (3×4) to the x, y, z of every point of v. With AVX2 one
// 128-bit vector holds the first four values of a point (the stride is at
// least four: the time column follows x, y, z); VSHUFPS spreads x, y, z
// over the lanes and separate multiplies and adds combine them with the
// matrix columns in the scalar order, so the result equals move3Scalar's
// to the bit. 128-bit VEX operations leave the upper halves clean: 256-bit
// ones cost ~1 µs per call here (runs are ~30 points), more than they save.
func move3(v []float32, stride int, m *[12]float32) {
	if !useAVX2 || len(v) < stride {
		move3Scalar(v, stride, m)
		return
	}
	c0 := archsimd.LoadFloat32x4(&[4]float32{m[0], m[4], m[8], 0})
	c1 := archsimd.LoadFloat32x4(&[4]float32{m[1], m[5], m[9], 0})
	c2 := archsimd.LoadFloat32x4(&[4]float32{m[2], m[6], m[10], 0})
	t := archsimd.LoadFloat32x4(&[4]float32{m[3], m[7], m[11], 0})
	keep := archsimd.LoadInt32x4(&lanes3).Greater(archsimd.Int32x4{})
	p := unsafe.Pointer(unsafe.SliceData(v))
	// Whole points: b + 4 ≤ b + stride ≤ len(v); two per step halve the
	// loop's overhead.
	b := 0
	for ; b+2*stride <= len(v); b += 2 * stride {
		pt, pu := (*[4]float32)(unsafe.Add(p, 4*b)), (*[4]float32)(unsafe.Add(p, 4*(b+stride)))
		q, u := archsimd.LoadFloat32x4(pt), archsimd.LoadFloat32x4(pu)
		r := c0.Mul(q.SelectFromPair(0, 0, 0, 0, q)).Add(c1.Mul(q.SelectFromPair(1, 1, 1, 1, q))).
			Add(c2.Mul(q.SelectFromPair(2, 2, 2, 2, q))).Add(t)
		s := c0.Mul(u.SelectFromPair(0, 0, 0, 0, u)).Add(c1.Mul(u.SelectFromPair(1, 1, 1, 1, u))).
			Add(c2.Mul(u.SelectFromPair(2, 2, 2, 2, u))).Add(t)
		r.Merge(q, keep).Store(pt)
		s.Merge(u, keep).Store(pu)
	}
	if b+stride <= len(v) {
		pt := (*[4]float32)(unsafe.Add(p, 4*b))
		q := archsimd.LoadFloat32x4(pt)
		r := c0.Mul(q.SelectFromPair(0, 0, 0, 0, q)).Add(c1.Mul(q.SelectFromPair(1, 1, 1, 1, q))).
			Add(c2.Mul(q.SelectFromPair(2, 2, 2, 2, q))).Add(t)
		r.Merge(q, keep).Store(pt)
	}
	archsimd.ClearAVXUpperBits()
}

// move2 is move3 for planar transforms: z is kept as well.
func move2(v []float32, stride int, m *[12]float32) {
	if !useAVX2 || len(v) < stride {
		move2Scalar(v, stride, m)
		return
	}
	c0 := archsimd.LoadFloat32x4(&[4]float32{m[0], m[4], 0, 0})
	c1 := archsimd.LoadFloat32x4(&[4]float32{m[1], m[5], 0, 0})
	t := archsimd.LoadFloat32x4(&[4]float32{m[3], m[7], 0, 0})
	keep := archsimd.LoadInt32x4(&lanes2).Greater(archsimd.Int32x4{})
	p := unsafe.Pointer(unsafe.SliceData(v))
	b := 0
	for ; b+2*stride <= len(v); b += 2 * stride {
		pt, pu := (*[4]float32)(unsafe.Add(p, 4*b)), (*[4]float32)(unsafe.Add(p, 4*(b+stride)))
		q, u := archsimd.LoadFloat32x4(pt), archsimd.LoadFloat32x4(pu)
		r := c0.Mul(q.SelectFromPair(0, 0, 0, 0, q)).Add(c1.Mul(q.SelectFromPair(1, 1, 1, 1, q))).Add(t)
		s := c0.Mul(u.SelectFromPair(0, 0, 0, 0, u)).Add(c1.Mul(u.SelectFromPair(1, 1, 1, 1, u))).Add(t)
		r.Merge(q, keep).Store(pt)
		s.Merge(u, keep).Store(pu)
	}
	if b+stride <= len(v) {
		pt := (*[4]float32)(unsafe.Add(p, 4*b))
		q := archsimd.LoadFloat32x4(pt)
		r := c0.Mul(q.SelectFromPair(0, 0, 0, 0, q)).Add(c1.Mul(q.SelectFromPair(1, 1, 1, 1, q))).Add(t)
		r.Merge(q, keep).Store(pt)
	}
	archsimd.ClearAVXUpperBits()
}
