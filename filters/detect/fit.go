package detect

import (
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Rect is a fitted BEV rectangle: centre, length along Yaw (≥ Width), width.
type Rect struct {
	CX, CY, Length, Width, Yaw float64
}

// FitLShape fits an oriented rectangle to BEV points (x[i], y[i]) by the
// search-based L-shape fitting of Zhang, Xu, Dolan et al., "Efficient
// L-Shape Fitting for Vehicle Detection Using Laser Scanners", IEEE IV 2017
// (Algorithm 1): for θ in [0°, 90°) in steps of stepDeg, project the
// points on e1 = (cos θ, sin θ) and e2 = (−sin θ, cos θ) and score the
// rectangle spanned by the projections' ranges with
//
//	closeness: β = Σ_i 1 / max(min(d1_i, d2_i), d0),  d0 = 0.01 m,
//	           d_k,i = min(max C_k − C_k,i, C_k,i − min C_k)
//	area:      β = −(max C1 − min C1)·(max C2 − min C2)
//
// keeping the θ of largest β (the first on ties). The rectangle's Length is
// its longer side and Yaw that side's direction in (−π/2, π/2]; the heading
// of a rectangle is ambiguous by π. At most maxSearch points (evenly
// strided) take part in the search; the extents use every point.
func FitLShape(x, y []float64, stepDeg float64, criterion string, maxSearch int) Rect {
	n := len(x)
	if n == 0 {
		return Rect{}
	}
	stride := 1
	if maxSearch > 0 && n > maxSearch {
		stride = (n + maxSearch - 1) / maxSearch
	}
	if !(stepDeg > 0) {
		stepDeg = 1
	}
	steps := max(int(math.Ceil(90/stepDeg)), 1)
	bestQ, bestT := math.Inf(-1), 0.0
	area := criterion == "area"
	for s := 0; s < steps; s++ {
		th := float64(s) * stepDeg * math.Pi / 180
		sn, cs := math.Sincos(th)
		min1, max1, min2, max2 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for i := 0; i < n; i += stride {
			c1 := x[i]*cs + y[i]*sn
			c2 := -x[i]*sn + y[i]*cs
			min1, max1 = math.Min(min1, c1), math.Max(max1, c1)
			min2, max2 = math.Min(min2, c2), math.Max(max2, c2)
		}
		var q float64
		if area {
			q = -(max1 - min1) * (max2 - min2)
		} else {
			const d0 = 0.01
			for i := 0; i < n; i += stride {
				c1 := x[i]*cs + y[i]*sn
				c2 := -x[i]*sn + y[i]*cs
				d1 := math.Min(max1-c1, c1-min1)
				d2 := math.Min(max2-c2, c2-min2)
				q += 1 / math.Max(math.Min(d1, d2), d0)
			}
		}
		if q > bestQ {
			bestQ, bestT = q, th
		}
	}
	sn, cs := math.Sincos(bestT)
	min1, max1, min2, max2 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := 0; i < n; i++ {
		c1 := x[i]*cs + y[i]*sn
		c2 := -x[i]*sn + y[i]*cs
		min1, max1 = math.Min(min1, c1), math.Max(max1, c1)
		min2, max2 = math.Min(min2, c2), math.Max(max2, c2)
	}
	m1, m2 := (min1+max1)/2, (min2+max2)/2
	r := Rect{CX: m1*cs - m2*sn, CY: m1*sn + m2*cs, Length: max1 - min1, Width: max2 - min2, Yaw: bestT}
	if r.Width > r.Length {
		r.Length, r.Width = r.Width, r.Length
		r.Yaw += math.Pi / 2
	}
	if r.Yaw > math.Pi/2 {
		r.Yaw -= math.Pi
	}
	return r
}

// Grow enlarges r to at least length × width keeping fixed the corner
// nearest to the sensor at the origin: a partly seen object (its near
// sides only) grows away from the sensor.
func (r Rect) Grow(length, width float64) Rect {
	nl, nw := math.Max(r.Length, length), math.Max(r.Width, width)
	if nl == r.Length && nw == r.Width {
		return r
	}
	sn, cs := math.Sincos(r.Yaw)
	best, bs1, bs2 := math.Inf(1), 0.0, 0.0
	for _, s1 := range []float64{-1, 1} {
		for _, s2 := range []float64{-1, 1} {
			lx, ly := s1*r.Length/2, s2*r.Width/2
			x, y := r.CX+lx*cs-ly*sn, r.CY+lx*sn+ly*cs
			if d := x*x + y*y; d < best {
				best, bs1, bs2 = d, s1, s2
			}
		}
	}
	// the near corner stays; the centre moves by half the growth inwards
	gl, gw := -bs1*(nl-r.Length)/2, -bs2*(nw-r.Width)/2
	r.CX += gl*cs - gw*sn
	r.CY += gl*sn + gw*cs
	r.Length, r.Width = nl, nw
	return r
}

// Class priors (KITTI mean sizes, OpenPCDet anchors): length, width, height.
var priors = [3][3]float64{{3.9, 1.6, 1.56}, {0.8, 0.6, 1.73}, {1.76, 0.6, 1.73}}

// fit fits and classifies one cluster (member indices into d.xs).
func (d *Detector) fit(m []int32) (ds3d.Box3D, bool) {
	d.px, d.py = d.px[:0], d.py[:0]
	var top, bot float32 = 0, float32(math.Inf(1))
	for _, i := range m {
		d.px = append(d.px, float64(d.xs[3*i]))
		d.py = append(d.py, float64(d.xs[3*i+1]))
		top = max(top, d.xs[3*i+2])
		bot = min(bot, d.xs[3*i+2])
	}
	r := FitLShape(d.px, d.py, d.P.AngleStepDeg, d.P.Criterion, 512)
	L, W, H := r.Length, r.Width, float64(top)
	// the body below the windows: roofs fill a near car's footprint
	d.lx, d.ly = d.lx[:0], d.ly[:0]
	for k, i := range m {
		if d.xs[3*i+2] < 1.0 {
			d.lx, d.ly = append(d.lx, d.px[k]), append(d.ly, d.py[k])
		}
	}
	edge := EdgeFraction(d.lx, d.ly, r, 0.2)
	if bot > 1.0 || r.Length > 8 { // floating (canopy, sign) or a wall
		return ds3d.Box3D{}, false
	}
	cls := -1
	switch {
	case L <= 1.1 && W <= 1.0 && H >= 1.1 && H <= 2.1:
		cls = Pedestrian
	case L <= 2.1 && W <= 0.8 && H >= 1.3 && H <= 2.1:
		cls = Cyclist
	case L >= 1.2 && L <= 6.5 && W <= 2.8 && H >= 0.9 && H <= 1.95 && edge >= 0.5:
		cls = Car
	}
	if cls < 0 {
		return ds3d.Box3D{}, false
	}
	pr := priors[cls]
	// score: points, and how well the visible extent fits the class
	score := math.Min(1, float64(len(m))/60) * 0.5
	fitL := math.Exp(-math.Pow((math.Max(L, pr[0]*0.5)-pr[0])/(0.6*pr[0]), 2))
	fitH := math.Exp(-math.Pow((H-pr[2])/0.4, 2))
	score += 0.25*fitL + 0.25*fitH
	if cls == Car {
		r = r.Grow(pr[0], pr[1])
	} else {
		r = r.Grow(pr[0]*0.6, pr[1]*0.6)
	}
	if float32(score) < d.P.MinScore {
		return ds3d.Box3D{}, false
	}
	// bottom on the ground plane under the centre
	zg := float64(d.groundAt(float32(r.CX), float32(r.CY)))
	h := math.Max(H, pr[2]*0.8)
	return ds3d.Box3D{
		CX: float32(r.CX), CY: float32(r.CY), CZ: float32(zg + h/2),
		DX: float32(r.Length), DY: float32(r.Width), DZ: float32(h), Yaw: float32(r.Yaw),
		ClassID: int32(cls), Label: Classes[cls], Score: float32(score), TrackID: -1,
	}, true
}

// EdgeFraction is the fraction of the points within tol of the nearest
// side of r: near 1 for the L- or I-shaped returns of a vehicle's flat
// sides, lower for the scattered returns of vegetation.
func EdgeFraction(x, y []float64, r Rect, tol float64) float64 {
	if len(x) == 0 {
		return 0
	}
	sn, cs := math.Sincos(r.Yaw)
	k := 0
	for i := range x {
		dx, dy := x[i]-r.CX, y[i]-r.CY
		l1 := math.Abs(dx*cs+dy*sn) - r.Length/2
		l2 := math.Abs(-dx*sn+dy*cs) - r.Width/2
		if math.Max(l1, l2) >= -tol {
			k++
		}
	}
	return float64(k) / float64(len(x))
}
