package track

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/track/assign"
)

// denseMatch is nwojke/deep_sort's min_cost_matching: entries above maxCost
// raised to maxCost + 1e-5, the whole matrix solved, raised pairs dropped.
func denseMatch(cost []float64, rows, cols int, maxCost float64) []int {
	c := slices.Clone(cost)
	for i, v := range c {
		if !(v <= maxCost) {
			c[i] = maxCost + 1e-5
		}
	}
	r2c := make([]int, rows)
	var s assign.Solver
	s.Solve(c, rows, cols, r2c)
	for r, j := range r2c {
		if j >= 0 && c[r*cols+j] > maxCost {
			r2c[r] = -1
		}
	}
	return r2c
}

// TestSparseMatchesDense: on random gated matrices — sizes 1–120, from
// nearly everything gated (many small components) to nothing gated (one
// component) — the per-component solve makes exactly the pairs of the
// dense solve.
func TestSparseMatchesDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var s sparseSolver
	trials := 600
	if testing.Short() {
		trials = 150
	}
	for trial := 0; trial < trials; trial++ {
		rows, cols := 1+rng.IntN(120), 1+rng.IntN(120)
		if trial%3 == 0 {
			rows, cols = 1+rng.IntN(8), 1+rng.IntN(8)
		}
		pAllowed := []float64{0.005, 0.02, 0.1, 0.5, 1}[trial%5]
		maxCost := 0.7
		cost := make([]float64, rows*cols)
		for i := range cost {
			if rng.Float64() < pAllowed {
				cost[i] = rng.Float64() * maxCost
			} else {
				cost[i] = []float64{gatedInf, maxCost + 1e-5, 1 + rng.Float64()}[rng.IntN(3)]
			}
		}
		want := denseMatch(cost, rows, cols, maxCost)
		got := make([]int, rows)
		s.solve(cost, rows, cols, maxCost, got)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (%d×%d, %.3f allowed): per component %v, dense %v", trial, rows, cols, pAllowed, got, want)
		}
	}
}

// TestSparseCascadeMatchesDenseMOT15 runs the DeepSORT-style tracker
// (motion only, and with colour histograms of the decoded video) over
// TUD-Campus's public detections twice — per-component and dense matching
// — and requires the same output, row for row.
func TestSparseCascadeMatchesDenseMOT15(t *testing.T) {
	noReID := DefaultDeepSORT()
	noReID.ReID.ReIDType = ReIDNone
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"noreid", noReID}, {"histogram", DefaultDeepSORT()}} {
		t.Run(c.name, func(t *testing.T) {
			denseCascade = true
			want := trackSequenceFrames(t, c.cfg, "TUD-Campus")
			denseCascade = false
			got := trackSequenceFrames(t, c.cfg, "TUD-Campus")
			if len(got) != len(want) {
				t.Fatalf("%d rows per component, %d dense", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("row %d: per component %+v, dense %+v", i, got[i], want[i])
				}
			}
			t.Logf("%d identical rows", len(got))
		})
	}
}

// BenchmarkCascadeSolve: one 100×100 gated matrix of 100 well separated
// objects (each row allows its own column and, one time in ten, a
// neighbour's), solved per component and dense.
func BenchmarkCascadeSolve(b *testing.B) {
	const n = 100
	rng := rand.New(rand.NewPCG(3, 5))
	cost := make([]float64, n*n)
	for i := range cost {
		cost[i] = gatedInf
	}
	for r := 0; r < n; r++ {
		cost[r*n+r] = rng.Float64() * 0.5
		if r+1 < n && rng.IntN(10) == 0 {
			cost[r*n+r+1] = rng.Float64() * 0.5
		}
	}
	r2c := make([]int, n)
	b.Run("components", func(b *testing.B) {
		var s sparseSolver
		b.ReportAllocs()
		for b.Loop() {
			s.solve(cost, n, n, 0.7, r2c)
		}
	})
	b.Run("dense", func(b *testing.B) {
		var s assign.Solver
		c := slices.Clone(cost)
		for i, v := range c {
			c[i] = min(v, 0.7+1e-5)
		}
		b.ReportAllocs()
		for b.Loop() {
			s.Solve(c, n, n, r2c)
		}
	})
}
