package outlier

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
)

var (
	widen     = dstest.WithRingTime
	checkKept = dstest.CheckKept
)

// The tests of this file run each filter on KITTI 000000 widened to six
// named columns — x y z intensity ring time, ring and time derived from
// each point's own coordinates (elevation and azimuth, as a 64-channel
// spinning lidar would give them) — and check that x, y, z, intensity come
// out exactly as from the 4-column frame (whose results peers_test.go
// checks against PCL), that the ring and time of every kept point are its
// input row's, and that the names travel.

func TestColumnsCarried(t *testing.T) {
	src4, _ := kitti(t, 0)
	src4.Resize(30000, 4) // the first 30,000 points: quick under -race
	src6 := widen(src4)
	out4, out6 := ds3d.NewLidarFrame(0), ds3d.NewLidarFrame(0)
	s4 := Statistical{MeanK: 16, StdMul: 1}
	s6 := s4
	s4.Filter(out4, src4)
	s6.Filter(out6, src6)
	checkKept(t, "statistical", src6, out6, out4)
	r4 := Radius{Radius: 0.5, MinNeighbors: 2, Negative: true}
	r6 := r4
	r4.Filter(out4, src4)
	r6.Filter(out6, src6)
	checkKept(t, "radius (outliers kept)", src6, out6, out4)
	g := Ground{Threshold: 0.2, Iterations: 200, MaxTiltDeg: 15, SampleSize: 4096, Seed: 1, Refine: true}
	p4, _, ok4 := g.Fit(src4)
	p6, _, ok6 := g.Fit(src6)
	if !ok4 || !ok6 || p4 != p6 {
		t.Fatalf("ground planes %v %v differ (found %v %v)", p4, p6, ok4, ok6)
	}
	gr4, gr6 := ds3d.NewLidarFrame(0), ds3d.NewLidarFrame(0)
	g.Split(gr4, out4, src4, p4)
	g.Split(gr6, out6, src6, p6)
	checkKept(t, "ground", src6, gr6, gr4)
	checkKept(t, "non-ground", src6, out6, out4)
}
