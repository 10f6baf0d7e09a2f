package outlier

import (
	"context"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestComponents runs the three registered filters on KITTI 000000 and
// compares their frames with the functions'.
func TestComponents(t *testing.T) {
	src, _ := kitti(t, 0)
	run := func(impl string, edit func(any)) *ds3d.DataMap {
		t.Helper()
		spec, ok := ds3d.Lookup(impl)
		if !ok {
			t.Fatalf("%s not registered", impl)
		}
		c := spec.NewConfig()
		if edit != nil {
			edit(c)
		}
		if err := ds3d.CheckConfig(c); err != nil {
			t.Fatal(err)
		}
		comp, err := spec.Build(c, &ds3d.Env{Name: impl})
		if err != nil {
			t.Fatal(err)
		}
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.KeyLidarXYZI, src)
		var out *ds3d.DataMap
		if err := comp.(ds3d.Filter).Process(context.Background(), m, func(m *ds3d.DataMap) error { out = m; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	m := run("statistical_outlier_removal", nil)
	f, _ := m.Frame(ds3d.KeyLidarXYZI)
	want := ds3d.NewLidarFrame(0)
	(&Statistical{MeanK: 16, StdMul: 1}).Filter(want, src)
	if f.Points() != want.Points() || f.Points() == 0 {
		t.Errorf("SOR component kept %d, function %d", f.Points(), want.Points())
	}
	m = run("radius_outlier_removal", nil)
	f, _ = m.Frame(ds3d.KeyLidarXYZI)
	(&Radius{Radius: 0.5, MinNeighbors: 2}).Filter(want, src)
	if f.Points() != want.Points() {
		t.Errorf("radius component kept %d, function %d", f.Points(), want.Points())
	}
	m = run("ransac_ground_segmentation", func(c any) { c.(*GroundConfig).GroundKey = "ground" })
	rest, _ := m.Frame(ds3d.KeyLidarXYZI)
	ground, err := m.Frame("ground")
	if err != nil {
		t.Fatal(err)
	}
	if rest.Points()+ground.Points() != src.Points() || ground.Points() < src.Points()*4/10 {
		t.Errorf("ground %d + rest %d of %d", ground.Points(), rest.Points(), src.Points())
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []struct {
		impl, key string
		edit      func(any)
	}{
		{"statistical_outlier_removal", "mean_k", func(c any) { c.(*SORConfig).MeanK = 0 }},
		{"statistical_outlier_removal", "workers", func(c any) { c.(*SORConfig).Workers = 0 }},
		{"statistical_outlier_removal", "mem_pool_size", func(c any) { c.(*SORConfig).MemPoolSize = 0 }},
		{"radius_outlier_removal", "radius", func(c any) { c.(*RadiusConfig).Radius = -1 }},
		{"radius_outlier_removal", "min_neighbors", func(c any) { c.(*RadiusConfig).MinNeighbors = -1 }},
		{"ransac_ground_segmentation", "distance_threshold", func(c any) { c.(*GroundConfig).Threshold = 0 }},
		{"ransac_ground_segmentation", "max_tilt_deg", func(c any) { c.(*GroundConfig).MaxTiltDeg = 100 }},
		{"ransac_ground_segmentation", "input_datamap_key", func(c any) { c.(*GroundConfig).InputKey = "" }},
	}
	for _, b := range bad {
		spec, _ := ds3d.Lookup(b.impl)
		c := spec.NewConfig()
		if err := ds3d.CheckConfig(c); err != nil {
			t.Fatalf("%s defaults: %v", b.impl, err)
		}
		b.edit(c)
		if err := ds3d.CheckConfig(c); err == nil || !strings.Contains(err.Error(), b.key) {
			t.Errorf("%s %s: %v", b.impl, b.key, err)
		}
	}
}
