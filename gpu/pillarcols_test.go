package gpu

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/pointcloud"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestGPUPillarColumns: the kernels read x y z, plus the fourth point
// column when feature i is used; column features are refused, naming the
// column.
func TestGPUPillarColumns(t *testing.T) {
	p := pointcloud.DefaultPillarParams
	if got, err := gpuPillarColumns(p); err != nil || !slices.Equal(got, []string{"x", "y", "z", "intensity"}) {
		t.Errorf("defaults: %v %v", got, err)
	}
	p.Features = []pointcloud.Feature{pointcloud.FeatX, pointcloud.FeatY, pointcloud.FeatZ, pointcloud.FeatXp}
	p.PointColumns = []string{"px", "py", "pz"}
	if got, err := gpuPillarColumns(p); err != nil || !slices.Equal(got, []string{"px", "py", "pz"}) {
		t.Errorf("no intensity: %v %v", got, err)
	}
	p.Features = append(p.Features, pointcloud.FeatI)
	if _, err := gpuPillarColumns(p); err == nil || !strings.Contains(err.Error(), "feature i") {
		t.Errorf("feature i with three point columns: %v", err)
	}
	p.PointColumns = []string{"x", "y", "z", "intensity", "time"}
	p.Features = append(p.Features, pointcloud.ColumnFeature(4))
	if _, err := gpuPillarColumns(p); err == nil || !strings.Contains(err.Error(), `"time" copies point column 4`) || !strings.Contains(err.Error(), "pillar_scatter_prep") {
		t.Errorf("column feature: %v", err)
	}
}

// cpuPillarConfig is pillar_scatter_prep's default config, which
// gpu_pillar_scatter_prep shares.
func cpuPillarConfig(t *testing.T) *pointcloud.PillarConfig {
	t.Helper()
	spec, ok := ds3d.Lookup("pillar_scatter_prep")
	if !ok {
		t.Fatal("pillar_scatter_prep is not registered")
	}
	c, ok := spec.NewConfig().(*pointcloud.PillarConfig)
	if !ok {
		t.Fatalf("pillar_scatter_prep config is %T", spec.NewConfig())
	}
	return c
}

// TestValidatePillarConfig: gpu_pillar_scatter_prep's config check takes
// point_columns as the CPU component does and refuses what the kernels
// cannot compute, under the key to change.
func TestValidatePillarConfig(t *testing.T) {
	c := cpuPillarConfig(t)
	if err := validatePillarConfig(c); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.PointColumns = []string{"x", "y", "z", "reflectance"}
	if err := validatePillarConfig(c); err != nil {
		t.Errorf("another intensity column: %v", err)
	}
	c.PointColumns = []string{"x", "y", "z", "intensity", "time"}
	c.Features = append(c.Features, "time")
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatalf("the CPU component takes a time feature: %v", err)
	}
	err := validatePillarConfig(c)
	if err == nil || !strings.Contains(err.Error(), "features") || !strings.Contains(err.Error(), "time") {
		t.Errorf("time feature on the GPU: %v", err)
	}
	c = cpuPillarConfig(t)
	c.PointColumns = []string{"x", "y", "x"}
	if err := validatePillarConfig(c); err == nil || !strings.Contains(err.Error(), "point_columns") {
		t.Errorf("repeated point column: %v", err)
	}
}

// TestColumnPlan: columns are found by name (i for intensity; an unnamed
// frame holds x y z intensity first), leading ones need no gather, and a
// missing one is an error listing the frame's columns.
func TestColumnPlan(t *testing.T) {
	f := ds3d.NewTensorFrame(ds3d.DTypeF32, 2, 5)
	f.SetColumns("ring", "intensity", "z", "x", "y")
	idx, leading, err := columnPlan(nil, f, []string{"x", "y", "z", "i"})
	if err != nil || leading || !slices.Equal(idx, []int{3, 4, 2, 1}) {
		t.Errorf("permuted: %v %v %v", idx, leading, err)
	}
	k := ds3d.NewLidarFrame(3)
	if idx, leading, err := columnPlan(idx[:0], k, []string{"x", "y", "z", "intensity"}); err != nil || !leading || !slices.Equal(idx, []int{0, 1, 2, 3}) {
		t.Errorf("KITTI-style: %v %v %v", idx, leading, err)
	}
	u := ds3d.NewTensorFrame(ds3d.DTypeF32, 3, 4)
	if idx, leading, err := columnPlan(nil, u, []string{"x", "y", "z", "i"}); err != nil || !leading || !slices.Equal(idx, []int{0, 1, 2, 3}) {
		t.Errorf("unnamed [N,4]: %v %v %v", idx, leading, err)
	}
	if _, _, err := columnPlan(nil, f, []string{"x", "y", "z", "time"}); err == nil || !strings.Contains(err.Error(), `no "time" column (its columns: ring intensity z x y)`) {
		t.Errorf("missing column: %v", err)
	}
	u3 := ds3d.NewTensorFrame(ds3d.DTypeF32, 3, 3)
	if _, _, err := columnPlan(nil, u3, []string{"x", "y", "z", "intensity"}); err == nil || !strings.Contains(err.Error(), "3 unnamed") {
		t.Errorf("unnamed [N,3] without intensity: %v", err)
	}
}

// TestGatherMatchesCPUPillarizer: a real KITTI scan with its columns
// shuffled among two extra ones gives, through columnPlan and
// gatherColumns (what the GPU uploads), the scan's own bytes back, and
// pillar_scatter_prep's CPU Pillarizer — which looks the columns up
// itself — makes the same tensors from the shuffled frame as from the scan.
func TestGatherMatchesCPUPillarizer(t *testing.T) {
	raw, err := os.ReadFile(sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	n := len(raw) / 16
	scan := ds3d.NewLidarFrame(n)
	copy(scan.Data, raw)
	sh := ds3d.NewTensorFrame(ds3d.DTypeF32, n, 6)
	sh.Type = ds3d.FrameLidarXYZI
	sh.SetColumns("ring", "intensity", "z", "time", "x", "y")
	from := []int{-1, 3, 2, -1, 0, 1} // scan column of each shuffled column
	s, d := ds3d.AsFloat32(scan), ds3d.AsFloat32(sh)
	for i := 0; i < n; i++ {
		for k, c := range from {
			if c < 0 {
				d[i*6+k] = float32(i%64) - 0.5 // ring, time: values the pillars must not read
			} else {
				d[i*6+k] = s[i*4+c]
			}
		}
	}
	idx, leading, err := columnPlan(nil, sh, []string{"x", "y", "z", "intensity"})
	if err != nil || leading {
		t.Fatalf("plan %v %v %v", idx, leading, err)
	}
	if g := gatherColumns(nil, sh.Data, n, 6, idx); !bytes.Equal(g, raw) {
		t.Fatal("the gathered columns differ from the scan's bytes")
	}
	z, err := pointcloud.NewPillarizer(pointcloud.DefaultPillarParams)
	if err != nil {
		t.Fatal(err)
	}
	var a, b [3]ds3d.Frame
	pa, err := z.Pillarize(&a[0], &a[1], &a[2], scan)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := z.Pillarize(&b[0], &b[1], &b[2], sh)
	if err != nil {
		t.Fatal(err)
	}
	if pa != pb || pa == 0 {
		t.Fatalf("%d and %d pillars", pa, pb)
	}
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("output %d differs between the scan and its shuffled copy", i)
		}
	}
}
