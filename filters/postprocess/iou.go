package postprocess

import (
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// rect is a box's BEV footprint: corners counter-clockwise, centre, area
// and circumscribed radius, in float64.
type rect struct {
	c      [4][2]float64
	cx, cy float64
	area   float64
	r      float64 // half the diagonal
}

// makeRect fills r from b. A box with a non-finite or zero-area footprint
// gets area 0, which every IoU treats as "overlaps nothing".
func makeRect(r *rect, b *ds3d.Box3D) {
	cx, cy := float64(b.CX), float64(b.CY)
	hx, hy := math.Abs(float64(b.DX))/2, math.Abs(float64(b.DY))/2
	s, c := math.Sincos(float64(b.Yaw))
	r.cx, r.cy = cx, cy
	r.area = 4 * hx * hy
	r.r = math.Hypot(hx, hy)
	if !(r.area > 0) || math.IsInf(r.area, 0) || math.IsNaN(cx+cy+s+c) || math.IsInf(cx, 0) || math.IsInf(cy, 0) {
		r.area, r.r = 0, 0
	}
	// corners as ds3d.Box3D.Corners: (+x,+y), (−x,+y), (−x,−y), (+x,−y) in the box frame
	lx := [4]float64{hx, -hx, -hx, hx}
	ly := [4]float64{hy, hy, -hy, -hy}
	for i := 0; i < 4; i++ {
		r.c[i][0] = cx + c*lx[i] - s*ly[i]
		r.c[i][1] = cy + s*lx[i] + c*ly[i]
	}
}

// maxPoly bounds the vertices of a clipped polygon: clipping a convex
// n-gon by a half-plane adds at most one vertex, so 4 + 4 = 8; the rest is
// headroom for rounding on near-degenerate input.
const maxPoly = 12

// interArea returns the area of the intersection of two footprints by
// Sutherland–Hodgman clipping of a by b's four edges (b counter-clockwise:
// inside is to the left of each edge, borders included).
func interArea(a, b *rect) float64 {
	if a.area == 0 || b.area == 0 {
		return 0
	}
	var buf [2][maxPoly][2]float64
	in := &buf[0]
	n := 4
	copy(in[:4], a.c[:])
	out := &buf[1]
	for e := 0; e < 4 && n > 0; e++ {
		e0, e1 := b.c[e], b.c[(e+1)&3]
		ex, ey := e1[0]-e0[0], e1[1]-e0[1]
		m := 0
		p := in[n-1]
		dp := ex*(p[1]-e0[1]) - ey*(p[0]-e0[0])
		for i := 0; i < n; i++ {
			q := in[i]
			dq := ex*(q[1]-e0[1]) - ey*(q[0]-e0[0])
			if dq >= 0 {
				if dp < 0 && dq > 0 && m < maxPoly { // dq = 0: the crossing is q itself
					t := dp / (dp - dq)
					out[m] = [2]float64{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])}
					m++
				}
				if m < maxPoly {
					out[m] = q
					m++
				}
			} else if dp >= 0 && m < maxPoly {
				if dp > 0 { // p on the border was already emitted; no new vertex
					t := dp / (dp - dq)
					out[m] = [2]float64{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])}
					m++
				}
			}
			p, dp = q, dq
		}
		in, out = out, in
		n = m
	}
	if n < 3 {
		return 0
	}
	var s float64
	for i := 0; i < n; i++ {
		j := i + 1
		if j == n {
			j = 0
		}
		s += in[i][0]*in[j][1] - in[i][1]*in[j][0]
	}
	s = math.Abs(s) / 2
	if !(s > 0) {
		return 0
	}
	return math.Min(s, math.Min(a.area, b.area))
}

// overlapBEV is the BEV IoU of two prepared footprints.
func overlapBEV(a, b *rect) float64 {
	// circumscribed circles apart: no overlap
	dx, dy := a.cx-b.cx, a.cy-b.cy
	if rr := a.r + b.r; dx*dx+dy*dy >= rr*rr {
		return 0
	}
	i := interArea(a, b)
	if i == 0 {
		return 0
	}
	return i / (a.area + b.area - i)
}

// BEVIntersection returns the area in m² of the intersection of the BEV
// footprints of a and b (exact convex polygon clipping; see the package doc).
func BEVIntersection(a, b *ds3d.Box3D) float64 {
	var ra, rb rect
	makeRect(&ra, a)
	makeRect(&rb, b)
	return interArea(&ra, &rb)
}

// BEVIoU returns the rotated bird's-eye-view IoU of a and b in [0, 1]:
// intersection area / union area of their footprints (package doc).
func BEVIoU(a, b *ds3d.Box3D) float64 {
	var ra, rb rect
	makeRect(&ra, a)
	makeRect(&rb, b)
	return overlapBEV(&ra, &rb)
}

// IoU3D returns the 3D IoU of two upright boxes: BEV intersection area ×
// overlap of the z extents [CZ − DZ/2, CZ + DZ/2], over the union volume
// (package doc). Boxes with zero or non-finite volume give 0.
func IoU3D(a, b *ds3d.Box3D) float64 {
	var ra, rb rect
	makeRect(&ra, a)
	makeRect(&rb, b)
	ha, hb := math.Abs(float64(a.DZ)), math.Abs(float64(b.DZ))
	top := math.Min(float64(a.CZ)+ha/2, float64(b.CZ)+hb/2)
	bot := math.Max(float64(a.CZ)-ha/2, float64(b.CZ)-hb/2)
	h := top - bot
	if !(h > 0) || math.IsInf(h, 0) {
		return 0
	}
	i := interArea(&ra, &rb) * h
	if i == 0 {
		return 0
	}
	u := ra.area*ha + rb.area*hb - i
	if !(u > 0) || math.IsInf(u, 0) {
		return 0
	}
	return i / u
}
