package detect

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLShapeMatchesReference: FitLShape (the 8-heading vector search
// where the CPU has AVX-512) returns the pre-optimisation fit's rectangle
// bit for bit on random L-, I- and blob-shaped clusters, for both criteria,
// several heading steps (some not dividing 90°), point strides and clouds
// with NaN or huge coordinates (the scalar fallback).
func TestLShapeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	var s lshape // reused across steps, as a Detector reuses it
	for it := range 400 {
		n := []int{1, 2, 3, 7, 8, 9, 60, 511, 513, 2000}[r.IntN(10)]
		cx, cy, yaw := r.Float64()*60, r.NormFloat64()*15, r.Float64()*math.Pi
		sn, cs := math.Sincos(yaw)
		x, y := make([]float64, n), make([]float64, n)
		for i := range n {
			var u, v float64
			switch it % 3 {
			case 0: // L: two sides of a 4.2 × 1.8 box
				if r.IntN(2) == 0 {
					u, v = r.Float64()*4.2, r.NormFloat64()*0.03
				} else {
					u, v = r.NormFloat64()*0.03, r.Float64()*1.8
				}
			case 1: // I: one side, quantised like a lidar (repeated values)
				u, v = math.Round(r.Float64()*40)/10, 0
			default: // blob
				u, v = r.NormFloat64(), r.NormFloat64()
			}
			x[i], y[i] = float64(float32(cx+u*cs-v*sn)), float64(float32(cy+u*sn+v*cs))
		}
		switch it % 50 {
		case 7:
			x[r.IntN(n)] = math.NaN()
		case 13:
			y[r.IntN(n)] = 1e200
		}
		step := []float64{1, 1, 0.7, 3, 13, 45, 100, 0}[r.IntN(8)]
		crit := []string{"closeness", "area"}[r.IntN(2)]
		maxSearch := []int{512, 512, 0, 5}[r.IntN(4)]
		got, want := s.fit(x, y, step, crit, maxSearch), refFitLShape(x, y, step, crit, maxSearch)
		same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b) }
		if !same(got.CX, want.CX) || !same(got.CY, want.CY) || !same(got.Length, want.Length) || !same(got.Width, want.Width) || !same(got.Yaw, want.Yaw) {
			t.Fatalf("case %d (%d points, step %v, %s, max %d): %+v, reference %+v", it, n, step, crit, maxSearch, got, want)
		}
	}
}

// BenchmarkLShapeSearch times the heading search of one 512-point
// cluster (90 headings, closeness): the vector kernel and the scalar loop.
func BenchmarkLShapeSearch(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y := make([]float64, 512), make([]float64, 512)
	for i := range x {
		x[i], y[i] = 10+r.Float64()*4, 3+r.Float64()*0.2
	}
	var s lshape
	s.headings(1)
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			s.searchScalar(x, y, 1, false)
		}
	})
	b.Run("search", func(b *testing.B) {
		for b.Loop() {
			s.search(x, y, 1, false)
		}
	})
}
