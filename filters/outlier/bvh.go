package outlier

import (
	"math"
	"math/bits"
)

// mortonTree is the search structure of the grouped SOR search: the
// points sorted along a Morton (Z-order) curve by an LSD radix sort on the
// interleaved bits of their quantised coordinates, and a binary hierarchy
// over that order that splits a range where its highest Morton bit
// changes (Lauterbach et al., "Fast BVH construction on GPUs", 2009), each
// node with the bounding box of its points. It builds in linear time —
// no per-level median selection as in a k-d tree — and every subtree is a
// contiguous run of points. Searches prune with the bounding boxes only,
// so the quantisation never decides a result: distances are the float32
// sqDist of the original coordinates.
type mortonTree struct {
	pts   []float32 // xyz in curve order
	idx   []int32   // curve order → caller's point index
	keys  []uint64  // Morton code << idxBits | input position
	tmp   []uint64
	hist  []int
	nodes []mortonNode
	box   [][6]float32 // per node: min x, y, z, max x, y, z of its points
	stack []int32
}

// mortonNode covers curve positions [lo, hi); l and r are its children,
// −1 for a leaf.
type mortonNode struct {
	lo, hi, l, r int32
}

// mortonLeaf is the most points a leaf holds: one group of the batched
// search.
const mortonLeaf = groupSize

// Len is the number of points in the tree.
func (t *mortonTree) Len() int { return len(t.idx) }

// build sorts the points of xyz (stride values each, x, y, z first) listed
// in sel along the curve and builds the hierarchy. Listed points must be
// finite.
func (t *mortonTree) build(xyz []float32, stride int, sel []int32) {
	n := len(sel)
	t.nodes, t.box = t.nodes[:0], t.box[:0]
	if cap(t.idx) < n {
		t.idx = make([]int32, n)
		t.pts = make([]float32, 3*n)
		t.keys = make([]uint64, n)
		t.tmp = make([]uint64, n)
	}
	t.idx, t.pts, t.keys, t.tmp = t.idx[:n], t.pts[:3*n], t.keys[:n], t.tmp[:n]
	if n == 0 {
		return
	}
	lo := [3]float32{float32(math.Inf(1)), float32(math.Inf(1)), float32(math.Inf(1))}
	hi := [3]float32{float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
	for _, j := range sel {
		p := xyz[int(j)*stride : int(j)*stride+3]
		for a := 0; a < 3; a++ {
			lo[a] = min(lo[a], p[a])
			hi[a] = max(hi[a], p[a])
		}
	}
	// One cubic cell size for all axes keeps the curve's halving splits
	// roughly cubic. float64: finite float32 extents cannot overflow.
	ext := 0.0
	for a := 0; a < 3; a++ {
		ext = max(ext, float64(hi[a])-float64(lo[a]))
	}
	idxBits := uint(bits.Len(uint(n)))
	axisBits := min((64-idxBits)/3, 14) // 3·14 bits: four 11-bit radix passes
	cells := float64(uint64(1) << axisBits)
	scale := 0.0
	if ext > 0 {
		scale = (cells - 1) / ext
	}
	for i, j := range sel {
		p := xyz[int(j)*stride : int(j)*stride+3]
		var code uint64
		for a := 0; a < 3; a++ {
			c := min(uint64((float64(p[a])-float64(lo[a]))*scale), uint64(cells-1))
			code |= spread3(c) << uint(a)
		}
		t.keys[i] = code<<idxBits | uint64(i)
	}
	keys := t.radixSort(t.keys, t.tmp, idxBits, 3*axisBits)
	imask := uint64(1)<<idxBits - 1
	for i, key := range keys {
		j := sel[key&imask]
		t.idx[i] = j
		p := xyz[int(j)*stride:]
		t.pts[3*i], t.pts[3*i+1], t.pts[3*i+2] = p[0], p[1], p[2]
	}
	// hierarchy: split at the first position where the highest differing
	// code bit of the range is set
	t.nodes = append(t.nodes, mortonNode{0, int32(n), -1, -1})
	t.stack = append(t.stack[:0], 0)
	for len(t.stack) > 0 {
		ni := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		nd := t.nodes[ni]
		if nd.hi-nd.lo <= mortonLeaf {
			continue
		}
		a, b := int(nd.lo), int(nd.hi)
		diff := (keys[a] ^ keys[b-1]) >> idxBits
		var mid int
		if diff == 0 || b-a <= 2*mortonLeaf {
			// equal codes, or two leaves' worth: halve, so leaves hold
			// 9 to 16 points and groups use most lanes
			mid = (a + b) / 2
		} else {
			bit := uint64(1) << (uint(bits.Len64(diff)-1) + idxBits)
			// keys in [a, b) share the bits above bit: it is 0 then 1
			l, h := a+1, b-1
			for l < h {
				m := int(uint(l+h) >> 1)
				if keys[m]&bit != 0 {
					h = m
				} else {
					l = m + 1
				}
			}
			mid = l
		}
		l := int32(len(t.nodes))
		t.nodes = append(t.nodes, mortonNode{nd.lo, int32(mid), -1, -1}, mortonNode{int32(mid), nd.hi, -1, -1})
		t.nodes[ni].l, t.nodes[ni].r = l, l+1
		// right pushed first: left subtrees are numbered first (curve order)
		t.stack = append(t.stack, l+1, l)
	}
	// boxes bottom-up: children come after their parent
	if cap(t.box) < len(t.nodes) {
		t.box = make([][6]float32, len(t.nodes))
	}
	t.box = t.box[:len(t.nodes)]
	for ni := len(t.nodes) - 1; ni >= 0; ni-- {
		nd := &t.nodes[ni]
		bx := &t.box[ni]
		if nd.l < 0 {
			p := t.pts[3*nd.lo : 3*nd.hi]
			*bx = [6]float32{p[0], p[1], p[2], p[0], p[1], p[2]}
			for i := 3; i+2 < len(p); i += 3 {
				bx[0], bx[1], bx[2] = min(bx[0], p[i]), min(bx[1], p[i+1]), min(bx[2], p[i+2])
				bx[3], bx[4], bx[5] = max(bx[3], p[i]), max(bx[4], p[i+1]), max(bx[5], p[i+2])
			}
			continue
		}
		l, r := &t.box[nd.l], &t.box[nd.r]
		*bx = [6]float32{min(l[0], r[0]), min(l[1], r[1]), min(l[2], r[2]), max(l[3], r[3]), max(l[4], r[4]), max(l[5], r[5])}
	}
}

// spread3 moves bit i of v (16 bits) to bit 3i.
func spread3(v uint64) uint64 {
	v &= 0xffff
	v = (v | v<<16) & 0x0000_ff00_00ff
	v = (v | v<<8) & 0x00f0_0f00_f00f
	v = (v | v<<4) & 0x0c30_c30c_30c3
	v = (v | v<<2) & 0x2492_4924_9249
	return v
}

// radixSort sorts keys by bits [lo, lo+nbits) (stable LSD, ≤ 11-bit
// digits) and returns the sorted slice (keys or tmp).
func (t *mortonTree) radixSort(keys, tmp []uint64, lo, nbits uint) []uint64 {
	if nbits == 0 || len(keys) < 2 {
		return keys
	}
	passes := (nbits + 10) / 11
	width := (nbits + passes - 1) / passes
	buckets := 1 << width
	if cap(t.hist) < int(passes)*buckets {
		t.hist = make([]int, int(passes)*buckets)
	}
	hist := t.hist[:int(passes)*buckets]
	clear(hist)
	dmask := uint64(buckets - 1)
	for _, k := range keys {
		k >>= lo
		for ps := uint(0); ps < passes; ps++ {
			hist[int(ps)*buckets+int(k>>(ps*width)&dmask)]++
		}
	}
	for ps := uint(0); ps < passes; ps++ {
		h := hist[int(ps)*buckets : int(ps+1)*buckets]
		// a digit all keys share moves nothing
		if h[keys[0]>>(lo+ps*width)&dmask] == len(keys) {
			continue
		}
		sum := 0
		for i, x := range h {
			h[i] = sum
			sum += x
		}
		shift := lo + ps*width
		for _, k := range keys {
			b := int(k >> shift & dmask)
			tmp[h[b]] = k
			h[b]++
		}
		keys, tmp = tmp, keys
	}
	return keys
}

// groups appends the query groups (pairs lo, hi) in curve order:
// consecutive leaves joined while they fit in groupSize points and stay
// compact (the joined box no wider than twice the wider part), so that
// the 16 lanes are mostly used.
func (t *mortonTree) groups(dst []int32) []int32 {
	glo, ghi := int32(-1), int32(-1)
	var gb [6]float32
	for i := range t.nodes {
		nd := &t.nodes[i]
		if nd.l >= 0 {
			continue
		}
		b := t.box[i]
		if glo >= 0 && nd.hi-glo <= groupSize && nd.lo == ghi {
			u := [6]float32{min(gb[0], b[0]), min(gb[1], b[1]), min(gb[2], b[2]), max(gb[3], b[3]), max(gb[4], b[4]), max(gb[5], b[5])}
			if extent(&u) <= 2*max(extent(&gb), extent(&b)) {
				ghi, gb = nd.hi, u
				continue
			}
		}
		if glo >= 0 {
			dst = append(dst, glo, ghi)
		}
		glo, ghi, gb = nd.lo, nd.hi, b
	}
	if glo >= 0 {
		dst = append(dst, glo, ghi)
	}
	return dst
}

// extent is the longest side of a box.
func extent(b *[6]float32) float32 { return max(b[3]-b[0], b[4]-b[1], b[5]-b[2]) }

// boxRanges appends the [a, b) ranges of curve positions that hold every
// point inside the box [lo, hi]: subtrees whose bounding box misses the
// box are skipped, subtrees inside it are taken whole. The range
// [xlo, xhi), a leaf, is left out.
func (t *mortonTree) boxRanges(dst, stack []int32, lo, hi [3]float32, xlo, xhi int32) ([]int32, []int32) {
	if len(t.nodes) == 0 {
		return dst, stack
	}
	base := len(dst)
	stack = append(stack[:0], 0)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		bx := &t.box[n]
		if bx[0] > hi[0] || bx[1] > hi[1] || bx[2] > hi[2] || bx[3] < lo[0] || bx[4] < lo[1] || bx[5] < lo[2] {
			continue
		}
		nd := &t.nodes[n]
		if nd.lo >= xlo && nd.hi <= xhi {
			continue
		}
		inside := bx[0] >= lo[0] && bx[1] >= lo[1] && bx[2] >= lo[2] && bx[3] <= hi[0] && bx[4] <= hi[1] && bx[5] <= hi[2]
		if nd.l < 0 || (inside && (nd.hi <= xlo || nd.lo >= xhi)) {
			if l := len(dst); l > base && dst[l-1] == nd.lo {
				dst[l-1] = nd.hi
			} else {
				dst = append(dst, nd.lo, nd.hi)
			}
			continue
		}
		stack = append(stack, nd.r, nd.l)
	}
	return dst, stack
}

// boxDist2 is a lower bound of the squared distance from (x, y, z) to any
// point of box b, in float64.
func boxDist2(b *[6]float32, x, y, z float32) float64 {
	q := [3]float64{float64(x), float64(y), float64(z)}
	s := 0.0
	for a := 0; a < 3; a++ {
		if d := float64(b[a]) - q[a]; d > 0 {
			s += d * d
		} else if d := q[a] - float64(b[a+3]); d > 0 {
			s += d * d
		}
	}
	return s
}

// nearest fills d (ascending, len k1, preset to +Inf or to known upper
// bounds that real points will replace) with the k1 smallest float32
// squared distances from (x, y, z) to the tree's points.
func (t *mortonTree) nearest(d []float32, x, y, z float32) {
	if len(t.nodes) > 0 {
		t.near(0, d, x, y, z)
	}
}

func (t *mortonTree) near(n int32, d []float32, x, y, z float32) {
	for {
		nd := &t.nodes[n]
		if nd.l < 0 {
			p := t.pts[3*nd.lo : 3*nd.hi]
			k := len(d) - 1
			for i := 0; i+2 < len(p); i += 3 {
				if v := sqDist(x, y, z, p[i], p[i+1], p[i+2]); v < d[k] {
					insertSorted(d, v)
				}
			}
			return
		}
		a, b := nd.l, nd.r
		da, db := boxDist2(&t.box[a], x, y, z), boxDist2(&t.box[b], x, y, z)
		if db < da {
			a, b, da, db = b, a, db, da
		}
		// float32 distances of points in a box are ≥ its float64 bound up
		// to rounding: the margin keeps every true neighbour
		if da*(1-1e-5) > float64(d[len(d)-1]) {
			return
		}
		t.near(a, d, x, y, z)
		if db*(1-1e-5) > float64(d[len(d)-1]) {
			return
		}
		n = b
	}
}
