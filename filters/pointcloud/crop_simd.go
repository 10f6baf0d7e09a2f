//go:build goexperiment.simd && amd64

package pointcloud

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// useAVX512 selects the AVX-512 kernels (VCMPPS into mask registers,
// VCOMPRESSPS); other CPUs run the scalar loops.
var useAVX512 = archsimd.X86.AVX512()

// cropXYZI is Crop's 4-column loop. With AVX-512 one 16-lane vector holds
// four points: two compares give the in-box bits of x, y, z per lane (the
// intensity lane is forced in, so a NaN intensity keeps its point, as in
// the scalar mask), the four nibbles reduce to one bit per point, and
// VCOMPRESSPS packs the kept points to the front of the vector, which is
// stored whole at the output cursor. The store may write up to 12 values
// past the kept ones; they lie at or before the input block just read
// (k ≤ i), so in-place use (d = s) stays correct and d, as long as s,
// never overflows.
func cropXYZI(d, s []float32, b *Box) int {
	if !useAVX512 || len(d) < len(s) {
		return cropXYZIScalar(d, s, b, 0, 0)
	}
	inf := float32(math.Inf(1))
	lo := archsimd.LoadFloat32x16(&[16]float32{
		b.Min[0], b.Min[1], b.Min[2], -inf, b.Min[0], b.Min[1], b.Min[2], -inf,
		b.Min[0], b.Min[1], b.Min[2], -inf, b.Min[0], b.Min[1], b.Min[2], -inf})
	hi := archsimd.LoadFloat32x16(&[16]float32{
		b.Max[0], b.Max[1], b.Max[2], inf, b.Max[0], b.Max[1], b.Max[2], inf,
		b.Max[0], b.Max[1], b.Max[2], inf, b.Max[0], b.Max[1], b.Max[2], inf})
	// Raw pointers: the loop's stores and loads stay in bounds by the
	// argument above, and bounds checks would spill the cursor.
	ps := unsafe.Pointer(unsafe.SliceData(s))
	pd := unsafe.Pointer(unsafe.SliceData(d))
	n := len(s) &^ 15
	k := 0
	for i := 0; i < n; i += 16 {
		v := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(ps, i*4)))
		m := uint32(v.GreaterEqual(lo).And(v.LessEqual(hi)).ToBits()) | 0x8888
		// bit 4j of t: all four lanes of point j pass; t·0x1111 sums the
		// four bits into bits 12..15 (no POPCNT feature check)
		t := m & (m >> 1) & (m >> 2) & (m >> 3) & 0x1111
		if t == 0 {
			continue // runs of points outside the box: no store
		}
		if t != 0x1111 {
			v = v.Compress(archsimd.Mask32x16FromBits(uint16(t * 15)))
		}
		v.Store((*[16]float32)(unsafe.Add(pd, k*4)))
		k += int((t*0x1111)>>12&15) * 4
	}
	return cropXYZIScalar(d, s, b, n, k)
}
