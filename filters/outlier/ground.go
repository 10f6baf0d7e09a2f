package outlier

import (
	"math"
	"math/rand/v2"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"gonum.org/v1/gonum/mat"
)

// Plane is the plane A·x + B·y + C·z + D = 0 with (A, B, C) a unit normal
// and C ≥ 0 (the normal points up, +z); the signed distance of a point is
// A·x + B·y + C·z + D, positive above the plane.
type Plane struct{ A, B, C, D float64 }

// Distance returns the signed distance of (x, y, z) to the plane.
func (p Plane) Distance(x, y, z float32) float64 {
	return p.A*float64(x) + p.B*float64(y) + p.C*float64(z) + p.D
}

// TiltDegrees is the angle between the plane's normal and +z.
func (p Plane) TiltDegrees() float64 {
	return math.Acos(math.Min(1, math.Abs(p.C))) * 180 / math.Pi
}

// Ground finds the dominant near-horizontal plane by RANSAC (Fischler and
// Bolles, "Random sample consensus", CACM 24(6), 1981), as PCL's
// SACSegmentation with SACMODEL_PERPENDICULAR_PLANE and SAC_RANSAC plus an
// optional least-squares refit (PCL's optimizeCoefficients):
//
//  1. Iterations times: draw 3 distinct finite points (PCG seeded with
//     Seed: the same cloud gives the same plane), take the plane through
//     them, skip it if its normal is more than MaxTiltDeg from ±z, and
//     count the points of a fixed sample of at most SampleSize points
//     within Threshold of it; keep the plane with the most.
//  2. Over the whole cloud, the inliers are the finite points with
//     |distance| ≤ Threshold. With Refine, the plane is refitted to them by
//     least squares (normal = eigenvector of the smallest eigenvalue of
//     their covariance, through their centroid) and the inliers recounted.
//
// Ground reuses its scratch; it is not safe for concurrent use.
type Ground struct {
	Threshold  float64 // metres
	Iterations int
	MaxTiltDeg float64 // 0: any orientation
	SampleSize int     // points scored per hypothesis; ≤ 0: all
	Seed       uint64
	Refine     bool

	finite []int32
	sample []int32
}

// Fit returns the ground plane of the [N,C≥3] float32 cloud src and its
// number of inliers; ok is false when no plane was found (fewer than 3
// finite points, or none within the tilt limit).
func (g *Ground) Fit(src *ds3d.Frame) (p Plane, inliers int, ok bool) {
	n, c := src.Points(), src.Shape.D[1]
	pts := ds3d.AsFloat32(src)[:n*c]
	g.finite = g.finite[:0]
	for i := 0; i < n; i++ {
		if finite(pts[i*c], pts[i*c+1], pts[i*c+2]) {
			g.finite = append(g.finite, int32(i))
		}
	}
	F := len(g.finite)
	if F < 3 {
		return Plane{}, 0, false
	}
	rng := rand.New(rand.NewPCG(g.Seed, 0x9e3779b97f4a7c15))
	g.sample = g.sample[:0]
	if g.SampleSize <= 0 || g.SampleSize >= F {
		g.sample = append(g.sample, g.finite...)
	} else {
		for range g.SampleSize {
			g.sample = append(g.sample, g.finite[rng.IntN(F)])
		}
	}
	cosTilt := -1.0
	if g.MaxTiltDeg > 0 {
		cosTilt = math.Cos(g.MaxTiltDeg * math.Pi / 180)
	}
	thr := g.Threshold
	best, bestN := Plane{}, -1
	at := func(i int32) (float64, float64, float64) {
		return float64(pts[int(i)*c]), float64(pts[int(i)*c+1]), float64(pts[int(i)*c+2])
	}
	for range max(g.Iterations, 1) {
		i0, i1, i2 := g.finite[rng.IntN(F)], g.finite[rng.IntN(F)], g.finite[rng.IntN(F)]
		if i0 == i1 || i1 == i2 || i0 == i2 {
			continue
		}
		x0, y0, z0 := at(i0)
		x1, y1, z1 := at(i1)
		x2, y2, z2 := at(i2)
		ux, uy, uz := x1-x0, y1-y0, z1-z0
		vx, vy, vz := x2-x0, y2-y0, z2-z0
		a, b, cc := uy*vz-uz*vy, uz*vx-ux*vz, ux*vy-uy*vx
		l := math.Sqrt(a*a + b*b + cc*cc)
		if !(l > 1e-12) {
			continue // collinear
		}
		a, b, cc = a/l, b/l, cc/l
		if cc < 0 {
			a, b, cc = -a, -b, -cc
		}
		if cc < cosTilt {
			continue
		}
		d := -(a*x0 + b*y0 + cc*z0)
		cnt := 0
		for _, i := range g.sample {
			x, y, z := at(i)
			if math.Abs(a*x+b*y+cc*z+d) <= thr {
				cnt++
			}
		}
		if cnt > bestN {
			best, bestN = Plane{a, b, cc, d}, cnt
		}
	}
	if bestN < 0 {
		return Plane{}, 0, false
	}
	if g.Refine {
		if r, ok := g.refit(best, pts, c); ok && (cosTilt < 0 || r.C >= cosTilt) {
			best = r
		}
	}
	return best, g.count(best, pts, c), true
}

func (g *Ground) count(p Plane, pts []float32, c int) int {
	k := 0
	for _, i := range g.finite {
		if math.Abs(p.Distance(pts[int(i)*c], pts[int(i)*c+1], pts[int(i)*c+2])) <= g.Threshold {
			k++
		}
	}
	return k
}

// refit is the least-squares plane of p's inliers.
func (g *Ground) refit(p Plane, pts []float32, c int) (Plane, bool) {
	var n, sx, sy, sz float64
	for _, i := range g.finite {
		x, y, z := pts[int(i)*c], pts[int(i)*c+1], pts[int(i)*c+2]
		if math.Abs(p.Distance(x, y, z)) <= g.Threshold {
			n++
			sx, sy, sz = sx+float64(x), sy+float64(y), sz+float64(z)
		}
	}
	if n < 3 {
		return p, false
	}
	mx, my, mz := sx/n, sy/n, sz/n
	var cov [6]float64 // xx xy xz yy yz zz
	for _, i := range g.finite {
		x, y, z := pts[int(i)*c], pts[int(i)*c+1], pts[int(i)*c+2]
		if math.Abs(p.Distance(x, y, z)) <= g.Threshold {
			dx, dy, dz := float64(x)-mx, float64(y)-my, float64(z)-mz
			cov[0] += dx * dx
			cov[1] += dx * dy
			cov[2] += dx * dz
			cov[3] += dy * dy
			cov[4] += dy * dz
			cov[5] += dz * dz
		}
	}
	s := mat.NewSymDense(3, []float64{cov[0], cov[1], cov[2], cov[1], cov[3], cov[4], cov[2], cov[4], cov[5]})
	var e mat.EigenSym
	if !e.Factorize(s, true) {
		return p, false
	}
	var v mat.Dense
	e.VectorsTo(&v) // eigenvalues ascending: column 0 is the normal
	a, b, cc := v.At(0, 0), v.At(1, 0), v.At(2, 0)
	l := math.Sqrt(a*a + b*b + cc*cc)
	if !(l > 0) {
		return p, false
	}
	a, b, cc = a/l, b/l, cc/l
	if cc < 0 {
		a, b, cc = -a, -b, -cc
	}
	return Plane{a, b, cc, -(a*mx + b*my + cc*mz)}, true
}

// Split copies the points of src within Threshold of p into ground and the
// other finite points into rest (either may be nil), keeping their order,
// every column and src's column names; it returns the two counts. Non-finite points go to neither.
func (g *Ground) Split(ground, rest, src *ds3d.Frame, p Plane) (int, int) {
	n, c := src.Points(), src.Shape.D[1]
	pts := ds3d.AsFloat32(src)[:n*c]
	var gd, rd []float32
	if ground != nil {
		ground.DType, ground.Type, ground.Mem = ds3d.DTypeF32, src.Type, ds3d.MemCPU
		ground.Resize(n, c)
		ground.CopyColumns(src)
		gd = ds3d.AsFloat32(ground)
	}
	if rest != nil {
		rest.DType, rest.Type, rest.Mem = ds3d.DTypeF32, src.Type, ds3d.MemCPU
		rest.Resize(n, c)
		rest.CopyColumns(src)
		rd = ds3d.AsFloat32(rest)
	}
	ng, nr := 0, 0
	for i := 0; i < n; i++ {
		q := pts[i*c : i*c+c]
		if !finite(q[0], q[1], q[2]) {
			continue
		}
		if math.Abs(p.Distance(q[0], q[1], q[2])) <= g.Threshold {
			if gd != nil {
				copy(gd[ng*c:], q)
			}
			ng++
		} else {
			if rd != nil {
				copy(rd[nr*c:], q)
			}
			nr++
		}
	}
	if ground != nil {
		ground.Resize(ng, c)
	}
	if rest != nil {
		rest.Resize(nr, c)
	}
	return ng, nr
}
