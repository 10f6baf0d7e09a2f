package assign

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// brute returns the best (pairs, cost) over every partial assignment: the
// most allowed pairs, then the least cost — the package's contract.
func brute(cost []float64, rows, cols int) (int, float64) {
	bestN, bestC := -1, math.Inf(1)
	used := make([]bool, cols)
	var rec func(i, n int, c float64)
	rec = func(i, n int, c float64) {
		if i == rows {
			if n > bestN || (n == bestN && c < bestC-1e-12) {
				bestN, bestC = n, c
			}
			return
		}
		rec(i+1, n, c) // row i unassigned
		for j := 0; j < cols; j++ {
			x := cost[i*cols+j]
			if used[j] || math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			used[j] = true
			rec(i+1, n+1, c+x)
			used[j] = false
		}
	}
	rec(0, 0, 0)
	return bestN, bestC
}

func TestSolveBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s Solver
	for trial := 0; trial < 3000; trial++ {
		rows, cols := rng.IntN(7), rng.IntN(7)
		cost := make([]float64, rows*cols)
		forbid := rng.Float64() * 0.6
		ints := trial%3 == 0 // integer costs: many ties
		for k := range cost {
			switch {
			case rng.Float64() < forbid:
				cost[k] = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
			case ints:
				cost[k] = float64(rng.IntN(4) - 1)
			default:
				cost[k] = rng.NormFloat64()
			}
		}
		r2c := make([]int, rows)
		n, err := s.Solve(cost, rows, cols, r2c)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		got, cnt := 0.0, 0
		for i, j := range r2c {
			if j < 0 {
				continue
			}
			if seen[j] {
				t.Fatalf("trial %d: column %d assigned twice: %v", trial, j, r2c)
			}
			seen[j] = true
			x := cost[i*cols+j]
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("trial %d: forbidden pair (%d,%d) assigned", trial, i, j)
			}
			got += x
			cnt++
		}
		wantN, wantC := brute(cost, rows, cols)
		if cnt != n || n != wantN || math.Abs(got-wantC) > 1e-9 {
			t.Fatalf("trial %d (%dx%d): got %d pairs cost %g, brute force %d pairs cost %g\ncost=%v\nr2c=%v",
				trial, rows, cols, n, got, wantN, wantC, cost, r2c)
		}
	}
}

func TestSolveErrors(t *testing.T) {
	var s Solver
	if _, err := s.Solve(make([]float64, 5), 2, 3, make([]int, 2)); err == nil {
		t.Error("wrong cost length: no error")
	}
	if _, err := s.Solve(make([]float64, 6), 2, 3, make([]int, 3)); err == nil {
		t.Error("wrong rowToCol length: no error")
	}
	r2c := []int{7}
	if n, err := s.Solve(nil, 1, 0, r2c); err != nil || n != 0 || r2c[0] != -1 {
		t.Errorf("1×0: n=%d err=%v r2c=%v", n, err, r2c)
	}
}

func TestSolveNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cost := make([]float64, 100*100)
	for k := range cost {
		cost[k] = rng.Float64()
	}
	var s Solver
	r2c := make([]int, 100)
	s.Solve(cost, 100, 100, r2c)
	if a := testing.AllocsPerRun(5, func() { s.Solve(cost, 100, 100, r2c) }); a != 0 {
		t.Errorf("%v allocations per Solve, want 0", a)
	}
}

func BenchmarkSolve(b *testing.B) {
	for _, n := range []int{10, 100} {
		rng := rand.New(rand.NewPCG(0, 0))
		cost := make([]float64, n*n)
		for k := range cost {
			cost[k] = 1 - rng.Float64()
		}
		b.Run(strconv.Itoa(n)+"x"+strconv.Itoa(n), func(b *testing.B) {
			var s Solver
			r2c := make([]int, n)
			for b.Loop() {
				s.Solve(cost, n, n, r2c)
			}
		})
	}
}
