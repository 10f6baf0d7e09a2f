package postprocess

import (
	"cmp"
	"math"
	"slices"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// NMS is greedy rotated-BEV non-maximum suppression with reusable
// scratch: after the first call with the largest input, Run allocates
// nothing. The zero value is ready to use; an NMS is not safe for
// concurrent use.
//
// Candidates are found through a uniform grid of box centres whose cell
// is the largest circumscribed diameter, so a kept box only visits the 3×3
// cells around it: O(N + kept·neighbours) instead of O(N·kept).
type NMS struct {
	keys  []uint64 // score key << 32 | index, sorted ascending
	order []int32  // rank → box index
	rects []rect   // by rank
	sup   []bool   // by rank
	cell  []int32  // by rank: grid cell, −1 when the box has no area
	start []int32  // grid CSR: cell c holds ranks ent[start[c]:start[c+1]]
	ent   []int32
	fill  []int32 // per-cell write cursors
}

// Run appends to keep the indices into boxes of the boxes greedy NMS keeps,
// in descending score order, and returns it. A box is suppressed by an
// earlier kept box whose BEV IoU with it is strictly greater than thr.
// With classAware, only boxes of the same ClassID suppress each other.
// Scores are compared as float32 (NaN scores sort last, after −Inf);
// equal scores keep their input order (a stable order, as numpy's
// argsort(kind="stable") and OpenCV's stable_sort).
func (n *NMS) Run(keep []int32, boxes []ds3d.Box3D, thr float64, classAware bool) []int32 {
	return n.run(keep, boxes, thr, classAware, false, 0)
}

// scoreKey maps a float32 score to a uint32 that sorts descending scores
// ascending: larger scores get smaller keys, NaN the largest key.
func scoreKey(s float32) uint32 {
	if s != s {
		return math.MaxUint32
	}
	if s == 0 {
		s = 0 // −0 ties with +0
	}
	b := math.Float32bits(s)
	if b&0x80000000 != 0 {
		b = ^b // negative: flip all bits
	} else {
		b |= 0x80000000
	}
	return ^b // descending
}

// run is Run over the boxes with Score ≥ minScore when filter is set.
func (n *NMS) run(keep []int32, boxes []ds3d.Box3D, thr float64, classAware, filter bool, minScore float32) []int32 {
	if cap(n.order) < len(boxes) {
		c := len(boxes)
		n.keys, n.order, n.rects = make([]uint64, c), make([]int32, c), make([]rect, c)
		n.sup, n.cell, n.ent = make([]bool, c), make([]int32, c), make([]int32, c)
	}
	keys := n.keys[:0]
	for i := range boxes {
		if !filter || boxes[i].Score >= minScore {
			keys = append(keys, uint64(scoreKey(boxes[i].Score))<<32|uint64(i))
		}
	}
	slices.Sort(keys) // unique keys: the index breaks ties, so the order is stable
	N := len(keys)
	order, rects, sup, cells := n.order[:N], n.rects[:N], n.sup[:N], n.cell[:N]
	minX, minY, maxX, maxY, maxR := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1), 0.0
	for k, key := range keys {
		i := int32(key)
		order[k] = i
		r := &rects[k]
		makeRect(r, &boxes[i])
		sup[k] = false
		if r.area > 0 {
			minX, maxX = math.Min(minX, r.cx), math.Max(maxX, r.cx)
			minY, maxY = math.Min(minY, r.cy), math.Max(maxY, r.cy)
			maxR = math.Max(maxR, r.r)
		}
	}
	// grid: cell ≥ the largest diameter, at most ~N cells
	cs := 2 * maxR
	nx, ny := 1, 1
	if N > 0 && maxR > 0 {
		w, h := maxX-minX, maxY-minY
		for {
			fx, fy := math.Floor(w/cs)+1, math.Floor(h/cs)+1
			if fx*fy <= float64(2*N+16) {
				nx, ny = int(fx), int(fy)
				break
			}
			cs *= 2
		}
	}
	if cap(n.start) < nx*ny+1 {
		n.start = make([]int32, nx*ny+1)
	}
	start := n.start[:nx*ny+1]
	clear(start)
	cellOf := func(r *rect) (int, int) {
		return min(int((r.cx-minX)/cs), nx-1), min(int((r.cy-minY)/cs), ny-1)
	}
	for k := range rects {
		cells[k] = -1
		if rects[k].area > 0 {
			cx, cy := cellOf(&rects[k])
			cells[k] = int32(cy*nx + cx)
			start[cells[k]+1]++
		}
	}
	for c := 1; c < len(start); c++ {
		start[c] += start[c-1]
	}
	ent := n.ent[:N]
	if cap(n.fill) < nx*ny {
		n.fill = make([]int32, nx*ny)
	}
	fill := n.fill[:nx*ny]
	copy(fill, start)
	for k := range rects { // ranks ascending inside each cell
		if c := cells[k]; c >= 0 {
			ent[fill[c]] = int32(k)
			fill[c]++
		}
	}
	for k := 0; k < N; k++ {
		if sup[k] {
			continue
		}
		keep = append(keep, order[k])
		if cells[k] < 0 {
			continue
		}
		a := &rects[k]
		ca := boxes[order[k]].ClassID
		gx, gy := int(cells[k])%nx, int(cells[k])/nx
		for y := max(gy-1, 0); y <= min(gy+1, ny-1); y++ {
			for x := max(gx-1, 0); x <= min(gx+1, nx-1); x++ {
				c := y*nx + x
				for _, j := range ent[start[c]:start[c+1]] {
					if int(j) <= k || sup[j] {
						continue
					}
					b := &rects[j]
					dx, dy := a.cx-b.cx, a.cy-b.cy
					if rr := a.r + b.r; dx*dx+dy*dy >= rr*rr {
						continue
					}
					if classAware && boxes[order[j]].ClassID != ca {
						continue
					}
					if i := interArea(a, b); i > 0 && i/(a.area+b.area-i) > thr {
						sup[j] = true
					}
				}
			}
		}
	}
	return keep
}

func nan32(v float32) int {
	if v != v {
		return 1
	}
	return 0
}

// Gather copies boxes[idx[i]] into dst in idx's order and returns it.
func Gather(dst []ds3d.Box3D, boxes []ds3d.Box3D, idx []int32) []ds3d.Box3D {
	for _, i := range idx {
		dst = append(dst, boxes[i])
	}
	return dst
}

// ScoreThreshold compacts boxes in place to those with Score ≥ thr (NaN
// scores are dropped), keeping their order, and returns the shortened slice.
func ScoreThreshold(boxes []ds3d.Box3D, thr float32) []ds3d.Box3D {
	k := 0
	for i := range boxes {
		if boxes[i].Score >= thr {
			boxes[k] = boxes[i]
			k++
		}
	}
	return boxes[:k]
}

// TopK sorts boxes by descending score (stable; NaN last) and returns the
// first k of them (all when k < 0 or k ≥ len(boxes)). It sorts in place.
func TopK(boxes []ds3d.Box3D, k int) []ds3d.Box3D {
	slices.SortStableFunc(boxes, func(a, b ds3d.Box3D) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return cmp.Compare(nan32(a.Score), nan32(b.Score))
	})
	if k >= 0 && k < len(boxes) {
		return boxes[:k]
	}
	return boxes
}

// Suppress runs score threshold, NMS and top-k on boxes in one go: it keeps
// the boxes with Score ≥ scoreThr, runs NMS (thr, classAware), keeps the
// first maxOut (all when maxOut < 0) and appends them to dst in descending
// score order. idx is scratch for the kept indices and is returned for
// reuse.
func (n *NMS) Suppress(dst, boxes []ds3d.Box3D, scoreThr float32, thr float64, classAware bool, maxOut int, idx []int32) ([]ds3d.Box3D, []int32) {
	idx = n.run(idx[:0], boxes, thr, classAware, true, scoreThr)
	if maxOut >= 0 && len(idx) > maxOut {
		idx = idx[:maxOut]
	}
	return Gather(dst, boxes, idx), idx
}

// wrapAngle wraps a to [−π, π).
func wrapAngle(a float64) float64 {
	return a - 2*math.Pi*math.Floor((a+math.Pi)/(2*math.Pi))
}
