package detect

import (
	"math"
	"math/rand/v2"

	"github.com/ds3d-go/ds3d-go/filters/outlier"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// ransacGround is outlier.Ground.Fit with Refine, returning the same plane
// bit for bit (TestGroundMatchesOutlier) at a fraction of the cost: the
// random sample is gathered once into contiguous float64 columns so each
// hypothesis is scored by a straight (SIMD where the CPU has AVX-512)
// loop instead of an indexed gather, the refit's second pass visits only
// the inliers its first pass listed, and the final inlier count, which the
// detector never reads, is not taken. The draw order of the PCG stream,
// every floating-point expression, every summation order and the LAPACK
// eigensolver call are outlier.Ground's, so the hypotheses, their counts
// and the refitted plane are identical, and a frame allocates nothing.
type ransacGround struct {
	pcg        rand.PCG
	rng        *rand.Rand // draws from pcg
	finite     []int32
	sx, sy, sz []float64  // the scored sample, by column
	inl        []int32    // the refit's inliers
	eig        [9]float64 // the refit's covariance, then its eigenvectors
	w          [3]float64 // its eigenvalues
	work       []float64  // LAPACK workspace
}

// fit is outlier.Ground{Threshold: thr, Iterations: iters, MaxTiltDeg:
// maxTilt, SampleSize: size, Seed: seed, Refine: true}.Fit on the [n, c]
// cloud pts, without the inlier count.
func (g *ransacGround) fit(pts []float32, c, n int, thr float64, iters int, maxTilt float64, size int, seed uint64) (outlier.Plane, bool) {
	g.finite = g.finite[:0]
	for i := 0; i < n; i++ {
		if x, y, z := pts[i*c], pts[i*c+1], pts[i*c+2]; finite(x, y, z) {
			g.finite = append(g.finite, int32(i))
		}
	}
	return g.fitFinite(pts, c, thr, iters, maxTilt, size, seed)
}

// finite reports whether x, y and z are finite: x−x is 0 exactly for
// finite x, NaN otherwise.
func finite(x, y, z float32) bool { return (x-x)+(y-y)+(z-z) == 0 }

// fitFinite is fit with g.finite already holding the indices of the
// finite points, in order.
func (g *ransacGround) fitFinite(pts []float32, c int, thr float64, iters int, maxTilt float64, size int, seed uint64) (outlier.Plane, bool) {
	F := len(g.finite)
	if F < 3 {
		return outlier.Plane{}, false
	}
	// outlier.Ground's rand.New(rand.NewPCG(seed, …)), without allocating
	g.pcg.Seed(seed, 0x9e3779b97f4a7c15)
	if g.rng == nil {
		g.rng = rand.New(&g.pcg)
	}
	rng := g.rng
	g.sx, g.sy, g.sz = g.sx[:0], g.sy[:0], g.sz[:0]
	add := func(i int32) {
		g.sx = append(g.sx, float64(pts[int(i)*c]))
		g.sy = append(g.sy, float64(pts[int(i)*c+1]))
		g.sz = append(g.sz, float64(pts[int(i)*c+2]))
	}
	if size <= 0 || size >= F {
		for _, i := range g.finite {
			add(i)
		}
	} else {
		for range size {
			add(g.finite[rng.IntN(F)])
		}
	}
	cosTilt := -1.0
	if maxTilt > 0 {
		cosTilt = math.Cos(maxTilt * math.Pi / 180)
	}
	best, bestN := outlier.Plane{}, -1
	at := func(i int32) (float64, float64, float64) {
		return float64(pts[int(i)*c]), float64(pts[int(i)*c+1]), float64(pts[int(i)*c+2])
	}
	for range max(iters, 1) {
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
		if cnt := countNear(g.sx, g.sy, g.sz, a, b, cc, d, thr); cnt > bestN {
			best, bestN = outlier.Plane{A: a, B: b, C: cc, D: d}, cnt
		}
	}
	if bestN < 0 {
		return outlier.Plane{}, false
	}
	if r, ok := g.refit(best, pts, c, thr); ok && (cosTilt < 0 || r.C >= cosTilt) {
		best = r
	}
	return best, true
}

// countNearScalar counts the sample points within thr of the plane
// (a, b, cc, d), from index i on.
func countNearScalar(sx, sy, sz []float64, a, b, cc, d, thr float64, i int) int {
	cnt := 0
	sy, sz = sy[:len(sx)], sz[:len(sx)]
	for ; i < len(sx); i++ {
		if math.Abs(a*sx[i]+b*sy[i]+cc*sz[i]+d) <= thr {
			cnt++
		}
	}
	return cnt
}

// refit is outlier.Ground's least-squares plane of p's inliers.
func (g *ransacGround) refit(p outlier.Plane, pts []float32, c int, thr float64) (outlier.Plane, bool) {
	var n, sx, sy, sz float64
	g.inl = g.inl[:0]
	for _, i := range g.finite {
		x, y, z := pts[int(i)*c], pts[int(i)*c+1], pts[int(i)*c+2]
		if math.Abs(p.Distance(x, y, z)) <= thr {
			n++
			sx, sy, sz = sx+float64(x), sy+float64(y), sz+float64(z)
			g.inl = append(g.inl, i)
		}
	}
	if n < 3 {
		return p, false
	}
	mx, my, mz := sx/n, sy/n, sz/n
	var cov [6]float64 // xx xy xz yy yz zz
	for _, i := range g.inl {
		x, y, z := pts[int(i)*c], pts[int(i)*c+1], pts[int(i)*c+2]
		dx, dy, dz := float64(x)-mx, float64(y)-my, float64(z)-mz
		cov[0] += dx * dx
		cov[1] += dx * dy
		cov[2] += dx * dz
		cov[3] += dy * dy
		cov[4] += dy * dz
		cov[5] += dz * dz
	}
	// mat.EigenSym.Factorize's LAPACK call on the upper triangle it
	// copies (the lower one is never read), with the workspace it would
	// query, kept here so that a frame allocates nothing.
	g.eig = [9]float64{cov[0], cov[1], cov[2], 0, cov[3], cov[4], 0, 0, cov[5]}
	sym := blas64.Symmetric{N: 3, Stride: 3, Data: g.eig[:], Uplo: blas.Upper}
	if g.work == nil {
		var q [1]float64
		lapack64.Syev(lapack.EVCompute, sym, g.w[:], q[:], -1)
		g.work = make([]float64, int(q[0]))
	}
	if !lapack64.Syev(lapack.EVCompute, sym, g.w[:], g.work, len(g.work)) {
		return p, false
	}
	// eigenvalues ascending: column 0 is the normal
	a, b, cc := g.eig[0], g.eig[3], g.eig[6]
	l := math.Sqrt(a*a + b*b + cc*cc)
	if !(l > 0) {
		return p, false
	}
	a, b, cc = a/l, b/l, cc/l
	if cc < 0 {
		a, b, cc = -a, -b, -cc
	}
	return outlier.Plane{A: a, B: b, C: cc, D: -(a*mx + b*my + cc*mz)}, true
}
