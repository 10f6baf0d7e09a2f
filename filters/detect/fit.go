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
	var s lshape
	return s.fit(x, y, stepDeg, criterion, maxSearch)
}

// lshape is FitLShape's reusable state: the heading table of the last step.
type lshape struct {
	step   float64
	th     []float64
	sn, cs []float64
	vec    lshapeVec // the vector search's scratch (fit_simd.go)
}

// headings fills the θ, sin θ, cos θ table for stepDeg once: the same
// math.Sincos values the search would compute per call.
func (s *lshape) headings(stepDeg float64) {
	if s.step == stepDeg && len(s.th) > 0 {
		return
	}
	steps := max(int(math.Ceil(90/stepDeg)), 1)
	s.th, s.sn, s.cs = s.th[:0], s.sn[:0], s.cs[:0]
	s.vec.reset()
	for k := 0; k < steps; k++ {
		th := float64(k) * stepDeg * math.Pi / 180
		sn, cs := math.Sincos(th)
		s.th, s.sn, s.cs = append(s.th, th), append(s.sn, sn), append(s.cs, cs)
	}
	s.step = stepDeg
}

// fit is FitLShape. The builtin min and max have math.Min and math.Max's
// semantics (NaN and signed zeros included) and compile inline, which is
// most of the saving over calling math.Min per point and heading.
func (s *lshape) fit(x, y []float64, stepDeg float64, criterion string, maxSearch int) Rect {
	n := len(x)
	if n == 0 {
		return Rect{}
	}
	y = y[:n]
	stride := 1
	if maxSearch > 0 && n > maxSearch {
		stride = (n + maxSearch - 1) / maxSearch
	}
	if !(stepDeg > 0) {
		stepDeg = 1
	}
	s.headings(stepDeg)
	bestT := s.search(x, y, stride, criterion == "area")
	sn, cs := math.Sincos(bestT)
	min1, max1, min2, max2 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := 0; i < n; i++ {
		c1 := x[i]*cs + y[i]*sn
		c2 := -x[i]*sn + y[i]*cs
		min1, max1 = min(min1, c1), max(max1, c1)
		min2, max2 = min(min2, c2), max(max2, c2)
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

// searchScalar is the heading search over every point index i ≡ 0 mod
// stride: the θ of largest β, the first on ties.
func (s *lshape) searchScalar(x, y []float64, stride int, area bool) float64 {
	n := len(x)
	y = y[:n]
	bestQ, bestT := math.Inf(-1), 0.0
	for k, th := range s.th {
		sn, cs := s.sn[k], s.cs[k]
		min1, max1, min2, max2 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for i := 0; i < n; i += stride {
			c1 := x[i]*cs + y[i]*sn
			c2 := -x[i]*sn + y[i]*cs
			min1, max1 = min(min1, c1), max(max1, c1)
			min2, max2 = min(min2, c2), max(max2, c2)
		}
		var q float64
		if area {
			q = -(max1 - min1) * (max2 - min2)
		} else {
			const d0 = 0.01
			for i := 0; i < n; i += stride {
				c1 := x[i]*cs + y[i]*sn
				c2 := -x[i]*sn + y[i]*cs
				d1 := min(max1-c1, c1-min1)
				d2 := min(max2-c2, c2-min2)
				q += 1 / max(min(d1, d2), d0)
			}
		}
		if q > bestQ {
			bestQ, bestT = q, th
		}
	}
	return bestT
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
//
// The rules reject most clusters on what the fit does not change: the
// lowest and highest point, and a footprint too long for any class. Those
// tests run first and skip the heading search; a cluster that passes them
// gets the box and class it would get with the tests last.
func (d *Detector) fit(m []int32) (ds3d.Box3D, bool) {
	xs := d.xs
	var top, bot float32 = 0, float32(math.Inf(1))
	x0, x1 := float32(math.Inf(1)), float32(math.Inf(-1))
	y0, y1 := x0, x1
	for _, i := range m {
		x, y, h := xs[3*i], xs[3*i+1], xs[3*i+2]
		top, bot = max(top, h), min(bot, h)
		x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
	}
	H := float64(top)
	// No class has h_top outside [0.9, 2.1] m; floating clusters are
	// dropped whatever their box.
	if bot > 1.0 || !(H >= 0.9 && H <= 2.1) {
		return ds3d.Box3D{}, false
	}
	// Every fitted rectangle holds all points, so an axis-aligned extent
	// e bounds its longer side: e ≤ (|cos θ| + |sin θ|)·L ≤ √2·L. No class
	// is longer than 6.5 m. The margin covers the rounding of e and of the
	// fit's float64 projections (both ~1e-14 m here).
	if max(float64(x1)-float64(x0), float64(y1)-float64(y0)) > math.Sqrt2*6.5+1e-6 {
		return ds3d.Box3D{}, false
	}
	d.px, d.py = d.px[:0], d.py[:0]
	for _, i := range m {
		d.px = append(d.px, float64(xs[3*i]))
		d.py = append(d.py, float64(xs[3*i+1]))
	}
	r := d.ls.fit(d.px, d.py, d.P.AngleStepDeg, d.P.Criterion, 512)
	L, W := r.Length, r.Width
	if r.Length > 8 { // a wall
		return ds3d.Box3D{}, false
	}
	cls := -1
	switch {
	case L <= 1.1 && W <= 1.0 && H >= 1.1 && H <= 2.1:
		cls = Pedestrian
	case L <= 2.1 && W <= 0.8 && H >= 1.3 && H <= 2.1:
		cls = Cyclist
	case L >= 1.2 && L <= 6.5 && W <= 2.8 && H >= 0.9 && H <= 1.95 && d.bodyEdge(m, r) >= 0.5:
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

// bodyEdge is the EdgeFraction of the cluster's points below 1 m (the body
// below the windows: roofs fill a near car's footprint); only the Car rule
// reads it.
func (d *Detector) bodyEdge(m []int32, r Rect) float64 {
	d.lx, d.ly = d.lx[:0], d.ly[:0]
	for k, i := range m {
		if d.xs[3*i+2] < 1.0 {
			d.lx, d.ly = append(d.lx, d.px[k]), append(d.ly, d.py[k])
		}
	}
	return EdgeFraction(d.lx, d.ly, r, 0.2)
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
