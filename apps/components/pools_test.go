package components_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	_ "github.com/ds3d-go/ds3d-go/apps/components"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestLoadersReportPools runs each file-replaying loader on bundled data
// with a pool of 3 and checks what /metrics will read of it
// (ds3d_pool_frames, ds3d_pool_frames_in_use): every pool of the loader is
// reported with its configured size, and every frame is back at the end.
func TestLoadersReportPools(t *testing.T) {
	root := sampledata.RepoRoot(t)
	samples := filepath.Join(root, "datasets", "samples")
	cases := []struct{ impl, cfg string }{
		{"test_source", `points = 100
count = 4`},
		{"lidar_file_loader", fmt.Sprintf("data_config_file = [%q]", filepath.Join(samples, "kitti", "lidar_list.toml"))},
		{"pcap_file_loader", fmt.Sprintf("path = %q", filepath.Join(samples, "lidar-raw", "vlp16_strongest_2018.pcap"))},
		{"mcap_file_loader", fmt.Sprintf("path = %q\n[component.config.topics]\n\"/kitti/velo/pointcloud\" = \"DS3D::LidarXYZI\"", filepath.Join(samples, "ros2", "kitti_000000"))},
		{"image_file_loader", fmt.Sprintf("files = [%q]\nmax_frames = 3", filepath.Join(samples, "kitti", "image_2", "*.png"))},
	}
	for _, c := range cases {
		t.Run(c.impl, func(t *testing.T) {
			doc := fmt.Sprintf(`[pipeline]
name = "pools"

[[component]]
name = "src"
type = "ds3d::dataloader"
impl = %q
link_to = "sink"
[component.config]
mem_pool_size = 3
%s

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
`, c.impl, c.cfg)
			p, err := config.Parse(c.impl+".toml", t.TempDir(), []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			g, err := pipeline.New(p, pipeline.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := g.Run(ctx); err != nil {
				t.Fatal(err)
			}
			var pools int
			for _, cp := range g.Pools() {
				if cp.Component != "src" {
					continue
				}
				for _, ps := range cp.Pools {
					pools++
					if ps.Size != 3 || ps.InUse != 0 {
						t.Errorf("pool %q: size %d, in use %d after the run; want 3, 0", ps.Name, ps.Size, ps.InUse)
					}
				}
			}
			if pools == 0 {
				t.Errorf("%s reports no frame pool", c.impl)
			}
		})
	}
}

// TestFiltersReportPools runs example pipelines and checks that every
// filter and mixer with a mem_pool_size key reports its pools, all returned at the
// end: a pool the metrics cannot see is a stall nobody can diagnose.
func TestFiltersReportPools(t *testing.T) {
	root := sampledata.RepoRoot(t)
	for _, name := range []string{"filter_crop_voxel.toml", "filter_pillars.toml", "filter_sweeps.toml", "filter_outliers.toml", "mux_two_cameras.toml"} {
		t.Run(name, func(t *testing.T) {
			p, err := config.Load(filepath.Join(root, "apps", "examples", name))
			if err != nil {
				t.Fatal(err)
			}
			g, err := pipeline.New(p, pipeline.Options{Headless: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := g.Run(ctx); err != nil {
				t.Fatal(err)
			}
			reported := map[string]int{}
			for _, cp := range g.Pools() {
				for _, ps := range cp.Pools {
					reported[cp.Component]++
					if ps.InUse != 0 || ps.Size < 1 {
						t.Errorf("%s pool %q: size %d, %d in use after the run", cp.Component, ps.Name, ps.Size, ps.InUse)
					}
				}
			}
			filters := 0
			for _, c := range p.Components {
				v := reflect.ValueOf(c.Config)
				pooled := v.Kind() == reflect.Pointer && v.Elem().FieldByName("MemPoolSize").IsValid()
				if c.Kind != "ds3d::datafilter" && c.Kind != "ds3d::datamixer" || !pooled {
					continue
				}
				filters++
				if reported[c.Name] == 0 {
					t.Errorf("%s (%s) has mem_pool_size but reports no pool", c.Name, c.Impl)
				}
			}
			if filters == 0 {
				t.Fatal("no pooled filter in the example: the test checks nothing")
			}
		})
	}
}
