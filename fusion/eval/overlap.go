package eval

import "math"

// ImageOverlap is the KITTI devkit's imageBoxOverlap: with criterion −1 the
// IoU of two image boxes, with 0 their intersection over a's area, with 1
// over b's. Boxes that do not overlap (zero or negative width or height of
// the intersection) give 0.
func ImageOverlap(a, b Rect, criterion int) float64 {
	w := math.Min(a.X2, b.X2) - math.Max(a.X1, b.X1)
	h := math.Min(a.Y2, b.Y2) - math.Max(a.Y1, b.Y1)
	if w <= 0 || h <= 0 {
		return 0
	}
	inter := w * h
	aa := (a.X2 - a.X1) * (a.Y2 - a.Y1)
	ba := (b.X2 - b.X1) * (b.Y2 - b.Y1)
	switch criterion {
	case -1:
		return inter / (aa + ba - inter)
	case 0:
		return inter / aa
	case 1:
		return inter / ba
	}
	return -1
}

// footprint is the devkit's toPolygon: the box's corners in the camera's
// (x, z) plane, (±L/2, ±W/2) turned by [cos ry, sin ry; −sin ry, cos ry]
// and moved to (X, Z), in the devkit's corner order.
func footprint(b CamBox) [4][2]float64 {
	s, c := math.Sincos(b.RotY)
	cx := [4]float64{b.L / 2, b.L / 2, -b.L / 2, -b.L / 2}
	cz := [4]float64{b.W / 2, -b.W / 2, -b.W / 2, b.W / 2}
	var p [4][2]float64
	for i := range p {
		p[i] = [2]float64{c*cx[i] + s*cz[i] + b.X, -s*cx[i] + c*cz[i] + b.Z}
	}
	return p
}

// polyArea is the shoelace area of a polygon, without sign.
func polyArea(p [][2]float64) float64 {
	a := 0.0
	for i := range p {
		q, r := p[i], p[(i+1)%len(p)]
		a += q[0]*r[1] - r[0]*q[1]
	}
	return math.Abs(a) / 2
}

// convexIntersection is the area of the intersection of two convex
// quadrilaterals (Sutherland–Hodgman clipping of a by each edge of b).
func convexIntersection(a, b [4][2]float64) float64 {
	poly := make([][2]float64, 0, 8)
	poly = append(poly, a[:]...)
	// orientation of b: inside is on the left of each edge when b is
	// counter-clockwise, on the right when clockwise.
	sb := 0.0
	for i := range b {
		q, r := b[i], b[(i+1)%4]
		sb += q[0]*r[1] - r[0]*q[1]
	}
	if sb == 0 {
		return 0
	}
	sign := 1.0
	if sb < 0 {
		sign = -1
	}
	next := make([][2]float64, 0, 8)
	for e := 0; e < 4 && len(poly) > 0; e++ {
		p0, p1 := b[e], b[(e+1)%4]
		side := func(q [2]float64) float64 {
			return sign * ((p1[0]-p0[0])*(q[1]-p0[1]) - (p1[1]-p0[1])*(q[0]-p0[0]))
		}
		next = next[:0]
		for i := range poly {
			cur, nxt := poly[i], poly[(i+1)%len(poly)]
			sc, sn := side(cur), side(nxt)
			if sc >= 0 {
				next = append(next, cur)
			}
			if (sc >= 0) != (sn >= 0) {
				t := sc / (sc - sn)
				next = append(next, [2]float64{cur[0] + t*(nxt[0]-cur[0]), cur[1] + t*(nxt[1]-cur[1])})
			}
		}
		poly, next = next, poly
	}
	if len(poly) < 3 {
		return 0
	}
	return polyArea(poly)
}

// GroundOverlap is the devkit's groundBoxOverlap: the overlap of the
// boxes' footprints in the camera's (x, z) plane (bird's-eye view). With
// criterion −1 it is intersection over union, with 0 intersection over d's
// footprint area, with 1 over g's.
func GroundOverlap(d, g CamBox, criterion int) float64 {
	dp, gp := footprint(d), footprint(g)
	inter := convexIntersection(gp, dp)
	da, ga := polyArea(dp[:]), polyArea(gp[:])
	switch criterion {
	case -1:
		if inter == 0 {
			return 0
		}
		return inter / (da + ga - inter)
	case 0:
		return inter / da
	case 1:
		return inter / ga
	}
	return -1
}

// Box3DOverlap is the devkit's box3DOverlap: the footprint intersection
// times the overlap of the height ranges [Y−H, Y] (y points down), over
// the union of the volumes H·W·L (criterion −1), d's volume (0) or g's (1).
func Box3DOverlap(d, g CamBox, criterion int) float64 {
	inter := convexIntersection(footprint(g), footprint(d))
	ymax := math.Min(d.Y, g.Y)
	ymin := math.Max(d.Y-d.H, g.Y-g.H)
	iv := inter * math.Max(0, ymax-ymin)
	dv := d.H * d.L * d.W
	gv := g.H * g.L * g.W
	switch criterion {
	case -1:
		return iv / (dv + gv - iv)
	case 0:
		return iv / dv
	case 1:
		return iv / gv
	}
	return -1
}
