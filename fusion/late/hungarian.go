package late

import "math"

// assignment solves the square assignment problem (minimum total cost) with
// the Hungarian method in its O(n³) shortest-augmenting-path form (Kuhn 1955,
// Munkres 1957; the potentials formulation of Jonker and Volgenant 1987).
// Its slices are reused between calls.
type assignment struct {
	u, v, minv []float64
	p, way     []int
	used       []bool
	out        []int
}

// solve returns, for each row i, the column assigned to it; cost is n×n,
// row-major.
func (a *assignment) solve(cost []float64, n int) []int {
	grow := func(s []float64) []float64 {
		if cap(s) < n+1 {
			return make([]float64, n+1)
		}
		return s[:n+1]
	}
	a.u, a.v, a.minv = grow(a.u), grow(a.v), grow(a.minv)
	if cap(a.p) < n+1 {
		a.p, a.way, a.used = make([]int, n+1), make([]int, n+1), make([]bool, n+1)
	}
	p, way, used := a.p[:n+1], a.way[:n+1], a.used[:n+1]
	u, v, minv := a.u, a.v, a.minv
	for i := range u {
		u[i], v[i], p[i], way[i] = 0, 0, 0, 0
	}
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j], used[j] = math.Inf(1), false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				cur := cost[(i0-1)*n+j-1] - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	if cap(a.out) < n {
		a.out = make([]int, n)
	}
	out := a.out[:n]
	for j := 1; j <= n; j++ {
		if p[j] > 0 {
			out[p[j]-1] = j - 1
		}
	}
	return out
}
