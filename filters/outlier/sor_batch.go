package outlier

import (
	"math"
)

// groupSize is the number of queries answered together: one AVX-512 lane
// each.
const groupSize = 16

// sorBatch answers the k+1-nearest-neighbour queries of the tree's own
// points a group at a time: the candidates are gathered once per group
// (the leaves meeting the group's bounding box grown by a radius guessed
// from the previous group) and every candidate is compared with the
// group's 16 queries at once (scanGroup). Each lane starts with the bound
// T = s²·(1−1e-5), s its distance to the outside of the gathered box: a
// point with a float32 squared distance below T is inside the box, so a
// lane that finds k points below T holds exactly the k nearest (ties
// only swap equal values). A lane that does not is redone with the exact
// tree search. The query itself (distance 0) is masked out of the scan
// and stands for the first of the k+1 neighbours, as in the tree search
// an exact duplicate of it counts as a neighbour at distance 0.
type sorBatch struct {
	ranges []int32
	near   []float32 // fallback search list
	stack  []int32
	d      []float32 // groupSize lanes × stride sorted squared distances
	q      [3][groupSize]float32
	w      [groupSize]float32 // each lane's k-th distance so far
	t      [groupSize]float32 // each lane's starting bound T
	rad    [groupSize]float32
	mean   [groupSize]float32
	guess  float32

	Fallbacks, Candidates int // statistics for tuning and tests
}

// laneStride is the length of a lane's sorted list: one 16-wide vector
// when k ≤ 16 (values after the k-th are ≥ it and ignored).
func laneStride(k int) int { return max(k, 16) }

// run computes dist for the groups listed in groups (pairs lo, hi).
func (b *sorBatch) run(t *mortonTree, dist []float32, k int, groups []int32) {
	ls := laneStride(k)
	if cap(b.d) < groupSize*ls {
		b.d = make([]float32, groupSize*ls)
	}
	d := b.d[:groupSize*ls]
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	b.Fallbacks, b.Candidates = 0, 0
	b.guess = 0
	for g := 0; g+1 < len(groups); g += 2 {
		lo, hi := int(groups[g]), int(groups[g+1])
		m := hi - lo
		bmin := [3]float32{inf, inf, inf}
		bmax := [3]float32{-inf, -inf, -inf}
		for j := 0; j < groupSize; j++ {
			if j >= m {
				// a NaN query is never closer than anything: padding lanes take nothing
				b.q[0][j], b.q[1][j], b.q[2][j] = nan, nan, nan
				continue
			}
			p := t.pts[3*(lo+j) : 3*(lo+j)+3]
			for a := 0; a < 3; a++ {
				b.q[a][j] = p[a]
				bmin[a] = min(bmin[a], p[a])
				bmax[a] = max(bmax[a], p[a])
			}
		}
		r := b.guess
		if !(r > 0) {
			// no guess yet (or the last group was all duplicates): the group's own extent
			r = max(bmax[0]-bmin[0], bmax[1]-bmin[1], bmax[2]-bmin[2])
		}
		for a := 0; a < 3; a++ {
			bmin[a] -= r
			bmax[a] += r
		}
		// the group's own points first (self masked), then the other leaves
		b.ranges = append(b.ranges[:0], int32(lo), int32(hi))
		b.ranges, b.stack = t.boxRanges(b.ranges, b.stack, bmin, bmax, int32(lo), int32(hi))
		for j := 0; j < groupSize; j++ {
			bound := float32(0)
			if j < m {
				// Every point outside the box is farther than s on some axis,
				// so its float32 squared distance is at least s² up to a few
				// roundings: the margin keeps the proof exact.
				s := math.Inf(1)
				for a := 0; a < 3; a++ {
					qa := float64(b.q[a][j])
					if v := qa - float64(bmin[a]); v < s {
						s = v
					}
					if v := float64(bmax[a]) - qa; v < s {
						s = v
					}
				}
				bound = float32(s * s * (1 - 1e-5))
			}
			b.w[j], b.t[j] = bound, bound
			dj := d[j*ls : j*ls+ls]
			for i := range dj {
				dj[i] = bound
			}
		}
		b.Candidates += scanGroup(t.pts, b.ranges, &b.q, d, ls, k, &b.w)
		for j := 0; j < m; j++ {
			dj := d[j*ls : j*ls+k]
			// real neighbours are strictly below the bound they started from
			if !(dj[k-1] < b.t[j]) {
				if cap(b.near) < k+1 {
					b.near = make([]float32, k+1)
				}
				nl := b.near[:k+1]
				for i := range nl {
					nl[i] = inf
				}
				t.nearest(nl, b.q[0][j], b.q[1][j], b.q[2][j])
				copy(dj, nl[1:]) // nl[0] is the point itself (0)
				b.Fallbacks++
			}
			b.rad[j] = dj[k-1]
		}
		laneMeans(d, ls, k, m, &b.mean)
		for j := 0; j < m; j++ {
			dist[t.idx[lo+j]] = b.mean[j]
		}
		b.guess = guessRadius(b.rad[:m])
	}
}

// guessRadius is the next group's search radius from this group's k-th
// squared distances: 1.5 × the largest distance. Neighbouring groups have
// similar densities; a short guess costs an exact tree search per lane
// that falls outside (~1.5 µs), a long one more candidates (~5 ns each per
// group). 1.5 measured best on KITTI (2.4 % of the points fall back).
func guessRadius(r2 []float32) float32 {
	q := float32(0)
	for _, v := range r2 {
		q = max(q, v)
	}
	return float32(math.Sqrt(float64(q))) * 1.5
}

// laneMeansScalar is laneMeans without vectors.
func laneMeansScalar(d []float32, ls, k, m int, out *[groupSize]float32) {
	for j := 0; j < m; j++ {
		var ds float64
		for _, d2 := range d[j*ls : j*ls+k] {
			ds += float64(float32(math.Sqrt(float64(d2))))
		}
		out[j] = float32(ds / float64(k))
	}
}

// insertSorted puts v into the ascending list d, dropping its last value;
// the caller checked v < d[len(d)-1].
func insertSorted(d []float32, v float32) {
	n := len(d) - 1
	for n > 0 && d[n-1] > v {
		d[n] = d[n-1]
		n--
	}
	d[n] = v
}

// scanGroupScalar is scanGroup without vectors (the same float32
// arithmetic, the same lists).
func scanGroupScalar(pts []float32, ranges []int32, q *[3][groupSize]float32, d []float32, ls, k int, w *[groupSize]float32) int {
	n := 0
	self := int(ranges[0])
	lanes := 0 // padding lanes (NaN queries) take nothing: skip them
	for lanes < groupSize && q[0][lanes] == q[0][lanes] {
		lanes++
	}
	for r := 0; r+1 < len(ranges); r += 2 {
		a, e := int(ranges[r]), int(ranges[r+1])
		n += e - a
		for i := a; i < e; i++ {
			px, py, pz := pts[3*i], pts[3*i+1], pts[3*i+2]
			for j := 0; j < lanes; j++ {
				if r == 0 && i-self == j {
					continue
				}
				v := sqDist(q[0][j], q[1][j], q[2][j], px, py, pz)
				if v < w[j] {
					dj := d[j*ls : j*ls+k]
					insertSorted(dj, v)
					w[j] = dj[k-1]
				}
			}
		}
	}
	return n
}
