package importyaml_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/importyaml"
	_ "github.com/ds3d-go/ds3d-go/filters/depth2point"
	_ "github.com/ds3d-go/ds3d-go/fusion/mixer"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// TestRealConfigs converts every real ds3d config: the TOML validates, or
// every problem validation finds is explained by the import report, which
// names the component (and its YAML line) with no counterpart and why.
func TestRealConfigs(t *testing.T) {
	dir := sampledata.Shared(t, "ds3d-configs")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != 6 {
		t.Fatalf("%d configs, PROVENANCE lists 6", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := importyaml.Convert(f, data, "imported")
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range res.Issues {
				t.Logf("report: %s", i)
				if i.Line <= 0 || i.Component == "" || i.Why == "" {
					t.Errorf("report entry without line, component or reason: %+v", i)
				}
			}
			_, verr := config.Parse("imported.toml", dir, res.TOML)
			if verr == nil {
				return
			}
			// Whatever validation rejects must be explained: an unmapped
			// component, or a fragment without loader or render.
			explained := len(res.Unmapped) > 0
			for _, i := range res.Issues {
				if strings.Contains(i.Why, "fragment") {
					explained = true
				}
			}
			if !explained {
				t.Errorf("validation fails without an explanation in the report:\n%v\n%s", verr, res.TOML)
			}
		})
	}
	// The realsense + depth2point + render file: realsense has no
	// counterpart, depth2point maps with its max_points and pool size.
	data, err := os.ReadFile(filepath.Join(dir, "ds_3d_realsense_depth_to_point_cloud.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := importyaml.Convert("x.yaml", data, "x")
	if err != nil {
		t.Fatal(err)
	}
	toml := string(res.TOML)
	for _, want := range []string{`impl = "depth2point"`, "max_points = 407040", "mem_pool_size = 8"} {
		if !strings.Contains(toml, want) {
			t.Errorf("TOML lacks %q:\n%s", want, toml)
		}
	}
	var realsense, userapp bool
	for _, i := range res.Issues {
		realsense = realsense || (i.Component == "realsense_dataloader" && strings.Contains(i.Why, "librealsense"))
		userapp = userapp || (i.Component == "debugdump" && strings.Contains(i.Why, "userapp"))
	}
	if !realsense || !userapp {
		t.Errorf("report misses realsense (%v) or userapp (%v): %v", realsense, userapp, res.Issues)
	}
}

// A ds3d-style lidar pipeline (written here in ds3d's YAML shape, with its
// config_body keys) converts into TOML that validates.
const lidarYAML = `%YAML 1.2
---
name: lidarsource
type: ds3d::dataloader
out_caps: ds3d/datamap
custom_lib_path: libnvds_lidarfileread.so
custom_create_function: createLidarFileLoader
link_to: mixer.sink_0
config_body:
  data_config_file: lidar_list.toml
  points_num: 242180
  mem_pool_size: 4
  element_size: 4
  element_stride: 4
  file_loop: False
  output_datamap_key: DS3D::LidarXYZI
  mem_type: gpu
---
name: mixer
type: ds3d::datamixer
custom_lib_path: libnvds_3d_multisensor_mixer.so
custom_create_function: createMultiSensorMixer
link_to: count
config_body:
  max_interval_ms: 50
---
name: count
type: ds3d::datarender
custom_lib_path: libnvds_3d_userrender.so
custom_create_function: createUnknownThing
`

func TestLidarPipeline(t *testing.T) {
	res, err := importyaml.Convert("lidar.yaml", []byte(lidarYAML), "lidar")
	if err != nil {
		t.Fatal(err)
	}
	toml := string(res.TOML)
	for _, want := range []string{`impl = "lidar_file_loader"`, `data_config_file = ["lidar_list.toml"]`, "points_num = 242180",
		`output_datamap_key = ["DS3D::LidarXYZI"]`, `link_to = "mixer.sink_0"`, `impl = "multisensor_mixer"`, "max_interval_ms = 50"} {
		if !strings.Contains(toml, want) {
			t.Errorf("TOML lacks %q:\n%s", want, toml)
		}
	}
	var memType, unknown bool
	for _, i := range res.Issues {
		memType = memType || (i.Key == "config_body.mem_type" && i.Line == 17 && strings.Contains(i.Why, "cuda"))
		unknown = unknown || (i.Component == "count" && i.Line == 27 && strings.Contains(i.Why, "createUnknownThing"))
	}
	if !memType || !unknown {
		t.Errorf("report: mem_type %v, unknown function %v: %v", memType, unknown, res.Issues)
	}
	// With a sink added for the unknown renderer, the pipeline validates.
	fixed := strings.Replace(toml, `link_to = "count"`, `link_to = "sink"`, 1) + `
[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
`
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "lidar_list.toml"), []byte("[[frame]]\ntimestamp_ms = 0\npath = \""+sampledata.Sample(t, "kitti/velodyne/000000.bin")+"\"\n"), 0o644)
	if _, err := config.Parse("lidar.toml", dir, []byte(fixed)); err != nil {
		t.Errorf("converted pipeline does not validate: %v\n%s", err, fixed)
	}
}

func TestBadYAML(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"name: [\n", "import-yaml bad.yaml"},
		{"- a\n- b\n", "line 1: expected a mapping"},
		{"type: ds3d::dataloader\n", "component without a name"},
		{"# only comments\n", "no components"},
	} {
		_, err := importyaml.Convert("bad.yaml", []byte(c.in), "x")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzConvert(f *testing.F) {
	f.Add([]byte(lidarYAML))
	f.Add([]byte("---\nname: a\ntype: ds3d::datafilter\ncustom_create_function: createDepth2PointFilter\nconfig_body:\n  max_points: [1, [2]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := importyaml.Convert("f.yaml", data, "f")
		if err == nil && res == nil {
			t.Fatal("nil result without error")
		}
	})
}
