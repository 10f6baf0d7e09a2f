package pointcloud

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// TestExampleCropVoxel runs apps/examples/filter_crop_voxel.toml (sink
// redirected to a temporary file) and checks the counts against the
// functions: the KITTI sample 000000 has 62,853 points in the ROI and
// 12,568 voxels of 0.2 m (PCL VoxelGrid gives 12,568 on the same crop).
func TestExampleCropVoxel(t *testing.T) {
	cfg := filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "filter_crop_voxel.toml")
	p, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	for _, c := range p.Components {
		if fc, ok := c.Config.(*builtin.FileSinkConfig); ok {
			fc.Path = ds3d.Path(out)
		}
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	src := readCloud(t, sampledata.Sample(t, "kitti/velodyne/000000.bin"))
	crop := ds3d.NewLidarFrame(0)
	Crop(crop, src, kittiROI)
	vox := ds3d.NewLidarFrame(0)
	n, err := Voxelize(vox, crop, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	want := ds3d.Summary(vox)
	if lines := bytes.Count(b, []byte("\n")); lines != 1 || !strings.Contains(string(b), want) {
		t.Fatalf("sink wrote %d lines %q, want one line holding %q", lines, b, want)
	}
	if n != 12568 {
		t.Errorf("%d voxels in the ROI, PCL VoxelGrid gives 12568", n)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []struct {
		impl, key string
		edit      func(any)
	}{
		{"roi_crop", "x_range", func(c any) { c.(*CropConfig).XRange = []float64{1, 0} }},
		{"roi_crop", "y_range", func(c any) { c.(*CropConfig).YRange = []float64{1} }},
		{"roi_crop", "filter_limits", func(c any) { c.(*CropConfig).FilterField = "z" }},
		{"roi_crop", "mem_pool_size", func(c any) { c.(*CropConfig).MemPoolSize = 0 }},
		{"roi_crop", "input_datamap_key", func(c any) { c.(*CropConfig).InputKey = "" }},
		{"point_transform", "matrix", func(c any) { c.(*TransformConfig).Matrix = []float64{1, 2, 3} }},
		{"intensity_normalize", "scale", func(c any) { c.(*NormalizeConfig).Scale = 0 }},
		{"intensity_normalize", "min", func(c any) { c.(*NormalizeConfig).Min = 2 }},
		{"voxel_downsample", "leaf_size", func(c any) { c.(*VoxelConfig).LeafSize = []float64{0.1, -1, 0.1} }},
		{"voxel_downsample", "min_points_per_voxel", func(c any) { c.(*VoxelConfig).MinPoints = -1 }},
		{"pillar_scatter_prep", "point_cloud_range", func(c any) { c.(*PillarConfig).Range = []float64{0, 0, 0} }},
		{"pillar_scatter_prep", "pillar_size", func(c any) { c.(*PillarConfig).PillarSize = []float64{0.16, 0.16, 3} }},
		{"pillar_scatter_prep", "features", func(c any) { c.(*PillarConfig).Features = []string{"x", "w"} }},
		{"pillar_scatter_prep", "max_pillars", func(c any) { c.(*PillarConfig).MaxPillars = 0 }},
		{"pillar_scatter_prep", "point_columns", func(c any) { c.(*PillarConfig).PointColumns = []string{"x", "y"} }},
		{"pillar_scatter_prep", "point_columns", func(c any) { c.(*PillarConfig).PointColumns = []string{"x", "y", "z"} }},
		{"pillar_scatter_prep", "point_columns", func(c any) { c.(*PillarConfig).PointColumns = []string{"x", "y", "z", ""} }},
		{"pillar_scatter_prep", "features", func(c any) { c.(*PillarConfig).Features = []string{"x", "time"} }},
	}
	for _, impl := range []string{"roi_crop", "point_transform", "intensity_normalize", "voxel_downsample", "pillar_scatter_prep"} {
		s, ok := ds3d.Lookup(impl)
		if !ok {
			t.Fatalf("%s not registered", impl)
		}
		if err := ds3d.CheckConfig(s.NewConfig()); err != nil {
			t.Errorf("%s defaults: %v", impl, err)
		}
	}
	for _, b := range bad {
		s, _ := ds3d.Lookup(b.impl)
		c := s.NewConfig()
		b.edit(c)
		err := ds3d.CheckConfig(c)
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != b.key {
			t.Errorf("%s: edit of %s: got %v, want a ConfigError on %s", b.impl, b.key, err, b.key)
		}
	}
}

// TestComponents runs each component once on KITTI 000000 and checks the
// outputs against the plain functions, and that pooled frames come back.
func TestComponents(t *testing.T) {
	src := kitti0(t)
	build := func(impl string, edit func(any)) ds3d.Filter {
		s, _ := ds3d.Lookup(impl)
		c := s.NewConfig()
		if edit != nil {
			edit(c)
		}
		f, err := s.Build(c, &ds3d.Env{Name: impl})
		if err != nil {
			t.Fatal(err)
		}
		return f.(ds3d.Filter)
	}
	run := func(f ds3d.Filter) *ds3d.DataMap {
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.KeyLidarXYZI, src)
		var got *ds3d.DataMap
		if err := f.Process(context.Background(), m, func(o *ds3d.DataMap) error { got = o; return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := ds3d.NewLidarFrame(0)
	for i := 0; i < 6; i++ { // more than mem_pool_size: frames must come back
		m := run(build("roi_crop", func(c any) {
			c.(*CropConfig).XRange, c.(*CropConfig).YRange, c.(*CropConfig).ZRange = []float64{0, 70.4}, []float64{-40, 40}, []float64{-3, 1}
			c.(*CropConfig).FilterField, c.(*CropConfig).FilterLimit, c.(*CropConfig).Negative = "intensity", []float64{0, 0.1}, true
		}))
		f, _ := m.Frame(ds3d.KeyLidarXYZI)
		Crop(want, src, kittiROI)
		PassThrough(want, want, 3, 0, 0.1, true)
		if !bytes.Equal(f.Data[:f.Bytes()], want.Data[:want.Bytes()]) {
			t.Fatal("roi_crop differs from Crop + PassThrough")
		}
		m.Release()
	}
	m := run(build("voxel_downsample", nil))
	f, _ := m.Frame(ds3d.KeyLidarXYZI)
	if n, _ := Voxelize(want, src, 0.2); f.Points() != n || n != 22603 {
		t.Errorf("voxel_downsample: %d points, Voxelize %d, PCL 22603", f.Points(), n)
	}
	m.Release()
	m = run(build("point_transform", func(c any) { c.(*TransformConfig).Matrix = []float64{1, 0, 0, 1, 0, 1, 0, 2, 0, 0, 1, 3} }))
	f, _ = m.Frame(ds3d.KeyLidarXYZI)
	if g, s := ds3d.AsFloat32(f), ds3d.AsFloat32(src); g[0] != s[0]+1 || g[1] != s[1]+2 || g[2] != s[2]+3 || g[3] != s[3] {
		t.Errorf("point_transform: %v from %v", g[:4], s[:4])
	}
	m.Release()
	m = run(build("intensity_normalize", func(c any) { c.(*NormalizeConfig).Scale = 0.5 }))
	f, _ = m.Frame(ds3d.KeyLidarXYZI)
	for i := 0; i < 1000; i++ {
		if v, w := ds3d.AsFloat32(f)[4*i+3], min(ds3d.AsFloat32(src)[4*i+3]/0.5, 1); v != w {
			t.Fatalf("intensity_normalize point %d: %v, want %v", i, v, w)
		}
	}
	m.Release()
	m = run(build("pillar_scatter_prep", nil))
	z, _ := NewPillarizer(DefaultPillarParams)
	P, _ := z.Pillarize(ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), src)
	for _, k := range []ds3d.Key{ds3d.KeyLidarFeatureTensor, ds3d.KeyLidarCoordTensor, ds3d.KeyLidarPointNumTensor} {
		f, err := m.Frame(k)
		if err != nil || f.Points() != P {
			t.Errorf("%s: %v, want %d pillars (err %v)", k, f.Shape, P, err)
		}
	}
	m.Release()
}
