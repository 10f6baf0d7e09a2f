package detect

// The detector as it was before the speed work of issue #19 (commit
// e4022bd; the one docs/ACCURACY.md's figures were measured with), kept
// verbatim apart from renames as the reference the optimised Detector must
// match bit for bit (TestDetectMatchesReference).

import (
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/outlier"
)

// refDetector runs the model-free detection with reusable scratch; it is not
// safe for concurrent use.
type refDetector struct {
	P Params

	ground  outlier.Ground
	plane   outlier.Plane
	xs      []float32 // kept points: x, y, height above ground
	cellOf  []int32   // per kept point
	cellCnt []int32   // per grid cell: points, then cluster label
	label   []int32
	queue   []int32
	start   []int32 // cluster CSR over kept points
	members []int32
	px, py  []float64
	lx, ly  []float64
	gmin    []float32 // ground grid: lowest z per cell, then per 3×3 block
	gtmp    []float32
	gnx     int
	// Clusters is the number of clusters of the last frame.
	Clusters int
}

// New returns a detector with parameters p.
func newRef(p Params) *refDetector { return &refDetector{P: p} }

// Plane returns the ground plane of the last Detect call.
func (d *refDetector) Plane() outlier.Plane { return d.plane }

// Detect appends the boxes found in the [N,C≥3] float32 cloud src to dst
// and returns it.
func (d *refDetector) Detect(dst []ds3d.Box3D, src *ds3d.Frame) []ds3d.Box3D {
	p := &d.P
	d.ground = outlier.Ground{Threshold: p.GroundThreshold, Iterations: p.GroundIters, MaxTiltDeg: 15,
		SampleSize: 4096, Seed: p.GroundSeed, Refine: true}
	pl, _, ok := d.ground.Fit(src)
	if !ok {
		pl = outlier.Plane{C: 1, D: 1.73} // KITTI: lidar 1.73 m above the road
	}
	d.plane = pl
	n, c := src.Points(), src.Shape.D[1]
	pts := ds3d.AsFloat32(src)[:n*c]
	tanHalf := math.Inf(1)
	if p.FOVDeg > 0 && p.FOVDeg < 180 {
		tanHalf = math.Tan(p.FOVDeg / 2 * math.Pi / 180)
	}
	inROI := func(x, y, z float32) bool {
		if !(x >= p.Range[0] && x <= p.Range[3] && y >= p.Range[1] && y <= p.Range[4] && z >= p.Range[2] && z <= p.Range[5]) {
			return false // NaN fails every comparison
		}
		return math.IsInf(tanHalf, 1) || (x > 0 && math.Abs(float64(y)) <= float64(x)*tanHalf)
	}
	d.groundGrid(pts, c, n, inROI)
	d.xs = d.xs[:0]
	for i := 0; i < n; i++ {
		x, y, z := pts[i*c], pts[i*c+1], pts[i*c+2]
		if !inROI(x, y, z) {
			continue
		}
		h := z - d.groundAt(x, y)
		if h < p.GroundClearance || h > p.MaxHeight {
			continue
		}
		d.xs = append(d.xs, x, y, h)
	}
	d.cluster()
	for k := 0; k < d.Clusters; k++ {
		m := d.members[d.start[k]:d.start[k+1]]
		if len(m) < p.MinPoints {
			continue
		}
		if b, ok := d.fit(m); ok {
			dst = append(dst, b)
		}
	}
	return dst
}

// cluster labels the occupied BEV cells by 8-connected components (BFS)
// and groups the kept points by component.
func (d *refDetector) cluster() {
	p := &d.P
	cs := p.Cell
	nx := int((p.Range[3]-p.Range[0])/cs) + 1
	ny := int((p.Range[4]-p.Range[1])/cs) + 1
	cells := nx * ny
	if cap(d.cellCnt) < cells {
		d.cellCnt = make([]int32, cells)
	}
	cnt := d.cellCnt[:cells]
	clear(cnt)
	np := len(d.xs) / 3
	if cap(d.cellOf) < np {
		d.cellOf = make([]int32, np)
	}
	cellOf := d.cellOf[:np]
	for i := 0; i < np; i++ {
		cx := min(int((d.xs[3*i]-p.Range[0])/cs), nx-1)
		cy := min(int((d.xs[3*i+1]-p.Range[1])/cs), ny-1)
		cellOf[i] = int32(cy*nx + cx)
		cnt[cellOf[i]] = 1
	}
	// BFS over occupied cells; cnt becomes −(label+1) for labelled cells
	label := int32(0)
	for c0 := range cnt {
		if cnt[c0] != 1 {
			continue
		}
		cnt[c0] = -(label + 1)
		q := append(d.queue[:0], int32(c0))
		for h := 0; h < len(q); h++ {
			cc := int(q[h])
			cx, cy := cc%nx, cc/nx
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					x, y := cx+dx, cy+dy
					if x < 0 || y < 0 || x >= nx || y >= ny {
						continue
					}
					if j := y*nx + x; cnt[j] == 1 {
						cnt[j] = -(label + 1)
						q = append(q, int32(j))
					}
				}
			}
		}
		d.queue = q
		label++
	}
	d.Clusters = int(label)
	// CSR of points per label
	if cap(d.start) < int(label)+1 {
		d.start = make([]int32, label+1)
	}
	start := d.start[:label+1]
	clear(start)
	for i := 0; i < np; i++ {
		start[-cnt[cellOf[i]]]++ // label+1
	}
	for k := 1; k < len(start); k++ {
		start[k] += start[k-1]
	}
	if cap(d.members) < np {
		d.members = make([]int32, np)
	}
	d.members = d.members[:np]
	if cap(d.label) < int(label) {
		d.label = make([]int32, label)
	}
	fill := d.label[:label]
	copy(fill, start[:label])
	for i := 0; i < np; i++ {
		l := -cnt[cellOf[i]] - 1
		d.members[fill[l]] = int32(i)
		fill[l]++
	}
}

// refGroundCell is the cell (m) of the local ground grid.
const refGroundCell = 2

// groundGrid estimates the local ground height: the lowest z per 2 m BEV
// cell among the points within 1 m below to 0.5 m above the RANSAC plane,
// then the lowest over each cell's 3×3 block (so a cell covered by a car
// takes the road around it). Cells with no such point use the plane.
func (d *refDetector) groundGrid(pts []float32, c, n int, inROI func(x, y, z float32) bool) {
	p := &d.P
	nx := int((p.Range[3]-p.Range[0])/refGroundCell) + 1
	ny := int((p.Range[4]-p.Range[1])/refGroundCell) + 1
	d.gnx = nx
	if cap(d.gmin) < nx*ny {
		d.gmin, d.gtmp = make([]float32, nx*ny), make([]float32, nx*ny)
	}
	g, tmp := d.gmin[:nx*ny], d.gtmp[:nx*ny]
	inf := float32(math.Inf(1))
	for i := range tmp {
		tmp[i] = inf
	}
	for i := 0; i < n; i++ {
		x, y, z := pts[i*c], pts[i*c+1], pts[i*c+2]
		if !inROI(x, y, z) {
			continue
		}
		h := d.plane.Distance(x, y, z)
		if h < -1 || h > 0.5 {
			continue
		}
		k := d.gcell(x, y)
		tmp[k] = min(tmp[k], z)
	}
	ny = len(g) / nx
	for cy := 0; cy < ny; cy++ {
		for cx := 0; cx < nx; cx++ {
			m := inf
			for y := max(cy-1, 0); y <= min(cy+1, ny-1); y++ {
				for x := max(cx-1, 0); x <= min(cx+1, nx-1); x++ {
					m = min(m, tmp[y*nx+x])
				}
			}
			if m == inf {
				x := float64(p.Range[0]) + (float64(cx)+0.5)*refGroundCell
				y := float64(p.Range[1]) + (float64(cy)+0.5)*refGroundCell
				pl := d.plane
				m = float32(-(pl.A*x + pl.B*y + pl.D) / pl.C)
			}
			g[cy*nx+cx] = m
		}
	}
}

func (d *refDetector) gcell(x, y float32) int {
	p := &d.P
	nx := d.gnx
	ny := len(d.gmin) / nx
	cx := min(max(int((x-p.Range[0])/refGroundCell), 0), nx-1)
	cy := min(max(int((y-p.Range[1])/refGroundCell), 0), ny-1)
	return cy*nx + cx
}

// groundAt is the local ground height under (x, y).
func (d *refDetector) groundAt(x, y float32) float32 { return d.gmin[d.gcell(x, y)] }

// refFitLShape fits an oriented rectangle to BEV points (x[i], y[i]) by the
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
func refFitLShape(x, y []float64, stepDeg float64, criterion string, maxSearch int) Rect {
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
func refGrow(r Rect, length, width float64) Rect {
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

// Class refPriors (KITTI mean sizes, OpenPCDet anchors): length, width, height.
var refPriors = [3][3]float64{{3.9, 1.6, 1.56}, {0.8, 0.6, 1.73}, {1.76, 0.6, 1.73}}

// fit fits and classifies one cluster (member indices into d.xs).
func (d *refDetector) fit(m []int32) (ds3d.Box3D, bool) {
	d.px, d.py = d.px[:0], d.py[:0]
	var top, bot float32 = 0, float32(math.Inf(1))
	for _, i := range m {
		d.px = append(d.px, float64(d.xs[3*i]))
		d.py = append(d.py, float64(d.xs[3*i+1]))
		top = max(top, d.xs[3*i+2])
		bot = min(bot, d.xs[3*i+2])
	}
	r := refFitLShape(d.px, d.py, d.P.AngleStepDeg, d.P.Criterion, 512)
	L, W, H := r.Length, r.Width, float64(top)
	// the body below the windows: roofs fill a near car's footprint
	d.lx, d.ly = d.lx[:0], d.ly[:0]
	for k, i := range m {
		if d.xs[3*i+2] < 1.0 {
			d.lx, d.ly = append(d.lx, d.px[k]), append(d.ly, d.py[k])
		}
	}
	edge := refEdgeFraction(d.lx, d.ly, r, 0.2)
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
	pr := refPriors[cls]
	// score: points, and how well the visible extent fits the class
	score := math.Min(1, float64(len(m))/60) * 0.5
	fitL := math.Exp(-math.Pow((math.Max(L, pr[0]*0.5)-pr[0])/(0.6*pr[0]), 2))
	fitH := math.Exp(-math.Pow((H-pr[2])/0.4, 2))
	score += 0.25*fitL + 0.25*fitH
	if cls == Car {
		r = refGrow(r, pr[0], pr[1])
	} else {
		r = refGrow(r, pr[0]*0.6, pr[1]*0.6)
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

// refEdgeFraction is the fraction of the points within tol of the nearest
// side of r: near 1 for the L- or I-shaped returns of a vehicle's flat
// sides, lower for the scattered returns of vegetation.
func refEdgeFraction(x, y []float64, r Rect, tol float64) float64 {
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
