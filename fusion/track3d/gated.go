package track3d

import (
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/track/assign"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// gated solves one class group's association without the dense matrix.
// Track predictions go into a hash grid of gate-sized BEV cells, so each
// detection costs only the tracks of its 3×3 cells; the pairs within the
// gate form a bipartite graph whose connected components (union-find) are
// independent problems. The assignment solver makes as many allowed pairs
// as possible and, among those, has the least total cost; both the count
// and the cost are sums over components, so solving each component alone
// gives the full solve's optimum (only ties between equal-cost matchings
// could resolve differently). A component of one pair is matched directly.
// A scene of separated objects then costs O(n + m) instead of O(n²·m).
type gated struct {
	slot   []int32  // hash slot → first row of the cell, −1 empty
	shift  uint     // 64 − log2(len(slot))
	key    []uint64 // hash slot → cell key
	next   []int32  // row → next row in the same cell, −1 last
	pairs  []pair
	parent []int32 // union-find over rows then columns
	comp   []int32 // component per root, −1 none
	local  []int32 // row or column → index within its component
	nRows  []int32 // per component: rows, columns, pairs, offset in sub
	nCols  []int32
	nPairs []int32
	first  []int32 // per component: one pair, for the single-pair case
	subOff []int
	rowsOf []int32 // rows of each component, ascending: rowsOf[rowAt[k]:]
	colsOf []int32
	rowAt  []int32
	colAt  []int32
	sub    []float64
	subR2C []int
	asg    assign.Solver
}

type pair struct {
	row, col int32
	d2       float64
}

// cellLimit clamps cell indices so that far-off (or huge) coordinates stay
// in range; clamping is monotone, so pairs within the gate still lie in
// neighbouring cells.
const cellLimit = 1 << 30

func cellOf(v, inv float64) int64 {
	c := math.Floor(v * inv)
	return int64(max(-cellLimit, min(cellLimit, c)))
}

func cellKey(cx, cy int64) uint64 { return uint64(uint32(cx))<<32 | uint64(uint32(cy)) }

func (g *gated) lookup(key uint64) int32 {
	// Fibonacci hashing: the product's top bits depend on every key bit.
	mask := uint64(len(g.slot) - 1)
	for h := (key * 0x9E3779B97F4A7C15) >> g.shift; ; h = (h + 1) & mask {
		if g.slot[h] < 0 || g.key[h] == key {
			return int32(h)
		}
	}
}

func (g *gated) find(i int32) int32 {
	for g.parent[i] != i {
		g.parent[i] = g.parent[g.parent[i]]
		i = g.parent[i]
	}
	return i
}

// solve writes, for every row of t.rows, its column in t.dets or −1.
func (g *gated) solve(t *Tracker, dets []ds3d.Box3D, r2c []int) {
	nt, nd := len(t.rows), len(t.dets)
	for i := range r2c {
		r2c[i] = -1
	}
	gate := t.p.GateMeters
	gate2 := gate * gate
	inv := 1 / gate
	if !(inv > 0 && inv < math.Inf(1)) {
		inv = 0 // no usable cell size: one cell holds everything
	}
	// Hash grid of the track predictions, load factor ≤ 1/2.
	ns := 16
	g.shift = 60
	for ns < 2*nt {
		ns *= 2
		g.shift--
	}
	g.slot = fillI32(g.slot, ns, -1)
	if cap(g.key) < ns {
		g.key = make([]uint64, ns)
	}
	g.key = g.key[:ns]
	g.next = fillI32(g.next, nt, -1)
	for a := nt - 1; a >= 0; a-- { // prepend in reverse: cells list rows ascending
		x, y := t.tracks[t.rows[a]].pos()
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			continue // never within the gate
		}
		k := cellKey(cellOf(x, inv), cellOf(y, inv))
		h := g.lookup(k)
		g.key[h] = k
		g.next[a] = g.slot[h]
		g.slot[h] = int32(a)
	}
	// Gated pairs and their components.
	n := nt + nd
	g.parent = fillI32(g.parent, n, 0)
	for i := range g.parent {
		g.parent[i] = int32(i)
	}
	g.pairs = g.pairs[:0]
	for b, di := range t.dets {
		dx0, dy0 := float64(dets[di].CX), float64(dets[di].CY)
		cx, cy := cellOf(dx0, inv), cellOf(dy0, inv)
		for ix := cx - 1; ix <= cx+1; ix++ {
			if ix != cx && inv == 0 {
				continue
			}
			for iy := cy - 1; iy <= cy+1; iy++ {
				if iy != cy && inv == 0 {
					continue
				}
				for a := g.slot[g.lookup(cellKey(ix, iy))]; a >= 0; a = g.next[a] {
					px, py := t.tracks[t.rows[a]].pos()
					dx, dy := dx0-px, dy0-py
					d2 := dx*dx + dy*dy
					if !(d2 <= gate2) {
						continue
					}
					g.pairs = append(g.pairs, pair{a, int32(b), d2})
					ra, rb := g.find(a), g.find(int32(nt+b))
					if ra != rb {
						g.parent[ra] = rb
					}
				}
			}
		}
	}
	if len(g.pairs) == 0 {
		return
	}
	// Number the components with pairs, in the order of their first pair.
	g.comp = fillI32(g.comp, n, -1)
	g.nPairs, g.first = g.nPairs[:0], g.first[:0]
	for i, p := range g.pairs {
		r := g.find(p.row)
		if g.comp[r] < 0 {
			g.comp[r] = int32(len(g.nPairs))
			g.nPairs = append(g.nPairs, 0)
			g.first = append(g.first, int32(i))
		}
		g.nPairs[g.comp[r]]++
	}
	nc := len(g.nPairs)
	g.nRows = fillI32(g.nRows, nc, 0)
	g.nCols = fillI32(g.nCols, nc, 0)
	g.local = fillI32(g.local, n, -1)
	// Local indices ascending in the row and column order of the full
	// problem, so each sub-problem is the full one's rows and columns kept
	// in order.
	for i := 0; i < n; i++ {
		k := g.comp[g.find(int32(i))]
		if k < 0 {
			continue
		}
		if i < nt {
			g.local[i] = g.nRows[k]
			g.nRows[k]++
		} else {
			g.local[i] = g.nCols[k]
			g.nCols[k]++
		}
	}
	if cap(g.subOff) < nc+1 {
		g.subOff = make([]int, nc+1)
	}
	g.subOff = g.subOff[:nc+1]
	g.rowAt = fillI32(g.rowAt, nc+1, 0)
	g.colAt = fillI32(g.colAt, nc+1, 0)
	g.subOff[0] = 0
	for k := range nc {
		sz := 0
		if g.nPairs[k] > 1 {
			sz = int(g.nRows[k]) * int(g.nCols[k])
		}
		g.subOff[k+1] = g.subOff[k] + sz
		g.rowAt[k+1] = g.rowAt[k] + g.nRows[k]
		g.colAt[k+1] = g.colAt[k] + g.nCols[k]
	}
	g.rowsOf = fillI32(g.rowsOf, int(g.rowAt[nc]), 0)
	g.colsOf = fillI32(g.colsOf, int(g.colAt[nc]), 0)
	for i := 0; i < n; i++ {
		k := g.comp[g.find(int32(i))]
		if k < 0 {
			continue
		}
		if i < nt {
			g.rowsOf[g.rowAt[k]+g.local[i]] = int32(i)
		} else {
			g.colsOf[g.colAt[k]+g.local[i]] = int32(i - nt)
		}
	}
	g.sub = fillF64(g.sub, g.subOff[nc], math.NaN())
	for _, p := range g.pairs {
		k := g.comp[g.find(p.row)]
		if g.nPairs[k] > 1 {
			g.sub[g.subOff[k]+int(g.local[p.row])*int(g.nCols[k])+int(g.local[int(nt)+int(p.col)])] = p.d2
		}
	}
	for k := range nc {
		if g.nPairs[k] == 1 {
			p := g.pairs[g.first[k]]
			r2c[p.row] = int(p.col)
			continue
		}
		nr, ncol := int(g.nRows[k]), int(g.nCols[k])
		if cap(g.subR2C) < nr {
			g.subR2C = make([]int, nr)
		}
		sr := g.subR2C[:nr]
		if _, err := g.asg.Solve(g.sub[g.subOff[k]:g.subOff[k+1]], nr, ncol, sr); err != nil {
			continue // cannot happen: the sizes are ours
		}
		rows, cols := g.rowsOf[g.rowAt[k]:g.rowAt[k+1]], g.colsOf[g.colAt[k]:g.colAt[k+1]]
		for i, j := range sr {
			if j >= 0 {
				r2c[rows[i]] = int(cols[j])
			}
		}
	}
}

func fillI32(b []int32, n int, v int32) []int32 {
	if cap(b) < n {
		b = make([]int32, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = v
	}
	return b
}

func fillF64(b []float64, n int, v float64) []float64 {
	if cap(b) < n {
		b = make([]float64, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = v
	}
	return b
}
