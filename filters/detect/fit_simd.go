//go:build goexperiment.simd && amd64

package detect

import (
	"math"
	"simd/archsimd"
)

// lshapeVec is the vector search's scratch.
type lshapeVec struct {
	sn8, cs8 []float64 // sin θ, cos θ padded to whole 8-lane vectors
	gx, gy   []float64 // the searched points
	q8       []float64 // β per heading
}

// reset drops the heading tables (the step changed).
func (v *lshapeVec) reset() { v.sn8, v.cs8 = v.sn8[:0], v.cs8[:0] }

// search is the heading search of FitLShape (see searchScalar). With
// AVX-512 it runs eight headings at once, one per lane: each lane does the
// scalar loop's operations on the points in the scalar order (its
// projections, extents and closeness sum are the scalar values to the
// bit), and the headings are then compared in order. Vector min and max
// differ from the scalar ones only for NaN and for the sign of a zero: the
// inputs are checked to be finite and small enough that no projection
// overflows, and a zero's sign changes no comparison of the area scores
// and, through max(·, d0), no closeness term.
func (s *lshape) search(x, y []float64, stride int, area bool) float64 {
	n := len(x)
	y = y[:n]
	if !useAVX512 {
		return s.searchScalar(x, y, stride, area)
	}
	for i := 0; i < n; i += stride {
		// NaN fails the comparisons too
		if !(math.Abs(x[i]) <= 1e100 && math.Abs(y[i]) <= 1e100) {
			return s.searchScalar(x, y, stride, area)
		}
	}
	steps := len(s.th)
	if len(s.vec.sn8) < steps { // padded to whole vectors; the extra lanes are ignored
		s.vec.sn8, s.vec.cs8 = s.vec.sn8[:0], s.vec.cs8[:0]
		for k := 0; k < (steps+7)&^7; k++ {
			s.vec.sn8, s.vec.cs8 = append(s.vec.sn8, s.sn[min(k, steps-1)]), append(s.vec.cs8, s.cs[min(k, steps-1)])
		}
	}
	// The searched points, contiguous and padded to whole vectors with
	// copies of the last one (a copy changes no extent; the closeness sum
	// skips them). Lane j of a loaded block is spread to all lanes by a
	// permutation, which keeps the loop in vector registers.
	s.vec.gx, s.vec.gy = s.vec.gx[:0], s.vec.gy[:0]
	for i := 0; i < n; i += stride {
		s.vec.gx, s.vec.gy = append(s.vec.gx, x[i]), append(s.vec.gy, y[i])
	}
	m := len(s.vec.gx)
	for len(s.vec.gx)%8 != 0 {
		s.vec.gx, s.vec.gy = append(s.vec.gx, x[(m-1)*stride]), append(s.vec.gy, y[(m-1)*stride])
	}
	gx, gy := s.vec.gx, s.vec.gy[:len(s.vec.gx)]
	if cap(s.vec.q8) < len(s.vec.sn8) {
		s.vec.q8 = make([]float64, len(s.vec.sn8))
	}
	q := s.vec.q8[:len(s.vec.sn8)]
	scores8(q, gx, gy, m, s.vec.sn8, s.vec.cs8, area)
	bestQ, bestT := math.Inf(-1), 0.0
	for k, th := range s.th {
		if q[k] > bestQ {
			bestQ, bestT = q[k], th
		}
	}
	return bestT
}

// scores8 stores β of every heading in q (len(q) = len(sn8), a multiple of
// 8), over the first m points of gx, gy. All of it runs in vector
// registers and it clears the upper register halves before returning: the
// scalar float code around it is SSE, and SSE next to dirty AVX-512
// registers (or scalar floats reloaded inside a vector loop) stalls.
//
//go:noinline
func scores8(q, gx, gy []float64, m int, sn8, cs8 []float64, area bool) {
	neg := archsimd.LoadFloat64x8(&negOne8)
	cs8, q = cs8[:len(sn8)], q[:len(sn8)]
	for g := 0; g+8 <= len(sn8); g += 8 {
		sn := archsimd.LoadFloat64x8((*[8]float64)(sn8[g : g+8]))
		cs := archsimd.LoadFloat64x8((*[8]float64)(cs8[g : g+8]))
		min1, max1, min2, max2 := extents8(gx, gy, sn, cs)
		if area { // −(ext1·ext2): the product negated exactly
			neg.Mul(max1.Sub(min1).Mul(max2.Sub(min2))).Store((*[8]float64)(q[g : g+8]))
		} else {
			closeness8(gx[:m], gy[:m], sn, cs, min1, max1, min2, max2).Store((*[8]float64)(q[g : g+8]))
		}
	}
	archsimd.ClearAVXUpperBits()
}

// Vector constants are loaded from memory: a broadcast from a scalar
// register would mix SSE and AVX-512 code in the loops, which stalls.
var (
	lanes = [8][8]uint64{{0, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1}, {2, 2, 2, 2, 2, 2, 2, 2}, {3, 3, 3, 3, 3, 3, 3, 3},
		{4, 4, 4, 4, 4, 4, 4, 4}, {5, 5, 5, 5, 5, 5, 5, 5}, {6, 6, 6, 6, 6, 6, 6, 6}, {7, 7, 7, 7, 7, 7, 7, 7}}
	posInf8 = [8]float64{math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1)}
	negInf8 = [8]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	one8    = [8]float64{1, 1, 1, 1, 1, 1, 1, 1}
	d08     = [8]float64{0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01}
	negOne8 = [8]float64{-1, -1, -1, -1, -1, -1, -1, -1}
)

// extents8 is the first loop of searchScalar for eight headings: the
// ranges of c1 = x·cos θ + y·sin θ and c2 = −x·sin θ + y·cos θ. c2 is
// computed as y·cos θ − x·sin θ, the same IEEE sum as (−x·sin θ) + y·cos θ.
// len(gx) is a multiple of 8.
func extents8(gx, gy []float64, sn, cs archsimd.Float64x8) (min1, max1, min2, max2 archsimd.Float64x8) {
	min1, max1 = archsimd.LoadFloat64x8(&posInf8), archsimd.LoadFloat64x8(&negInf8)
	min2, max2 = min1, max1
	gy = gy[:len(gx)]
	for b := 0; b+8 <= len(gx); b += 8 {
		X := archsimd.LoadFloat64x8((*[8]float64)(gx[b : b+8]))
		Y := archsimd.LoadFloat64x8((*[8]float64)(gy[b : b+8]))
		for j := range lanes {
			l := archsimd.LoadUint64x8(&lanes[j])
			xi, yi := X.Permute(l), Y.Permute(l)
			c1 := xi.Mul(cs).Add(yi.Mul(sn))
			c2 := yi.Mul(cs).Sub(xi.Mul(sn))
			min1, max1 = min1.Min(c1), max1.Max(c1)
			min2, max2 = min2.Min(c2), max2.Max(c2)
		}
	}
	return min1, max1, min2, max2
}

// closeness8 is the closeness sum of searchScalar for eight headings, over
// the len(gx) points in order; gx and gy have room for a whole last vector.
func closeness8(gx, gy []float64, sn, cs, min1, max1, min2, max2 archsimd.Float64x8) archsimd.Float64x8 {
	one, d0 := archsimd.LoadFloat64x8(&one8), archsimd.LoadFloat64x8(&d08)
	q := one.Sub(one) // +0
	m := len(gx)
	gx, gy = gx[:(m+7)&^7], gy[:(m+7)&^7]
	for b := 0; b < m; b += 8 {
		X := archsimd.LoadFloat64x8((*[8]float64)(gx[b : b+8]))
		Y := archsimd.LoadFloat64x8((*[8]float64)(gy[b : b+8]))
		for j := 0; j < min(8, m-b); j++ {
			l := archsimd.LoadUint64x8(&lanes[j])
			xi, yi := X.Permute(l), Y.Permute(l)
			c1 := xi.Mul(cs).Add(yi.Mul(sn))
			c2 := yi.Mul(cs).Sub(xi.Mul(sn))
			d1 := max1.Sub(c1).Min(c1.Sub(min1))
			d2 := max2.Sub(c2).Min(c2.Sub(min2))
			q = q.Add(one.Div(d1.Min(d2).Max(d0)))
		}
	}
	return q
}
