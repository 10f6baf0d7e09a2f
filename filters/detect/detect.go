package detect

import (
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/outlier"
)

// Classes are the detector's class names; a box's ClassID indexes them
// (KITTI's Car, Pedestrian, Cyclist order of OpenPCDet's KITTI models).
var Classes = []string{"Car", "Pedestrian", "Cyclist"}

// Class ids.
const (
	Car        = 0
	Pedestrian = 1
	Cyclist    = 2
)

// Params are the detector's parameters (see the package doc for each step).
type Params struct {
	// Range is the region of interest (x0, y0, z0, x1, y1, z1) in the lidar
	// frame, bounds inclusive.
	Range [6]float32
	// FOVDeg keeps the points with x > 0 within ±FOVDeg/2 of +x; 0: all.
	FOVDeg float64
	// Ground: RANSAC plane threshold (m), hypotheses, tilt limit and seed;
	// points less than GroundClearance above the plane are ground and
	// points more than MaxHeight above it are dropped (trees, signs).
	GroundThreshold float64
	GroundIters     int
	GroundSeed      uint64
	GroundClearance float32
	MaxHeight       float32
	// Cell is the BEV grid cell (m) of the clustering; cells touching in
	// the 8-neighbourhood join (a gap up to one cell is bridged).
	Cell float32
	// MinPoints is the smallest cluster.
	MinPoints int
	// AngleStepDeg is the heading search step of the L-shape fit over
	// [0°, 90°).
	AngleStepDeg float64
	// Criterion of the L-shape fit: "closeness" or "area" (Zhang et al. 2017).
	Criterion string
	// MinScore drops weaker boxes.
	MinScore float32
}

// DefaultParams are tuned on KITTI training 000000–000004 (docs/ACCURACY.md,
// "Model-free 3D detector").
var DefaultParams = Params{
	Range:           [6]float32{0, -40, -3, 70.4, 40, 1},
	GroundThreshold: 0.2, GroundIters: 200, GroundSeed: 1,
	GroundClearance: 0.25, MaxHeight: 2.6,
	Cell: 0.25, MinPoints: 12,
	AngleStepDeg: 1, Criterion: "closeness",
	MinScore: 0.1,
}

// Detector runs the model-free detection with reusable scratch; it is not
// safe for concurrent use.
type Detector struct {
	P Params

	ground  ransacGround
	plane   outlier.Plane
	roi     []float32 // points in the region of interest: x, y, z
	xs      []float32 // kept points: x, y, height above ground
	cellOf  []int32   // per kept point
	cellCnt []int32   // per grid cell: points, then cluster label
	label   []int32
	queue   []int32
	start   []int32 // cluster CSR over kept points
	members []int32
	px, py  []float64
	lx, ly  []float64
	ls      lshape
	gmin    []float32 // ground grid: lowest z per cell, then per 3×3 block
	gtmp    []float32
	gnx     int
	// Clusters is the number of clusters of the last frame.
	Clusters int
}

// New returns a detector with parameters p.
func New(p Params) *Detector { return &Detector{P: p} }

// Plane returns the ground plane of the last Detect call.
func (d *Detector) Plane() outlier.Plane { return d.plane }

// Detect appends the boxes found in the [N,C≥3] float32 cloud src to dst
// and returns it.
func (d *Detector) Detect(dst []ds3d.Box3D, src *ds3d.Frame) []ds3d.Box3D {
	p := &d.P
	n, c := src.Points(), src.Shape.D[1]
	pts := ds3d.AsFloat32(src)[:n*c]
	tanHalf := math.Inf(1)
	if p.FOVDeg > 0 && p.FOVDeg < 180 {
		tanHalf = math.Tan(p.FOVDeg / 2 * math.Pi / 180)
	}
	// One pass lists the finite points for the RANSAC ground fit and keeps
	// the region of interest (a quarter of a KITTI frame with the camera's
	// field of view): the ground grid and the height test then read only
	// those points, in the same order.
	d.roi, d.ground.finite = d.roi[:0], d.ground.finite[:0]
	r, all := &p.Range, math.IsInf(tanHalf, 1)
	for i := 0; i < n; i++ {
		x, y, z := pts[i*c], pts[i*c+1], pts[i*c+2]
		if finite(x, y, z) {
			d.ground.finite = append(d.ground.finite, int32(i))
		}
		if !(x >= r[0] && x <= r[3] && y >= r[1] && y <= r[4] && z >= r[2] && z <= r[5]) {
			continue // NaN fails every comparison
		}
		if all || (x > 0 && math.Abs(float64(y)) <= float64(x)*tanHalf) {
			d.roi = append(d.roi, x, y, z)
		}
	}
	pl, ok := d.ground.fitFinite(pts, c, p.GroundThreshold, p.GroundIters, 15, 4096, p.GroundSeed)
	if !ok {
		pl = outlier.Plane{C: 1, D: 1.73} // KITTI: lidar 1.73 m above the road
	}
	d.plane = pl
	d.groundGrid()
	d.xs = d.xs[:0]
	roi := d.roi
	for i := 0; i+2 < len(roi); i += 3 {
		x, y, z := roi[i], roi[i+1], roi[i+2]
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
func (d *Detector) cluster() {
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

// groundCell is the cell (m) of the local ground grid.
const groundCell = 2

// groundGrid estimates the local ground height: the lowest z per 2 m BEV
// cell among the points within 1 m below to 0.5 m above the RANSAC plane,
// then the lowest over each cell's 3×3 block (so a cell covered by a car
// takes the road around it). Cells with no such point use the plane.
func (d *Detector) groundGrid() {
	p := &d.P
	nx := int((p.Range[3]-p.Range[0])/groundCell) + 1
	ny := int((p.Range[4]-p.Range[1])/groundCell) + 1
	d.gnx = nx
	if cap(d.gmin) < nx*ny {
		d.gmin, d.gtmp = make([]float32, nx*ny), make([]float32, nx*ny)
	}
	g, tmp := d.gmin[:nx*ny], d.gtmp[:nx*ny]
	inf := float32(math.Inf(1))
	for i := range tmp {
		tmp[i] = inf
	}
	roi := d.roi
	for i := 0; i+2 < len(roi); i += 3 {
		x, y, z := roi[i], roi[i+1], roi[i+2]
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
				x := float64(p.Range[0]) + (float64(cx)+0.5)*groundCell
				y := float64(p.Range[1]) + (float64(cy)+0.5)*groundCell
				pl := d.plane
				m = float32(-(pl.A*x + pl.B*y + pl.D) / pl.C)
			}
			g[cy*nx+cx] = m
		}
	}
}

func (d *Detector) gcell(x, y float32) int {
	p := &d.P
	nx := d.gnx
	ny := len(d.gmin) / nx
	cx := min(max(int((x-p.Range[0])/groundCell), 0), nx-1)
	cy := min(max(int((y-p.Range[1])/groundCell), 0), ny-1)
	return cy*nx + cx
}

// groundAt is the local ground height under (x, y).
func (d *Detector) groundAt(x, y float32) float32 { return d.gmin[d.gcell(x, y)] }
