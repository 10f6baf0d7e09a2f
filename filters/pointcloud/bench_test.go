package pointcloud

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/cputime"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// kittiROI is the peers' crop box (bench_numpy.py crop_roi, pcl_bench CropBox).
var kittiROI = Box{Min: [3]float32{0, -40, -3}, Max: [3]float32{70.4, 40, 1}}

func kitti0(b testing.TB) *ds3d.Frame {
	return readCloud(b, sampledata.Shared(b, "kitti-object/training/velodyne/000000.bin"))
}

func reportPoints(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

func BenchmarkCrop(b *testing.B) {
	src := kitti0(b)
	dst := ds3d.NewLidarFrame(0)
	b.Run("kitti-000000", func(b *testing.B) {
		for b.Loop() {
			Crop(dst, src, kittiROI)
		}
		reportPoints(b, src.Points())
	})
}

func BenchmarkPassThrough(b *testing.B) {
	src := kitti0(b)
	dst := ds3d.NewLidarFrame(0)
	b.Run("kitti-000000-x", func(b *testing.B) {
		for b.Loop() {
			PassThrough(dst, src, 0, 0, 70.4, false)
		}
		reportPoints(b, src.Points())
	})
}

func BenchmarkVoxel(b *testing.B) {
	src := kitti0(b)
	dst := ds3d.NewLidarFrame(0)
	v := VoxelGrid{Leaf: [3]float32{0.2, 0.2, 0.2}}
	b.Run("kitti-000000-0.2", func(b *testing.B) {
		var c cputime.Timer
		c.Start()
		for b.Loop() {
			if _, err := v.Filter(dst, src); err != nil {
				b.Fatal(err)
			}
		}
		c.Stop(b)
		reportPoints(b, src.Points())
	})
}

func BenchmarkPillarize(b *testing.B) {
	src := kitti0(b)
	z, err := NewPillarizer(DefaultPillarParams)
	if err != nil {
		b.Fatal(err)
	}
	feat, coords, num := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	b.Run("kitti-000000", func(b *testing.B) {
		for b.Loop() {
			if _, err := z.Pillarize(feat, coords, num, src); err != nil {
				b.Fatal(err)
			}
		}
		reportPoints(b, src.Points())
	})
}

func BenchmarkTransform(b *testing.B) {
	src := kitti0(b)
	dst := ds3d.NewLidarFrame(0)
	m := ds3d.Mat4{0.99, -0.14, 0, 1, 0.14, 0.99, 0, 2, 0, 0, 1, 0.5, 0, 0, 0, 1}
	b.Run("kitti-000000", func(b *testing.B) {
		for b.Loop() {
			Transform(dst, src, m)
		}
		reportPoints(b, src.Points())
	})
}

// TestZeroAllocs checks the steady-state claim: with output frames and
// scratch reused, no function allocates per frame.
func TestZeroAllocs(t *testing.T) {
	src := kitti0(t)
	dst := ds3d.NewLidarFrame(0)
	v := VoxelGrid{Leaf: [3]float32{0.2, 0.2, 0.2}}
	z, err := NewPillarizer(DefaultPillarParams)
	if err != nil {
		t.Fatal(err)
	}
	feat, coords, num := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	var idx []int32
	for name, fn := range map[string]func(){
		"crop":        func() { Crop(dst, src, kittiROI) },
		"cropindices": func() { idx = CropIndices(idx[:0], src, kittiROI) },
		"passthrough": func() { PassThrough(dst, src, 2, -3, 1, true) },
		"transform":   func() { Transform(dst, src, ds3d.Identity4) },
		"normalize":   func() { NormalizeIntensity(dst, src, 255, 0, 1) },
		"voxel":       func() { v.Filter(dst, src) },
		"pillarize":   func() { z.Pillarize(feat, coords, num, src) },
	} {
		fn() // grow buffers once
		if a := testing.AllocsPerRun(5, fn); a != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", name, a)
		}
	}
}
