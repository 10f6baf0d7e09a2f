// Package assign solves the rectangular linear assignment problem: given an
// r×c cost matrix, pick at most one column per row and one row per column so
// that min(r, c) pairs are made at the least total cost. It is the Hungarian
// step of multi-object trackers and of the CLEAR-MOT and IDF1 evaluators.
//
// The solver is the shortest augmenting path method of Jonker and Volgenant
// (1987) in the form given by D. F. Crouse, "On implementing 2D rectangular
// assignment algorithms", IEEE Trans. Aerospace and Electronic Systems 52(4),
// 2016 — the algorithm behind scipy.optimize.linear_sum_assignment. It runs
// in O(r²c) for r ≤ c and keeps its work buffers between calls, so a Solver
// reused for problems of similar size allocates nothing.
//
// Forbidden pairs are written as NaN or ±Inf. They are handled as
// py-motmetrics handles them: each is replaced by a cost larger than any
// assignment of allowed pairs can reach (2·Σ|allowed| + 1), the completed
// problem is solved, and pairs that landed on forbidden entries are dropped.
// The result therefore makes as many allowed pairs as possible and, among
// those, has the least cost.
package assign

import (
	"fmt"
	"math"
)

// Solver holds the work buffers of the assignment algorithm. The zero value
// is ready to use; a Solver must not be used by two goroutines at once.
type Solver struct {
	cost      []float64 // the (possibly transposed, completed) matrix
	u, v      []float64 // row and column potentials
	shortest  []float64 // shortest path cost to each column
	path      []int     // predecessor row of each column
	col4row   []int
	row4col   []int
	remaining []int
	sr, sc    []bool // rows and columns reached in this augmentation
}

// Solve assigns rows to columns of the rows×cols matrix cost (row-major,
// len(cost) == rows*cols) and writes, for every row, the column it got (or
// -1) into rowToCol, which must have length rows. It returns the number of
// pairs made. NaN and ±Inf entries are forbidden pairs (see the package
// comment); a problem without allowed entries makes no pairs.
func (s *Solver) Solve(cost []float64, rows, cols int, rowToCol []int) (int, error) {
	if rows < 0 || cols < 0 || len(cost) != rows*cols {
		return 0, fmt.Errorf("assign: cost has %d entries, want %d×%d", len(cost), rows, cols)
	}
	if len(rowToCol) != rows {
		return 0, fmt.Errorf("assign: rowToCol has %d entries, want %d", len(rowToCol), rows)
	}
	for i := range rowToCol {
		rowToCol[i] = -1
	}
	if rows == 0 || cols == 0 {
		return 0, nil
	}
	// Copy into the work matrix, transposed so that it has no more rows than
	// columns, and complete forbidden entries with a large cost.
	transpose := rows > cols
	nr, nc := rows, cols
	if transpose {
		nr, nc = cols, rows
	}
	s.cost = grow(s.cost, nr*nc)
	w := s.cost
	sumAbs, forbidden := 0.0, false
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			x := cost[i*cols+j]
			if math.IsNaN(x) || math.IsInf(x, 0) {
				forbidden = true
				x = math.NaN()
			} else {
				sumAbs += math.Abs(x)
			}
			if transpose {
				w[j*nc+i] = x
			} else {
				w[i*nc+j] = x
			}
		}
	}
	if forbidden {
		big := 2*sumAbs + 1
		for k, x := range w {
			if math.IsNaN(x) {
				w[k] = big
			}
		}
	}
	s.solve(nr, nc)
	n := 0
	for i := 0; i < nr; i++ {
		j := s.col4row[i]
		if j < 0 || math.IsNaN(at(cost, rows, cols, i, j, transpose)) || math.IsInf(at(cost, rows, cols, i, j, transpose), 0) {
			continue
		}
		if transpose {
			rowToCol[j] = i
		} else {
			rowToCol[i] = j
		}
		n++
	}
	return n, nil
}

// at reads entry (i, j) of the work matrix's orientation from the caller's
// matrix.
func at(cost []float64, rows, cols, i, j int, transpose bool) float64 {
	if transpose {
		return cost[j*cols+i]
	}
	return cost[i*cols+j]
}

// solve runs the shortest augmenting path algorithm on s.cost (nr ≤ nc, all
// entries finite), leaving the result in s.col4row.
func (s *Solver) solve(nr, nc int) {
	s.u = grow(s.u, nr)
	s.v = grow(s.v, nc)
	s.shortest = grow(s.shortest, nc)
	s.path = growInt(s.path, nc)
	s.col4row = growInt(s.col4row, nr)
	s.row4col = growInt(s.row4col, nc)
	s.remaining = growInt(s.remaining, nc)
	s.sr = growBool(s.sr, nr)
	s.sc = growBool(s.sc, nc)
	for i := range s.u {
		s.u[i], s.col4row[i] = 0, -1
	}
	for j := range s.v {
		s.v[j], s.row4col[j], s.path[j] = 0, -1, -1
	}
	u, v := s.u, s.v
	for cur := 0; cur < nr; cur++ {
		sink, minVal := s.augment(cur, nr, nc)
		if sink < 0 {
			// Cannot happen with finite costs and nr ≤ nc.
			panic("assign: infeasible problem")
		}
		u[cur] += minVal
		for i := 0; i < nr; i++ {
			if s.sr[i] && i != cur {
				u[i] += minVal - s.shortest[s.col4row[i]]
			}
		}
		for j := 0; j < nc; j++ {
			if s.sc[j] {
				v[j] -= minVal - s.shortest[j]
			}
		}
		for j := sink; ; {
			i := s.path[j]
			s.row4col[j] = i
			s.col4row[i], j = j, s.col4row[i]
			if i == cur {
				break
			}
		}
	}
}

// augment finds the shortest augmenting path from the free row cur to a free
// column, returning that column and the path's reduced cost.
func (s *Solver) augment(cur, nr, nc int) (int, float64) {
	c, u, v := s.cost, s.u, s.v
	short, path, rem := s.shortest, s.path, s.remaining
	for j := 0; j < nc; j++ {
		rem[j] = nc - j - 1
		short[j] = math.Inf(1)
		s.sc[j] = false
	}
	for i := 0; i < nr; i++ {
		s.sr[i] = false
	}
	nrem := nc
	minVal := 0.0
	i := cur
	for {
		s.sr[i] = true
		index, lowest := -1, math.Inf(1)
		row := c[i*nc : i*nc+nc]
		ui := u[i]
		for it := 0; it < nrem; it++ {
			j := rem[it]
			r := minVal + row[j] - ui - v[j]
			if r < short[j] {
				path[j] = i
				short[j] = r
			}
			if short[j] < lowest || (short[j] == lowest && s.row4col[j] == -1) {
				lowest, index = short[j], it
			}
		}
		minVal = lowest
		if index < 0 || math.IsInf(minVal, 1) {
			return -1, 0
		}
		j := rem[index]
		s.sc[j] = true
		nrem--
		rem[index] = rem[nrem]
		if s.row4col[j] == -1 {
			return j, minVal
		}
		i = s.row4col[j]
	}
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func growInt(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

func growBool(b []bool, n int) []bool {
	if cap(b) < n {
		return make([]bool, n)
	}
	return b[:n]
}
