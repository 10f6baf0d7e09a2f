package track

import "github.com/ds3d-go/ds3d-go/core2d/track/assign"

// sparseSolver solves a gated min-cost matching — a rows×cols cost matrix
// whose entries above maxCost are not allowed — one connected component of
// the allowed-pair graph at a time. It gives the matching the dense solve
// gives (nwojke/deep_sort's min_cost_matching: every entry above maxCost
// raised to the same value c′ = maxCost + 1e-5, the full problem solved,
// pairs above maxCost dropped): a full assignment's cost is Σ allowed cost +
// c′·(pairs on raised entries), so the dense optimum is the matching that
// maximises Σ (c′ − cost) over allowed pairs, and that sum splits over
// components. Only ties between equal-cost matchings may resolve
// differently. A component of one allowed pair is matched directly; larger
// ones go to the Hungarian solver with their other entries raised to c′. A
// frame of well separated objects then costs O(rows·cols) for the scan
// instead of O(n³).
type sparseSolver struct {
	parent   []int32 // union-find over rows then columns
	comp     []int32 // component index per root (−1: isolated)
	nPairs   []int32 // allowed pairs per component
	rowStart []int32 // rows of component k: rowIdx[rowStart[k]:rowStart[k+1]]
	colStart []int32
	rowIdx   []int32
	colIdx   []int32
	sub      []float64
	subR2C   []int
	dense    assign.Solver
}

// solve writes, for every row, its matched column or −1 into r2c
// (len(r2c) == rows). cost is read-only.
func (s *sparseSolver) solve(cost []float64, rows, cols int, maxCost float64, r2c []int) {
	for i := range r2c {
		r2c[i] = -1
	}
	n := rows + cols
	s.parent = fill(s.parent, n, 0)
	for i := range s.parent {
		s.parent[i] = int32(i)
	}
	allowed := false
	for r := 0; r < rows; r++ {
		row := cost[r*cols : (r+1)*cols]
		for c, v := range row {
			if v <= maxCost {
				allowed = true
				a, b := s.find(int32(r)), s.find(int32(rows+c))
				if a != b {
					s.parent[a] = b
				}
			}
		}
	}
	if !allowed {
		return
	}
	// Number the components that have an allowed pair, count their pairs,
	// rows and columns, then bucket rows and columns by component.
	s.comp = fill(s.comp, n, -1)
	nc := int32(0)
	s.nPairs = s.nPairs[:0]
	for r := 0; r < rows; r++ {
		row := cost[r*cols : (r+1)*cols]
		for _, v := range row {
			if v <= maxCost {
				root := s.find(int32(r))
				if s.comp[root] < 0 {
					s.comp[root] = nc
					nc++
					s.nPairs = append(s.nPairs, 0)
				}
				s.nPairs[s.comp[root]]++
			}
		}
	}
	s.rowStart = fill(s.rowStart, int(nc)+1, 0)
	s.colStart = fill(s.colStart, int(nc)+1, 0)
	for i := 0; i < n; i++ {
		k := s.comp[s.find(int32(i))]
		if k < 0 {
			continue
		}
		if i < rows {
			s.rowStart[k+1]++
		} else {
			s.colStart[k+1]++
		}
	}
	for k := int32(0); k < nc; k++ {
		s.rowStart[k+1] += s.rowStart[k]
		s.colStart[k+1] += s.colStart[k]
	}
	s.rowIdx = fill(s.rowIdx, int(s.rowStart[nc]), 0)
	s.colIdx = fill(s.colIdx, int(s.colStart[nc]), 0)
	// Fill in ascending order, using the next start as a cursor.
	for i := 0; i < n; i++ {
		k := s.comp[s.find(int32(i))]
		if k < 0 {
			continue
		}
		if i < rows {
			s.rowIdx[s.rowStart[k]] = int32(i)
			s.rowStart[k]++
		} else {
			s.colIdx[s.colStart[k]] = int32(i - rows)
			s.colStart[k]++
		}
	}
	// The cursors now hold each component's end: shift back to starts.
	for k := nc; k > 0; k-- {
		s.rowStart[k], s.colStart[k] = s.rowStart[k-1], s.colStart[k-1]
	}
	s.rowStart[0], s.colStart[0] = 0, 0
	for k := int32(0); k < nc; k++ {
		rs, cs := s.rowIdx[s.rowStart[k]:s.rowStart[k+1]], s.colIdx[s.colStart[k]:s.colStart[k+1]]
		if s.nPairs[k] == 1 { // one row, one column, one allowed pair
			r2c[rs[0]] = int(cs[0])
			continue
		}
		nr, ncol := len(rs), len(cs)
		s.sub = fillF(s.sub, nr*ncol)
		for i, r := range rs {
			row := cost[int(r)*cols:]
			for j, c := range cs {
				v := row[c]
				if !(v <= maxCost) {
					v = maxCost + 1e-5 // every raised entry alike, as in the dense problem
				}
				s.sub[i*ncol+j] = v
			}
		}
		s.subR2C = fillInt(s.subR2C, nr)
		s.dense.Solve(s.sub, nr, ncol, s.subR2C) // sizes are consistent: no error
		for i, j := range s.subR2C {
			if j >= 0 && s.sub[i*ncol+j] <= maxCost {
				r2c[rs[i]] = int(cs[j])
			}
		}
	}
}

func (s *sparseSolver) find(i int32) int32 {
	for s.parent[i] != i {
		s.parent[i] = s.parent[s.parent[i]]
		i = s.parent[i]
	}
	return i
}
