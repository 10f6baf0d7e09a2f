package voxelize

import (
	"context"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// BenchmarkVoxelize times one cloud and a batch of four with the V2XFusion
// grid (DefaultParams) and a SECOND-style small-voxel grid.
func BenchmarkVoxelize(b *testing.B) {
	dair, kitti := readCloud(b, dairPCD), readCloud(b, kittiBin)
	second := Params{Range: [6]float64{0, -40, -3, 70.4, 40, 1}, VoxelSize: [3]float64{0.05, 0.05, 0.1}, MaxPointsPerVoxel: 5, MaxVoxels: 40000, Features: 4}
	for _, c := range []struct {
		name   string
		p      Params
		clouds []*ds3d.Frame
	}{
		{"dair-001366-v2xfusion", DefaultParams, []*ds3d.Frame{dair}},
		{"dair-001366-v2xfusion-batch4", DefaultParams, []*ds3d.Frame{dair, dair, dair, dair}},
		{"kitti-000000-second", second, []*ds3d.Frame{kitti}},
	} {
		v, err := New(c.p)
		if err != nil {
			b.Fatal(err)
		}
		feat, coords, num, nv := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0),
			ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
		pts := 0
		for _, x := range c.clouds {
			pts += x.Points()
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Voxelize(feat, coords, num, nv, c.clouds...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pts)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpoints/s")
		})
	}
}

// TestFilterZeroAlloc runs the component on a batch of four clouds through
// its pools (two sets in flight): after warm-up a frame costs no allocation.
func TestFilterZeroAlloc(t *testing.T) {
	dair := readCloud(t, dairPCD)
	c := defaultConfig()
	c.InputKeys = []string{"DS3D::LidarXYZI+0", "DS3D::LidarXYZI+1", "DS3D::LidarXYZI+2", "DS3D::LidarXYZI+3"}
	c.MemPoolSize = 2
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	f, err := NewFilter(c)
	if err != nil {
		t.Fatal(err)
	}
	m := ds3d.NewDataMap()
	for _, k := range c.InputKeys {
		m.SetFrame(ds3d.Key(k), dair.Retain())
	}
	ctx := context.Background()
	var outs []*ds3d.Frame
	emit := func(m *ds3d.DataMap) error {
		for _, k := range []string{c.FeatureKey, c.CoordKey, c.PointNumKey, c.VoxelNumKey} {
			o, err := m.Frame(ds3d.Key(k))
			if err != nil {
				return err
			}
			outs = append(outs, o)
		}
		return nil
	}
	step := func() {
		outs = outs[:0]
		if err := f.Process(ctx, m, emit); err != nil {
			t.Fatal(err)
		}
		if d := outs[0].Shape.D; outs[0].Shape.NumDims != 4 || d[0] != 4 || d[1] != 8000 || d[2] != 10 || d[3] != 4 {
			t.Fatalf("feature shape %s, want [4,8000,10,4]", outs[0].Shape)
		}
		// The next Process replaces these keys, which hands the frames back
		// to their pools (pool size 2: a leak would block Get).
	}
	step()
	if a := testing.AllocsPerRun(20, step); a != 0 {
		t.Errorf("%v allocations per frame in steady state", a)
	}
}
