//go:build cuda

package gpu

import (
	"context"
	"fmt"
	"os"
	"testing"

	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// A CPU filter (roi_crop) straight after to_gpu, with no to_cpu: the runtime
// copies the device frame back before the filter (ds3d.ToHost), counts the
// copy in the filter's metrics, and the result equals the CPU pipeline's.
func TestAutoToHostBeforeCPUComponent(t *testing.T) {
	list := "../datasets/samples/kitti/lidar_list.toml"
	if _, err := os.Stat(list); err != nil {
		list = "datasets/samples/kitti/lidar_list.toml" // run from the repo root on the GPU machine
	}
	doc := func(upload bool) string {
		first := "roi"
		s := ""
		if upload {
			first = "upload"
			s = `
[[component]]
name = "upload"
type = "ds3d::datafilter"
impl = "to_gpu"
link_to = "roi"
[component.config]
datamap_keys = ["DS3D::LidarXYZI"]
`
		}
		return fmt.Sprintf(`
[[component]]
name = "lidar"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = %q
[component.config]
data_config_file = [%q]
file_loop = true
max_frames = 6
%s
[[component]]
name = "roi"
type = "ds3d::datafilter"
impl = "roi_crop"
link_to = "sink"
[component.config]
x_range = [0.0, 70.4]
y_range = [-40.0, 40.0]
z_range = [-3.0, 1.0]

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
[component.config]
expect = 6
`, first, list, s)
	}
	for _, upload := range []bool{false, true} {
		p, err := config.Parse("auto.toml", "", []byte(doc(upload)))
		if err != nil {
			t.Fatal(err)
		}
		g, err := pipeline.New(p, pipeline.Options{})
		if err != nil {
			t.Fatal(err)
		}
		before := TransferStats().Auto
		if err := g.Run(context.Background()); err != nil {
			t.Fatalf("upload=%v: %v", upload, err)
		}
		var roi pipeline.Metrics
		for _, m := range g.Metrics() {
			if m.Name == "roi" {
				roi = m
			}
		}
		want := uint64(0)
		if upload {
			want = 6
		}
		if roi.Transfers != want || TransferStats().Auto-before != want {
			t.Errorf("upload=%v: roi_crop saw %d automatic GPU→host copies (stats %d), want %d",
				upload, roi.Transfers, TransferStats().Auto-before, want)
		}
		if roi.Out != 6 {
			t.Errorf("upload=%v: roi_crop emitted %d datamaps, want 6", upload, roi.Out)
		}
	}
}
