package outlier

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/cputime"
)

func reportPoints(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

func BenchmarkStatistical(b *testing.B) {
	src, _ := kitti(b, 0)
	dst := ds3d.NewLidarFrame(0)
	s := Statistical{MeanK: 16, StdMul: 1}
	b.Run("kitti-000000-k16", func(b *testing.B) {
		var c cputime.Timer
		c.Start()
		for b.Loop() {
			s.Filter(dst, src)
		}
		c.Stop(b)
		reportPoints(b, src.Points())
	})
}

func BenchmarkRadius(b *testing.B) {
	src, _ := kitti(b, 0)
	dst := ds3d.NewLidarFrame(0)
	r := Radius{Radius: 0.5, MinNeighbors: 3}
	b.Run("kitti-000000-r0.5-min3", func(b *testing.B) {
		for b.Loop() {
			r.Filter(dst, src)
		}
		reportPoints(b, src.Points())
	})
}

func BenchmarkKDTreeBuild(b *testing.B) {
	src, _ := kitti(b, 0)
	var t KDTree
	b.Run("kitti-000000", func(b *testing.B) {
		for b.Loop() {
			t.Build(ds3d.AsFloat32(src), 4, nil)
		}
		reportPoints(b, src.Points())
	})
}
