//go:build goexperiment.simd && amd64

package pointcloud

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// Lane indices that transpose 16 x,y,z,i points held in four vectors
// (AoS) into per-field vectors: tXY picks x of points 0..7 then y of points
// 0..7 from the concatenation of two vectors (8 points), tZI z and i; tLo
// and tHi join the halves of two such results.
var (
	tXY = idx16(func(j int) uint32 {
		if j < 8 {
			return uint32(4 * j)
		}
		return uint32(4*(j-8) + 1)
	})
	tZI = idx16(func(j int) uint32 {
		if j < 8 {
			return uint32(4*j + 2)
		}
		return uint32(4*(j-8) + 3)
	})
	tLo = idx16(func(j int) uint32 {
		if j < 8 {
			return uint32(j)
		}
		return uint32(j + 8)
	})
	tHi = idx16(func(j int) uint32 {
		if j < 8 {
			return uint32(j + 8)
		}
		return uint32(j + 16)
	})
)

func idx16(f func(int) uint32) [16]uint32 {
	var a [16]uint32
	for j := range a {
		a[j] = f(j)
	}
	return a
}

// voxelBounds is the bounding box of the finite points of a 4-column cloud
// and their count; ok is false where no vector kernel runs (the caller
// then uses its scalar loop).
func voxelBounds(s []float32) (lo, hi [3]float32, finite int, ok bool) {
	if !useAVX512 {
		return lo, hi, 0, false
	}
	big := archsimd.BroadcastFloat32x16(math.MaxFloat32)
	nbig := archsimd.BroadcastFloat32x16(-math.MaxFloat32)
	zero := archsimd.BroadcastFloat32x16(0)
	vlo, vhi := big, nbig
	ps := unsafe.Pointer(unsafe.SliceData(s))
	n := len(s) &^ 15
	for i := 0; i < n; i += 16 {
		v := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(ps, i*4)))
		// x−x is 0 exactly for finite x; the intensity lane never matters
		m := uint32(v.Sub(v).Equal(zero).ToBits()) | 0x8888
		t := m & (m >> 1) & (m >> 2) & (m >> 3) & 0x1111
		finite += int((t * 0x1111) >> 12 & 15)
		fm := archsimd.Mask32x16FromBits(uint16(t * 15))
		vlo = vlo.Min(v.Merge(big, fm))
		vhi = vhi.Max(v.Merge(nbig, fm))
	}
	var l, h [16]float32
	vlo.Store(&l)
	vhi.Store(&h)
	lo = [3]float32{math.MaxFloat32, math.MaxFloat32, math.MaxFloat32}
	hi = [3]float32{-math.MaxFloat32, -math.MaxFloat32, -math.MaxFloat32}
	for j := 0; j < 16; j++ {
		if a := j & 3; a < 3 {
			lo[a], hi[a] = min(lo[a], l[j]), max(hi[a], h[j])
		}
	}
	for i := n; i+4 <= len(s); i += 4 {
		x, y, z := s[i], s[i+1], s[i+2]
		if (x-x)+(y-y)+(z-z) != 0 {
			continue
		}
		finite++
		lo = [3]float32{min(lo[0], x), min(lo[1], y), min(lo[2], z)}
		hi = [3]float32{max(hi[0], x), max(hi[1], y), max(hi[2], z)}
	}
	return lo, hi, finite, true
}

// voxelIndices writes the linear voxel index of every point of a 4-column
// cloud to ids (noVoxel for a non-finite point) with PCL's float32 steps:
// uint32(int32(floorf(p·inv) − fmin)) per axis, i0 + i1·mx + i2·my in
// uint32 (the caller checked that every index fits). It reports false where
// no vector kernel runs. ids must hold len(s)/4 + 16 values.
func voxelIndices(ids []uint32, s []float32, inv, fmin [3]float32, mx, my uint32) bool {
	if !useAVX512 || len(ids) < len(s)/4+16 {
		return false
	}
	ix, iy, iz := archsimd.BroadcastFloat32x16(inv[0]), archsimd.BroadcastFloat32x16(inv[1]), archsimd.BroadcastFloat32x16(inv[2])
	fx, fy, fz := archsimd.BroadcastFloat32x16(fmin[0]), archsimd.BroadcastFloat32x16(fmin[1]), archsimd.BroadcastFloat32x16(fmin[2])
	vmx, vmy := archsimd.BroadcastUint32x16(mx), archsimd.BroadcastUint32x16(my)
	none := archsimd.BroadcastUint32x16(noVoxel)
	zero := archsimd.BroadcastFloat32x16(0)
	pXY, pZI := archsimd.LoadUint32x16(&tXY), archsimd.LoadUint32x16(&tZI)
	pLo, pHi := archsimd.LoadUint32x16(&tLo), archsimd.LoadUint32x16(&tHi)
	ps := unsafe.Pointer(unsafe.SliceData(s))
	pi := unsafe.Pointer(unsafe.SliceData(ids))
	n := len(s) &^ 63
	for i := 0; i < n; i += 64 {
		p := unsafe.Add(ps, i*4)
		v0 := archsimd.LoadFloat32x16((*[16]float32)(p))
		v1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 64)))
		v2 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 128)))
		v3 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 192)))
		a, b := v0.ConcatPermute(v1, pXY), v2.ConcatPermute(v3, pXY)
		x, y := a.ConcatPermute(b, pLo), a.ConcatPermute(b, pHi)
		c := v0.ConcatPermute(v1, pZI).ConcatPermute(v2.ConcatPermute(v3, pZI), pLo)
		fin := x.Sub(x).Equal(zero).And(y.Sub(y).Equal(zero)).And(c.Sub(c).Equal(zero))
		i0 := x.Mul(ix).FloorScaled(0).Sub(fx).ConvertToInt32().AsUint32x16()
		i1 := y.Mul(iy).FloorScaled(0).Sub(fy).ConvertToInt32().AsUint32x16()
		i2 := c.Mul(iz).FloorScaled(0).Sub(fz).ConvertToInt32().AsUint32x16()
		id := i0.Add(i1.Mul(vmx)).Add(i2.Mul(vmy)).Merge(none, fin)
		id.Store((*[16]uint32)(unsafe.Add(pi, i)))
	}
	for i := n; i+4 <= len(s); i += 4 {
		x, y, z := s[i], s[i+1], s[i+2]
		if (x-x)+(y-y)+(z-z) != 0 {
			ids[i/4] = noVoxel
			continue
		}
		ids[i/4] = uint32(int32(floorf(x*inv[0])-fmin[0])) + uint32(int32(floorf(y*inv[1])-fmin[1]))*mx +
			uint32(int32(floorf(z*inv[2])-fmin[2]))*my
	}
	return true
}
