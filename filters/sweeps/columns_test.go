package sweeps

import (
	"slices"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
)

var (
	cols6 = dstest.Cols6
	widen = dstest.WithRingTime
)

// TestColumnsCarried accumulates three real KITTI sweeps (000000–000002,
// first 20,000 points) widened to x y z intensity ring time, and compares
// with the 4-column run (checked against numpy by TestMatchesNumpy): x y z
// intensity and time_lag bit for bit, ring copied from the point's input
// row, time rebased onto the current sweep: float32(τ − Δt) in float64,
// computed here from the input row.
func TestColumnsCarried(t *testing.T) {
	s2e := ds3d.Mat4{0, 1, 0, 0.944, -1, 0, 0, 0, 0, 0, 1, 1.84, 0, 0, 0, 1}
	poses := []ds3d.Mat4{pose(0.3, 0, 100, -20, 1), pose(0.35, 0.01, 104.5, -18.2, 1.05), pose(0.42, -0.005, 109.25, -16.1, 1.02)}
	times := []int64{1_532_402_927_547_951_000, 1_532_402_927_597_951_000, 1_532_402_927_647_951_000}
	a4 := Accumulator{MaxSweeps: 10, SensorToEgo: s2e}
	a6 := a4
	out4, out6 := ds3d.NewLidarFrame(0), ds3d.NewLidarFrame(0)
	var in6 []*ds3d.Frame
	for j := range poses {
		src := kitti(t, j, 20000)
		in6 = append(in6, widen(src))
		if _, err := a4.Add(out4, src, poses[j], times[j]); err != nil {
			t.Fatal(err)
		}
		if _, err := a6.Add(out6, in6[j], poses[j], times[j]); err != nil {
			t.Fatal(err)
		}
	}
	if want := append(slices.Clone(cols6), ColTimeLag); !slices.Equal(out6.Columns(), want) || out6.Stride() != 7 {
		t.Fatalf("columns %v (shape %s), want %v", out6.Columns(), out6.Shape, want)
	}
	if want := []string{"x", "y", "z", "intensity", ColTimeLag}; !slices.Equal(out4.Columns(), want) {
		t.Fatalf("4-column run: columns %v, want %v", out4.Columns(), want)
	}
	if out6.Points() != out4.Points() || out6.Points() != 3*20000 {
		t.Fatalf("%d points, 4-column run %d, want 60000", out6.Points(), out4.Points())
	}
	g, w := ds3d.AsFloat32(out6), ds3d.AsFloat32(out4)
	k := 0
	for j := len(poses) - 1; j >= 0; j-- { // current sweep first, then newest first
		lag := float64(times[2]-times[j]) * 1e-9
		s := ds3d.AsFloat32(in6[j])
		for i := 0; i < in6[j].Points(); i, k = i+1, k+1 {
			o, q := g[7*k:7*k+7], w[5*k:5*k+5]
			if !slices.Equal(o[:4], q[:4]) || o[6] != q[4] {
				t.Fatalf("sweep %d point %d: %v, 4-column run %v", j, i, o, q)
			}
			if want := float32(float64(s[6*i+5]) - lag); o[4] != s[6*i+4] || o[5] != want {
				t.Fatalf("sweep %d point %d: ring, time %v %v, want %v %v", j, i, o[4], o[5], s[6*i+4], want)
			}
		}
	}

	// two accumulators in a row: refused
	var b Accumulator
	b.MaxSweeps = 2
	if _, err := b.Add(ds3d.NewLidarFrame(0), out6, ds3d.Identity4, 1); err == nil || !strings.Contains(err.Error(), "already has a time_lag column") {
		t.Errorf("input with time_lag: %v", err)
	}
	// other names, same count: the history is not mixed in
	renamed := widen(kitti(t, 0, 100))
	renamed.SetColumns("x", "y", "z", "intensity", "ring", "return")
	n, err := a6.Add(out6, renamed, poses[2], times[2]+50_000_000)
	if err != nil || n != 100 || out6.Columns()[5] != "return" {
		t.Errorf("renamed columns: %d points %v (%v), want the 100 new ones alone", n, out6.Columns(), err)
	}
}
