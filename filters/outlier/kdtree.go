package outlier

import (
	"math"
)

// KDTree is a 3D k-d tree over float32 points for exact k-nearest-neighbour
// and radius queries (Bentley, "Multidimensional binary search trees used
// for associative searching", CACM 18(9), 1975; Friedman, Bentley and
// Finkel, ACM TOMS 3(3), 1977). Each node splits its points at the median
// along the axis of largest extent of its points; leaves hold at most leafSize points. Searches prune a subtree by
// the squared distance from the query to its cell (Arya and Mount's
// incremental distance, as nanoflann). The
// points are copied in tree order so a leaf scan is a contiguous read.
//
// Squared distances are computed in float32 as FLANN's L2_Simple (the
// metric under PCL's KdTreeFLANN): ((dx·dx + dy·dy) + dz·dz), each
// product rounded to float32 (no fused multiply-add), so neighbour
// distances equal PCL's bit for bit.
//
// Build reuses the tree's buffers: a tree rebuilt for every frame of a
// stream allocates nothing once it has seen the largest frame. A built
// tree is read-only and safe for concurrent queries.
type KDTree struct {
	pts   []float32 // xyz in tree order
	idx   []int32   // tree order → caller's point index
	nodes []kdNode
	stack []buildItem
}

type kdNode struct {
	split float32
	dim   int32 // −1: leaf
	a, b  int32 // inner: children; leaf: [a, b) in tree order
}

type buildItem struct{ node, lo, hi int32 }

const leafSize = 10

// Len is the number of points in the tree.
func (t *KDTree) Len() int { return len(t.idx) }

// Index returns the caller's index of the point at tree position i.
func (t *KDTree) Index(i int) int32 { return t.idx[i] }

// Point returns the coordinates of the point at tree position i.
func (t *KDTree) Point(i int) (x, y, z float32) {
	return t.pts[3*i], t.pts[3*i+1], t.pts[3*i+2]
}

// Build builds the tree over the points of xyz (stride values per point,
// x, y, z first) whose indices are listed in sel, or over every point when
// sel is nil. Points with a non-finite coordinate must not be listed.
func (t *KDTree) Build(xyz []float32, stride int, sel []int32) {
	n := len(sel)
	if sel == nil {
		n = len(xyz) / stride
	}
	if cap(t.idx) < n {
		t.idx = make([]int32, n)
		t.pts = make([]float32, 3*n)
	}
	t.idx, t.pts = t.idx[:n], t.pts[:3*n]
	if sel != nil {
		copy(t.idx, sel)
	} else {
		for i := range t.idx {
			t.idx[i] = int32(i)
		}
	}
	// Sort keys by the split coordinate live in pts (copied per point), so
	// quickselect swaps move 3 floats and an index together.
	for i, j := range t.idx {
		p := xyz[int(j)*stride:]
		t.pts[3*i], t.pts[3*i+1], t.pts[3*i+2] = p[0], p[1], p[2]
	}
	t.nodes = t.nodes[:0]
	if n == 0 {
		return
	}
	t.nodes = append(t.nodes, kdNode{})
	t.stack = append(t.stack[:0], buildItem{0, 0, int32(n)})
	for len(t.stack) > 0 {
		it := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		lo, hi := int(it.lo), int(it.hi)
		// bounding box of the node's points
		p := t.pts[3*lo : 3*hi]
		lx, ly, lz := p[0], p[1], p[2]
		hx, hy, hz := lx, ly, lz
		for i := 3; i+2 < len(p); i += 3 {
			x, y, z := p[i], p[i+1], p[i+2]
			if x < lx {
				lx = x
			}
			if x > hx {
				hx = x
			}
			if y < ly {
				ly = y
			}
			if y > hy {
				hy = y
			}
			if z < lz {
				lz = z
			}
			if z > hz {
				hz = z
			}
		}
		if hi-lo <= leafSize {
			t.nodes[it.node] = kdNode{dim: -1, a: it.lo, b: it.hi}
			continue
		}
		mn, mx := [3]float32{lx, ly, lz}, [3]float32{hx, hy, hz}
		dim := 0
		for d := 1; d < 3; d++ {
			if mx[d]-mn[d] > mx[dim]-mn[dim] {
				dim = d
			}
		}
		mid := (lo + hi) / 2
		t.selectNth(lo, hi, mid, dim)
		split := t.pts[3*mid+dim]
		left := int32(len(t.nodes))
		t.nodes = append(t.nodes, kdNode{}, kdNode{})
		t.nodes[it.node] = kdNode{dim: int32(dim), split: split, a: left, b: left + 1}
		t.stack = append(t.stack, buildItem{left, int32(lo), int32(mid)}, buildItem{left + 1, int32(mid), int32(hi)})
	}
}

func (t *KDTree) swap(i, j int) {
	p := t.pts
	p[3*i], p[3*j] = p[3*j], p[3*i]
	p[3*i+1], p[3*j+1] = p[3*j+1], p[3*i+1]
	p[3*i+2], p[3*j+2] = p[3*j+2], p[3*i+2]
	t.idx[i], t.idx[j] = t.idx[j], t.idx[i]
}

// selectNth rearranges [lo, hi) so that position k holds the value it
// would hold sorted on dim, smaller-or-equal values before it and
// greater-or-equal after (Hoare's quickselect, median-of-three pivot).
func (t *KDTree) selectNth(lo, hi, k, dim int) {
	p := t.pts
	hi--
	for hi > lo {
		m := lo + (hi-lo)/2
		if p[3*m+dim] < p[3*lo+dim] {
			t.swap(m, lo)
		}
		if p[3*hi+dim] < p[3*lo+dim] {
			t.swap(hi, lo)
		}
		if p[3*hi+dim] < p[3*m+dim] {
			t.swap(hi, m)
		}
		pivot := p[3*m+dim]
		i, j := lo, hi
		for i <= j {
			for p[3*i+dim] < pivot {
				i++
			}
			for p[3*j+dim] > pivot {
				j--
			}
			if i <= j {
				t.swap(i, j)
				i++
				j--
			}
		}
		if k <= j {
			hi = j
		} else if k >= i {
			lo = i
		} else {
			return
		}
	}
}

// sqDist is FLANN's L2_Simple in float32 (see KDTree).
func sqDist(ax, ay, az, bx, by, bz float32) float32 {
	dx, dy, dz := ax-bx, ay-by, az-bz
	return float32(float32(float32(dx*dx)+float32(dy*dy)) + float32(dz*dz))
}

// KNN holds the results of one k-nearest-neighbour query: the squared
// distances in ascending order and the tree positions of the neighbours.
// Its buffers are reused from query to query.
type KNN struct {
	D   []float32
	Pos []int32

	k       int
	worst   float32 // prune: squared distance no result may exceed
	bound   float32 // caller's upper bound on the k-th distance
	x, y, z float32
	pts     []float32
	nodes   []kdNode
}

func (r *KNN) reset(t *KDTree, k int, x, y, z, bound float32) {
	if cap(r.D) < k {
		r.D, r.Pos = make([]float32, 0, k), make([]int32, 0, k)
	}
	r.D, r.Pos, r.k, r.bound, r.worst = r.D[:0], r.Pos[:0], k, bound, bound
	r.x, r.y, r.z, r.pts, r.nodes = x, y, z, t.pts, t.nodes
}

// add inserts a result; the caller checked d ≤ r.worst.
func (r *KNN) add(d float32, pos int32) {
	D, P := r.D, r.Pos
	n := len(D)
	if n < r.k {
		D, P = D[:n+1], P[:n+1]
		r.D, r.Pos = D, P
	} else {
		n--
	}
	// insertion: shift larger ones right (stable for equal distances)
	for n > 0 && D[n-1] > d {
		D[n], P[n] = D[n-1], P[n-1]
		n--
	}
	D[n], P[n] = d, pos
	if len(D) == r.k {
		r.worst = min(D[len(D)-1], r.bound)
	}
}

// NearestBounded is Nearest given an upper bound on the squared distance
// of the k-th nearest point (for instance the largest squared distance to
// k points known to be in the tree): the search prunes with it from the
// start. A bound below the true k-th distance loses neighbours.
func (t *KDTree) NearestBounded(r *KNN, x, y, z float32, k int, bound float32) {
	r.reset(t, k, x, y, z, bound)
	if len(t.nodes) == 0 || k <= 0 {
		return
	}
	var off [3]float32
	r.search(0, 0, &off)
	r.pts, r.nodes = nil, nil
}

// Nearest finds the k points nearest to (x, y, z) (fewer when the tree is
// smaller), the query point itself included if it is in the tree, and
// stores them in r.
func (t *KDTree) Nearest(r *KNN, x, y, z float32, k int) {
	t.NearestBounded(r, x, y, z, k, float32(math.Inf(1)))
}

// search visits node n; off holds the per-axis distance from the query to
// n's cell (0 inside) and md = Σ off² its squared distance (Arya and
// Mount's incremental distance, as in nanoflann). A point is taken when
// its squared distance is < worst, or = worst while fewer than k are held.
func (r *KNN) search(n int32, md float32, off *[3]float32) {
	nd := &r.nodes[n]
	if nd.dim < 0 {
		lp := r.pts[3*nd.a : 3*nd.b]
		x, y, z := r.x, r.y, r.z
		w, full := r.worst, len(r.D) == r.k
		for j := 0; j+3 <= len(lp); j += 3 {
			q := (*[3]float32)(lp[j : j+3])
			d := sqDist(x, y, z, q[0], q[1], q[2])
			if d < w || (d == w && !full) {
				r.add(d, nd.a+int32(j/3))
				w, full = r.worst, len(r.D) == r.k
			}
		}
		return
	}
	var q float32
	switch nd.dim {
	case 0:
		q = r.x
	case 1:
		q = r.y
	default:
		q = r.z
	}
	diff := q - nd.split
	near, far := nd.a, nd.b
	if diff > 0 {
		near, far = far, near
	}
	r.search(near, md, off)
	old := off[nd.dim]
	fmd := md - old*old + diff*diff
	// fmd bounds the squared distance of every point of the far cell
	// from below up to rounding: prune with a relative margin so that
	// rounding never drops a true neighbour.
	if fmd*(1-1e-5) > r.worst {
		return
	}
	off[nd.dim] = diff
	r.search(far, fmd, off)
	off[nd.dim] = old
}

// CountWithin returns the number of tree points whose squared distance
// to (x, y, z) is ≤ r2, stopping early once it reaches limit (limit ≤ 0:
// no limit).
func (t *KDTree) CountWithin(x, y, z, r2 float32, limit int) int {
	if len(t.nodes) == 0 {
		return 0
	}
	c := 0
	t.count(0, x, y, z, r2, limit, &c)
	return c
}

func (t *KDTree) count(n int32, x, y, z, r2 float32, limit int, c *int) {
	for {
		if limit > 0 && *c >= limit {
			return
		}
		nd := &t.nodes[n]
		if nd.dim < 0 {
			p := t.pts
			for i := nd.a; i < nd.b; i++ {
				if sqDist(x, y, z, p[3*i], p[3*i+1], p[3*i+2]) <= r2 {
					*c++
				}
			}
			return
		}
		var q float32
		switch nd.dim {
		case 0:
			q = x
		case 1:
			q = y
		default:
			q = z
		}
		diff := q - nd.split
		near, far := nd.a, nd.b
		if diff > 0 {
			near, far = far, near
		}
		t.count(near, x, y, z, r2, limit, c)
		if diff*diff > r2 {
			return
		}
		n = far
	}
}
