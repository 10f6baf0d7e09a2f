package smartrecord

import (
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"

	_ "github.com/ds3d-go/ds3d-go/filters/align"
	_ "github.com/ds3d-go/ds3d-go/fusion/mixer"
	_ "github.com/ds3d-go/ds3d-go/sensors/camera"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// kittiGraph is the KITTI sample (lidar, left image, P2, the velo→camera
// extrinsic) into a sink whose impl and config lines are filled in.
func kittiGraph(k, impl, cfg string) string {
	return `
[[component]]
name = "lidar"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "mix.sink_0"
[component.config]
data_config_file = ["` + k + `/lidar_list.toml"]

[[component]]
name = "camera"
type = "ds3d::dataloader"
impl = "image_file_loader"
link_to = "mix.sink_1"
[component.config]
files = ["` + k + `/image_2/*.png"]

[[component]]
name = "mix"
type = "ds3d::datamixer"
impl = "multisensor_mixer"
link_to = "align"
[component.config]
policy = "publish_on"
publish_on = 0
max_interval_ms = 50.0
force_sync = true

[[component]]
name = "align"
type = "ds3d::datafilter"
impl = "lidar_alignment_filter"
link_to = "sink"
[component.config]
input_datamap_key = "DS3D::LidarXYZI+0"
kitti_calib_file = "` + k + `/calib/000000.txt"
kitti_cameras = [2]
kitti_image_width = 1224
kitti_image_height = 370
depth_map = "none"

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "` + impl + `"
[component.config]
frame_id = "velo_link"
image_format = "jpeg"
` + cfg + `
[component.config.topics]
"DS3D::LidarXYZI+0" = "/kitti/velo"
"DS3D::ColorFrame+1" = "/kitti/image/compressed"
"DS3D::Cam2_IntrinsicMatrix" = "/kitti/camera_info"
"DS3D::LidarToCam2_ExtrinsicMatrix" = "/tf_static"
[component.config.frame_ids]
"DS3D::ColorFrame+1" = "camera_color_left"
`
}

type msg struct {
	topic, typ string
	log        uint64
	data       string
}

func messages(t *testing.T, dir string) []msg {
	t.Helper()
	b, err := bag.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []msg
	if err := b.Messages(bag.Options{}, func(m *bag.Message) error {
		out = append(out, msg{m.Topic, m.Type, m.LogTime, string(m.Data)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKITTISameAsMCAPWriter records the KITTI sample with mcap_writer and
// with smart_record (a scheduled recording at the first datamap): both bags
// hold the same topics, types, stamps and message bytes — the recorder
// converts through mcap_writer's code, and its cached copies lose nothing.
func TestKITTISameAsMCAPWriter(t *testing.T) {
	k := filepath.Join(sampledata.RepoRoot(t), "datasets", "samples", "kitti")
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref")
	dstest.MustRun(t, "", kittiGraph(k, "mcap_writer", `path = "`+ref+`"`))
	g := dstest.MustRun(t, "", kittiGraph(k, "smart_record", `output_dir = "`+dir+`/smart"
[[component.config.schedule]]
id = "kitti"
at = "0s"
`))
	r := result(t, g.Component("sink").(*Component), "kitti")
	want, got := messages(t, ref), messages(t, r.Bag)
	if len(want) != 4 || len(got) != len(want) {
		t.Fatalf("smart_record wrote %d messages, mcap_writer %d (want 4: cloud, image, camera info, tf_static)", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: smart_record %s %s at %d (%d bytes), mcap_writer %s %s at %d (%d bytes)", i,
				got[i].topic, got[i].typ, got[i].log, len(got[i].data), want[i].topic, want[i].typ, want[i].log, len(want[i].data))
		}
	}
}
