package synth

import (
	"math"
	"sort"
)

// bvh is a binned-SAH bounding-volume hierarchy over triangles. Nodes are
// 32 bytes; a leaf holds up to leafSize triangles, stored contiguously in
// the BVH's own order.
type bvh struct {
	nodes []bvhNode
	// Triangles in leaf order: vertex 0 and the two edges (Möller–Trumbore
	// form), material and owner.
	v0, e1, e2 []vec
	mat        []Material
	owner      []int32
}

type bvhNode struct {
	// b is the box: lo x, y, z then hi x, y, z.
	b [6]float32
	// For an inner node first is the left child (the right one follows
	// it) and count is 0; for a leaf first is its first triangle.
	first, count int32
}

const (
	leafSize = 4
	sahBins  = 16
	// pad widens node bounds so that float32 slab tests never cull a
	// triangle that the float64 triangle test would hit.
	pad = 1e-3
)

type buildTri struct {
	lo, hi, c vec
	idx       int32
}

// buildBVH builds the hierarchy over m's triangles.
func buildBVH(m *mesh) *bvh {
	b := &bvh{}
	b.build(m, nil)
	return b
}

// build rebuilds b over m's triangles, reusing b's slices and scratch (a
// buffer of len(m.mat) build entries, grown when short); it returns the
// scratch for the next call.
func (b *bvh) build(m *mesh, scratch []buildTri) []buildTri {
	n := len(m.mat)
	if cap(scratch) < n {
		scratch = make([]buildTri, n)
	}
	tris := scratch[:n]
	for i := range tris {
		a, p, q := m.v[3*i], m.v[3*i+1], m.v[3*i+2]
		lo, hi := vmin(a, vmin(p, q)), vmax(a, vmax(p, q))
		tris[i] = buildTri{lo: lo, hi: hi, c: lo.add(hi).scale(0.5), idx: int32(i)}
	}
	b.nodes = append(b.nodes[:0], bvhNode{})
	if n > 0 {
		b.split(0, tris, 0)
	}
	b.v0 = grow(b.v0, n)
	b.e1 = grow(b.e1, n)
	b.e2 = grow(b.e2, n)
	b.mat = grow(b.mat, n)
	b.owner = grow(b.owner, n)
	for i, t := range tris {
		j := t.idx
		a := m.v[3*j]
		b.v0[i], b.e1[i], b.e2[i] = a, m.v[3*j+1].sub(a), m.v[3*j+2].sub(a)
		b.mat[i], b.owner[i] = m.mat[j], m.owner[j]
	}
	return scratch
}

// grow returns s resized to n, reallocated only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func bounds(t []buildTri) (lo, hi vec) {
	lo = vec{math.Inf(1), math.Inf(1), math.Inf(1)}
	hi = vec{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for i := range t {
		lo, hi = vmin(lo, t[i].lo), vmax(hi, t[i].hi)
	}
	return lo, hi
}

// vmin and vmax are componentwise (the inputs are never NaN).
func vmin(a, b vec) vec {
	if b.X < a.X {
		a.X = b.X
	}
	if b.Y < a.Y {
		a.Y = b.Y
	}
	if b.Z < a.Z {
		a.Z = b.Z
	}
	return a
}

func vmax(a, b vec) vec {
	if b.X > a.X {
		a.X = b.X
	}
	if b.Y > a.Y {
		a.Y = b.Y
	}
	if b.Z > a.Z {
		a.Z = b.Z
	}
	return a
}

func area(lo, hi vec) float64 {
	d := hi.sub(lo)
	if d.X < 0 {
		return 0
	}
	return d.X*d.Y + d.Y*d.Z + d.Z*d.X
}

func axis(v vec, a int) float64 {
	switch a {
	case 0:
		return v.X
	case 1:
		return v.Y
	}
	return v.Z
}

// split fills node ni with tris (a slice of the build array, whose first
// element is triangle offset of the BVH order).
func (b *bvh) split(ni int, tris []buildTri, offset int) {
	lo, hi := bounds(tris)
	nd := &b.nodes[ni]
	nd.b = [6]float32{float32(lo.X - pad), float32(lo.Y - pad), float32(lo.Z - pad), float32(hi.X + pad), float32(hi.Y + pad), float32(hi.Z + pad)}
	if len(tris) <= leafSize {
		nd.first, nd.count = int32(offset), int32(len(tris))
		return
	}
	// Centroid bounds pick the bins.
	clo := vec{math.Inf(1), math.Inf(1), math.Inf(1)}
	chi := vec{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for i := range tris {
		c := tris[i].c
		clo, chi = vmin(clo, c), vmax(chi, c)
	}
	bestAxis, bestBin, bestCost := -1, 0, math.Inf(1)
	for a := 0; a < 3; a++ {
		l, h := axis(clo, a), axis(chi, a)
		if h-l < 1e-9 {
			continue
		}
		var cnt [sahBins]int
		var blo, bhi [sahBins]vec
		for i := range blo {
			blo[i] = vec{math.Inf(1), math.Inf(1), math.Inf(1)}
			bhi[i] = vec{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
		}
		k := float64(sahBins) / (h - l)
		for i := range tris {
			j := min(int((axis(tris[i].c, a)-l)*k), sahBins-1)
			cnt[j]++
			t := &tris[i]
			blo[j], bhi[j] = vmin(blo[j], t.lo), vmax(bhi[j], t.hi)
		}
		// Sweep from the right, then evaluate each split from the left.
		var rArea [sahBins]float64
		var rCnt [sahBins]int
		rlo, rhi, rc := blo[sahBins-1], bhi[sahBins-1], 0
		for j := sahBins - 1; j > 0; j-- {
			rlo, rhi = vmin(rlo, blo[j]), vmax(rhi, bhi[j])
			rc += cnt[j]
			rArea[j], rCnt[j] = area(rlo, rhi), rc
		}
		llo, lhi, lc := blo[0], bhi[0], 0
		for j := 0; j < sahBins-1; j++ {
			llo, lhi = vmin(llo, blo[j]), vmax(lhi, bhi[j])
			lc += cnt[j]
			if lc == 0 || rCnt[j+1] == 0 {
				continue
			}
			cost := area(llo, lhi)*float64(lc) + rArea[j+1]*float64(rCnt[j+1])
			if cost < bestCost {
				bestAxis, bestBin, bestCost = a, j, cost
			}
		}
	}
	var mid int
	if bestAxis < 0 || bestCost >= area(lo, hi)*float64(len(tris)) && len(tris) <= 2*leafSize {
		if bestAxis < 0 {
			// All centroids coincide: split in the middle of the list.
			mid = len(tris) / 2
		} else {
			nd.first, nd.count = int32(offset), int32(len(tris))
			return
		}
	} else {
		l, h := axis(clo, bestAxis), axis(chi, bestAxis)
		k := float64(sahBins) / (h - l)
		i, j := 0, len(tris)-1
		for i <= j {
			if min(int((axis(tris[i].c, bestAxis)-l)*k), sahBins-1) <= bestBin {
				i++
			} else {
				tris[i], tris[j] = tris[j], tris[i]
				j--
			}
		}
		mid = i
		if mid == 0 || mid == len(tris) {
			// A degenerate partition (cannot happen with non-empty bins, but
			// keep the build total): order by centroid and halve.
			sort.SliceStable(tris, func(p, q int) bool { return axis(tris[p].c, bestAxis) < axis(tris[q].c, bestAxis) })
			mid = len(tris) / 2
		}
	}
	left := len(b.nodes)
	b.nodes = append(b.nodes, bvhNode{}, bvhNode{})
	b.nodes[ni].first, b.nodes[ni].count = int32(left), 0
	b.split(left, tris[:mid], offset)
	b.split(left+1, tris[mid:], offset+mid)
}

// ray is a ray with its float32 slab-test data precomputed: the inverse
// direction and origin × inverse direction, so that a slab distance is one
// multiply and one subtract.
type ray struct {
	o, d          vec
	ix, iy, iz    float32
	oix, oiy, oiz float32
}

func newRay(o, d vec) ray {
	inv := func(v float64) float32 {
		if v == 0 {
			// A huge finite value rather than +Inf keeps 0·inv out of the
			// slab test (it would be NaN).
			return float32(math.Copysign(1e30, v))
		}
		return float32(1 / v)
	}
	r := ray{o: o, d: d, ix: inv(d.X), iy: inv(d.Y), iz: inv(d.Z)}
	r.oix, r.oiy, r.oiz = float32(o.X)*r.ix, float32(o.Y)*r.iy, float32(o.Z)*r.iz
	return r
}

// slab returns the entry distance of the ray into node n within (0, tmax),
// or +Inf when it misses.
func (r *ray) slab(n *bvhNode, tmax float32) float32 {
	b := &n.b
	tx0, tx1 := b[0]*r.ix-r.oix, b[3]*r.ix-r.oix
	if r.ix < 0 {
		tx0, tx1 = tx1, tx0
	}
	ty0, ty1 := b[1]*r.iy-r.oiy, b[4]*r.iy-r.oiy
	if r.iy < 0 {
		ty0, ty1 = ty1, ty0
	}
	tz0, tz1 := b[2]*r.iz-r.oiz, b[5]*r.iz-r.oiz
	if r.iz < 0 {
		tz0, tz1 = tz1, tz0
	}
	// Plain comparisons: the min and max builtins' NaN handling costs
	// more than the whole test.
	t0 := tx0
	if ty0 > t0 {
		t0 = ty0
	}
	if tz0 > t0 {
		t0 = tz0
	}
	if t0 < 0 {
		t0 = 0
	}
	t1 := tx1
	if ty1 < t1 {
		t1 = ty1
	}
	if tz1 < t1 {
		t1 = tz1
	}
	if tmax < t1 {
		t1 = tmax
	}
	if t0 > t1 {
		return float32(math.Inf(1))
	}
	return t0
}

// intersect returns the nearest hit's distance along r (d need not be
// unit: t is in units of |d|) below tmax and its triangle, or tri −1.
// It does not allocate.
func (b *bvh) intersect(r *ray, tmax float64) (t float64, tri int32) {
	tri = -1
	t = tmax
	if len(b.nodes) == 0 || len(b.mat) == 0 {
		return t, tri
	}
	var stack [64]int32
	sp := 0
	ni := int32(0)
	if r.slab(&b.nodes[0], float32(t)) == float32(math.Inf(1)) {
		return t, tri
	}
	inf := float32(math.Inf(1))
	ix, iy, iz, oix, oiy, oiz := r.ix, r.iy, r.iz, r.oix, r.oiy, r.oiz
	for {
		n := &b.nodes[ni]
		if n.count > 0 {
			for i := n.first; i < n.first+n.count; i++ {
				if h, ok := hitTri(r, &b.v0[i], &b.e1[i], &b.e2[i], t); ok {
					t, tri = h, i
				}
			}
		} else {
			l, rr := n.first, n.first+1
			tm := float32(t) + pad
			// Both children's slab tests, written out: a call each costs
			// a fifth of the test.
			nl, nr := &b.nodes[l].b, &b.nodes[rr].b
			tl, tr := inf, inf
			{
				x0, x1 := nl[0]*ix-oix, nl[3]*ix-oix
				if ix < 0 {
					x0, x1 = x1, x0
				}
				y0, y1 := nl[1]*iy-oiy, nl[4]*iy-oiy
				if iy < 0 {
					y0, y1 = y1, y0
				}
				z0, z1 := nl[2]*iz-oiz, nl[5]*iz-oiz
				if iz < 0 {
					z0, z1 = z1, z0
				}
				if y0 > x0 {
					x0 = y0
				}
				if z0 > x0 {
					x0 = z0
				}
				if y1 < x1 {
					x1 = y1
				}
				if z1 < x1 {
					x1 = z1
				}
				if x0 < 0 {
					x0 = 0
				}
				if tm < x1 {
					x1 = tm
				}
				if x0 <= x1 {
					tl = x0
				}
			}
			{
				x0, x1 := nr[0]*ix-oix, nr[3]*ix-oix
				if ix < 0 {
					x0, x1 = x1, x0
				}
				y0, y1 := nr[1]*iy-oiy, nr[4]*iy-oiy
				if iy < 0 {
					y0, y1 = y1, y0
				}
				z0, z1 := nr[2]*iz-oiz, nr[5]*iz-oiz
				if iz < 0 {
					z0, z1 = z1, z0
				}
				if y0 > x0 {
					x0 = y0
				}
				if z0 > x0 {
					x0 = z0
				}
				if y1 < x1 {
					x1 = y1
				}
				if z1 < x1 {
					x1 = z1
				}
				if x0 < 0 {
					x0 = 0
				}
				if tm < x1 {
					x1 = tm
				}
				if x0 <= x1 {
					tr = x0
				}
			}
			if tl != inf {
				if tr != inf {
					if tr < tl {
						l, rr = rr, l
					}
					stack[sp] = rr
					sp++
				}
				ni = l
				continue
			}
			if tr != inf {
				ni = rr
				continue
			}
		}
		if sp == 0 {
			return t, tri
		}
		sp--
		ni = stack[sp]
	}
}

// hitTri is the Möller–Trumbore test, two-sided, in float64.
func hitTri(r *ray, v0, e1, e2 *vec, tmax float64) (float64, bool) {
	px := r.d.Y*e2.Z - r.d.Z*e2.Y
	py := r.d.Z*e2.X - r.d.X*e2.Z
	pz := r.d.X*e2.Y - r.d.Y*e2.X
	det := e1.X*px + e1.Y*py + e1.Z*pz
	if det > -1e-12 && det < 1e-12 {
		return 0, false
	}
	inv := 1 / det
	sx, sy, sz := r.o.X-v0.X, r.o.Y-v0.Y, r.o.Z-v0.Z
	u := (sx*px + sy*py + sz*pz) * inv
	if u < 0 || u > 1 {
		return 0, false
	}
	qx := sy*e1.Z - sz*e1.Y
	qy := sz*e1.X - sx*e1.Z
	qz := sx*e1.Y - sy*e1.X
	v := (r.d.X*qx + r.d.Y*qy + r.d.Z*qz) * inv
	if v < 0 || u+v > 1 {
		return 0, false
	}
	t := (e2.X*qx + e2.Y*qy + e2.Z*qz) * inv
	if t <= 1e-6 || t >= tmax {
		return 0, false
	}
	return t, true
}

// normal returns triangle i's unit normal.
func (b *bvh) normal(i int32) vec { return b.e1[i].cross(b.e2[i]).unit() }
