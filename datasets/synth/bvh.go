package synth

import (
	"cmp"
	"math"
	"slices"
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
	tris := b.begin(m, scratch)
	if len(tris) > 0 {
		b.split(0, tris, 0)
	}
	b.finish(m, tris)
	return tris
}

// bvhGroup is a contiguous range of a mesh's triangles (one object's)
// that buildGroups keeps in a subtree of its own.
type bvhGroup struct {
	lo, hi int32
	// cx, cy and r are the xy circle around the group's triangles; the
	// top of the tree orders groups by their centres.
	cx, cy, r float64
	// root is the group's subtree root, set by buildGroups.
	root int32
}

// buildGroups is build with the top of the tree over groups (non-empty
// triangle ranges of m that cover it in order): each group gets a subtree
// of its own, whose root it records. A ray that is known to reach only
// some groups starts at their roots instead of descending the top levels,
// whose boxes are wide and overlap around a sensor inside the traffic.
// groups is reordered.
func (b *bvh) buildGroups(m *mesh, groups []bvhGroup, scratch []buildTri) []buildTri {
	tris := b.begin(m, scratch)
	if len(groups) > 0 {
		b.splitGroups(0, groups, tris)
	}
	b.finish(m, tris)
	return tris
}

func (b *bvh) begin(m *mesh, scratch []buildTri) []buildTri {
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
	return tris
}

// finish stores the triangles in the BVH's leaf order.
func (b *bvh) finish(m *mesh, tris []buildTri) {
	n := len(tris)
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
}

// splitGroups fills node ni with groups: one group's subtree, or two
// children over the halves of the groups ordered along x or y (whichever
// their centres spread more along).
func (b *bvh) splitGroups(ni int, g []bvhGroup, tris []buildTri) {
	if len(g) == 1 {
		g[0].root = int32(ni)
		b.split(ni, tris[g[0].lo:g[0].hi], int(g[0].lo))
		return
	}
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := range g {
		x0, x1 = math.Min(x0, g[i].cx), math.Max(x1, g[i].cx)
		y0, y1 = math.Min(y0, g[i].cy), math.Max(y1, g[i].cy)
	}
	if x1-x0 >= y1-y0 {
		slices.SortStableFunc(g, func(p, q bvhGroup) int { return cmp.Compare(p.cx, q.cx) })
	} else {
		slices.SortStableFunc(g, func(p, q bvhGroup) int { return cmp.Compare(p.cy, q.cy) })
	}
	mid := len(g) / 2
	left := len(b.nodes)
	b.nodes = append(b.nodes, bvhNode{}, bvhNode{})
	b.splitGroups(left, g[:mid], tris)
	b.splitGroups(left+1, g[mid:], tris)
	l, r := &b.nodes[left].b, &b.nodes[left+1].b
	nd := &b.nodes[ni]
	for k := 0; k < 3; k++ {
		nd.b[k], nd.b[k+3] = min(l[k], r[k]), max(l[k+3], r[k+3])
	}
	nd.first, nd.count = int32(left), 0
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
	// stack is the traversal stack, kept here so that a ray reused by a
	// caller does not zero one per search.
	stack [64]int32
}

func newRay(o, d vec) ray {
	var r ray
	r.set(o, d)
	return r
}

// set fills r in place: building the struct and copying it out costs a
// store-forwarding stall per ray.
func (r *ray) set(o, d vec) {
	r.o, r.d = o, d
	r.ix, r.iy, r.iz = invDir(d.X), invDir(d.Y), invDir(d.Z)
	r.oix, r.oiy, r.oiz = float32(o.X)*r.ix, float32(o.Y)*r.iy, float32(o.Z)*r.iz
}

// invDir is 1/v in float32; for v = 0 a huge finite value rather than
// +Inf keeps 0·inv out of the slab test (it would be NaN).
func invDir(v float64) float32 {
	if v == 0 {
		return float32(math.Copysign(1e30, v))
	}
	return float32(1 / v)
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
	return b.intersectAt(r, tmax, 0)
}

// intersectAt is intersect within the subtree at node root.
func (b *bvh) intersectAt(r *ray, tmax float64, root int32) (t float64, tri int32) {
	tri = -1
	t = tmax
	if len(b.nodes) == 0 || len(b.mat) == 0 {
		return t, tri
	}
	stack := &r.stack
	sp := 0
	ni := root
	if r.slab(&b.nodes[root], float32(t)) == float32(math.Inf(1)) {
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
