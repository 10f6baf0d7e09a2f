package outlier

import (
	"math"
	"sync"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// finite reports whether x, y and z are all finite.
func finite(x, y, z float32) bool {
	return (x-x)+(y-y)+(z-z) == 0 // x−x is 0 exactly for finite x, NaN otherwise
}

// Statistical is PCL's StatisticalOutlierRemoval with reusable scratch
// (the search tree and per-point distances): a reused Statistical allocates
// nothing once it has seen the largest cloud. Not safe for concurrent use.
type Statistical struct {
	// MeanK is the number of neighbours (the point itself excluded) whose
	// mean distance is taken: PCL's setMeanK.
	MeanK int
	// StdMul is the multiplier of the standard deviation in the threshold:
	// PCL's setStddevMulThresh.
	StdMul float64
	// Negative keeps the outliers instead (PCL's setNegative).
	Negative bool
	// Workers is the number of goroutines searching neighbours (≤ 1: one,
	// the caller's). The result does not depend on it.
	Workers int

	tree   mortonTree
	sel    []int32
	dist   []float32 // by caller's point index
	groups []int32   // query groups: tree-position ranges [lo, hi)
	work   []sorBatch
	Stats  SORStats // of the last call
}

// SORStats describes the last Statistical run.
type SORStats struct {
	Valid     int     // finite points with a mean distance
	Mean, Std float64 // of the mean distances
	Threshold float64 // Mean + StdMul·Std
}

// Filter copies the points of src that pass into dst (every column, src's
// column names, input order) and returns how many it kept; dst may not be
// src. For each
// finite point p it computes
//
//	d(p) = (Σ_{i=1..k} √dist²_i) / k
//
// over its k nearest other points (k = MeanK; the k+1 nearest including p
// itself, the nearest dropped, as PCL does: an exact duplicate of p
// counts as a neighbour at distance 0), with dist² in float32 as FLANN
// computes it, each square root taken in float32 (C++'s sqrt(float)
// overload), summed in float64 and the mean rounded to float32. Over the
// n finite points, with sums in float64 of the float32 d and d·d (the
// square rounded to float32, as PCL's float product),
//
//	mean = Σd / n,   std = √((Σd² − (Σd)²/n) / (n − 1))
//
// and p is an inlier when d(p) ≤ mean + StdMul·std (PCL: removed when
// distance > threshold). Departures from PCL: points with a non-finite
// coordinate are removed (PCL gives them distance 0, which keeps them);
// a cloud of at most MeanK finite points is returned whole (PCL reads
// past its neighbour list).
func (s *Statistical) Filter(dst, src *ds3d.Frame) int {
	n, c := src.Points(), src.Shape.D[1]
	pts := ds3d.AsFloat32(src)[:n*c]
	s.mask(pts, c, n)
	return s.compact(dst, src, pts, n, c)
}

// Distances returns the mean neighbour distance of every point of the last
// Filter call (0 for non-finite points), indexed like the input.
func (s *Statistical) Distances() []float32 { return s.dist }

func (s *Statistical) mask(pts []float32, c, n int) {
	k := max(s.MeanK, 1)
	s.sel = s.sel[:0]
	for i := 0; i < n; i++ {
		if finite(pts[i*c], pts[i*c+1], pts[i*c+2]) {
			s.sel = append(s.sel, int32(i))
		}
	}
	if cap(s.dist) < n {
		s.dist = make([]float32, n)
	}
	s.dist = s.dist[:n]
	clear(s.dist)
	s.Stats = SORStats{Valid: len(s.sel)}
	if len(s.sel) <= k {
		s.Stats.Threshold = math.Inf(1)
		return
	}
	s.tree.build(pts, c, s.sel)
	s.groups = s.tree.groups(s.groups[:0])
	ng := len(s.groups) / 2
	w := min(max(s.Workers, 1), ng/64+1)
	if len(s.work) < w {
		s.work = make([]sorBatch, w)
	}
	if w == 1 {
		s.work[0].run(&s.tree, s.dist, k, s.groups)
	} else {
		var wg sync.WaitGroup
		step := (ng + w - 1) / w
		for i := 0; i < w; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				s.work[i].run(&s.tree, s.dist, k, s.groups[2*min(i*step, ng):2*min((i+1)*step, ng)])
			}(i)
		}
		wg.Wait()
	}
	// PCL sums the float32 distances in input order in float64, the
	// squares rounded to float32
	var sum, sq float64
	for _, i := range s.sel {
		d := s.dist[i]
		sum += float64(d)
		sq += float64(d * d)
	}
	nv := float64(len(s.sel))
	s.Stats.Mean = sum / nv
	s.Stats.Std = math.Sqrt((sq - sum*sum/nv) / (nv - 1))
	s.Stats.Threshold = s.Stats.Mean + s.StdMul*s.Stats.Std
}

func (s *Statistical) compact(dst, src *ds3d.Frame, pts []float32, n, c int) int {
	dst.DType, dst.Type, dst.Mem = ds3d.DTypeF32, src.Type, ds3d.MemCPU
	dst.Resize(n, c)
	dst.CopyColumns(src)
	d := ds3d.AsFloat32(dst)
	thr := s.Stats.Threshold
	k := 0
	for _, i := range s.sel {
		in := float64(s.dist[i]) <= thr
		if in != s.Negative {
			copy(d[k*c:k*c+c], pts[int(i)*c:int(i)*c+c])
			k++
		}
	}
	dst.Resize(k, c)
	return k
}

// Radius is PCL's RadiusOutlierRemoval with reusable scratch: a point is an
// inlier when at least MinNeighbors other points lie within Radius of it
// (distance ≤ Radius: PCL's dense-cloud rule, nearestKSearch of
// MinNeighbors+1 points including the point itself, kept when the last
// squared distance ≤ Radius²; squared distances in float32 as FLANN).
// Points with a non-finite coordinate are removed and are nobody's
// neighbour.
type Radius struct {
	Radius       float64
	MinNeighbors int
	// Negative keeps the outliers instead (PCL's setNegative).
	Negative bool

	tree KDTree
	sel  []int32
	keep []bool
}

// Filter copies the points of src that pass into dst (every column, src's
// column names, input order) and returns how many it kept; dst may not be
// src.
func (r *Radius) Filter(dst, src *ds3d.Frame) int {
	n, c := src.Points(), src.Shape.D[1]
	pts := ds3d.AsFloat32(src)[:n*c]
	r.sel = r.sel[:0]
	for i := 0; i < n; i++ {
		if finite(pts[i*c], pts[i*c+1], pts[i*c+2]) {
			r.sel = append(r.sel, int32(i))
		}
	}
	r.tree.Build(pts, c, r.sel)
	if cap(r.keep) < n {
		r.keep = make([]bool, n)
	}
	r.keep = r.keep[:n]
	// PCL compares float64(d²) ≤ R² in float64: the same as d² ≤ the largest float32 ≤ R².
	R2 := r.Radius * r.Radius
	r2 := float32(R2)
	if float64(r2) > R2 {
		r2 = math.Nextafter32(r2, float32(math.Inf(-1)))
	}
	need := r.MinNeighbors + 1
	for i := 0; i < r.tree.Len(); i++ {
		x, y, z := r.tree.Point(i)
		r.keep[r.tree.Index(i)] = r.tree.CountWithin(x, y, z, r2, need) >= need
	}
	dst.DType, dst.Type, dst.Mem = ds3d.DTypeF32, src.Type, ds3d.MemCPU
	dst.Resize(n, c)
	dst.CopyColumns(src)
	d := ds3d.AsFloat32(dst)
	k := 0
	for _, i := range r.sel {
		if r.keep[i] != r.Negative {
			copy(d[k*c:k*c+c], pts[int(i)*c:int(i)*c+c])
			k++
		}
	}
	dst.Resize(k, c)
	return k
}
