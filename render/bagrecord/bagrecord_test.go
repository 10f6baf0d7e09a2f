package bagrecord

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"

	_ "github.com/ds3d-go/ds3d-go/filters/align"
	_ "github.com/ds3d-go/ds3d-go/fusion/mixer"
	_ "github.com/ds3d-go/ds3d-go/sensors/camera"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// record runs the KITTI sample (lidar, left image, P2 and the velo→camera
// extrinsic) into mcap_writer with the given extra config lines.
func record(t *testing.T, out, extra string) {
	t.Helper()
	root := sampledata.RepoRoot(t)
	k := filepath.Join(root, "datasets", "samples", "kitti")
	dstest.MustRun(t, "", `
[[component]]
name = "lidar"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "mix.sink_0"
[component.config]
data_config_file = ["`+k+`/lidar_list.toml"]

[[component]]
name = "camera"
type = "ds3d::dataloader"
impl = "image_file_loader"
link_to = "mix.sink_1"
[component.config]
files = ["`+k+`/image_2/*.png"]

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
link_to = "bag"
[component.config]
input_datamap_key = "DS3D::LidarXYZI+0"
kitti_calib_file = "`+k+`/calib/000000.txt"
kitti_cameras = [2]
kitti_image_width = 1224
kitti_image_height = 370
depth_map = "none"

[[component]]
name = "bag"
type = "ds3d::datarender"
impl = "mcap_writer"
[component.config]
path = "`+out+`"
frame_id = "velo_link"
`+extra+`
[component.config.topics]
"DS3D::LidarXYZI+0" = "/kitti/velo"
"DS3D::ColorFrame+1" = "/kitti/image/compressed"
"DS3D::Cam2_IntrinsicMatrix" = "/kitti/camera_info"
"DS3D::LidarToCam2_ExtrinsicMatrix" = "/tf_static"
[component.config.frame_ids]
"DS3D::ColorFrame+1" = "camera_color_left"
"DS3D::Cam2_IntrinsicMatrix" = "camera_color_left"
"DS3D::LidarToCam2_ExtrinsicMatrix" = "camera_color_left"
`)
}

// TestRecordKITTI records the KITTI sample and reads it back: the cloud
// equals the .bin, the PNG-coded image the source PNG's pixels, the camera
// info the calib file's P2, and the /tf_static transform undoes the
// calib file's velo→rect·cam extrinsic.
func TestRecordKITTI(t *testing.T) {
	out := filepath.Join(t.TempDir(), "kitti")
	record(t, out, `compression = "zstd"
image_format = "png"`)
	root := sampledata.RepoRoot(t)
	k := filepath.Join(root, "datasets", "samples", "kitti")
	raw, err := os.ReadFile(filepath.Join(k, "velodyne", "000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := os.Open(filepath.Join(k, "image_2", "000000.png"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := png.Decode(pf)
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calib.ReadKITTI(filepath.Join(k, "calib", "000000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bag.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	err = b.Messages(bag.Options{}, func(m *bag.Message) error {
		seen[m.Topic]++
		switch m.Topic {
		case "/kitti/velo":
			pc, err := ros2.DecodePointCloud2(m.Data)
			if err != nil {
				return err
			}
			f, err := pc.ToFrame(nil)
			if err != nil || string(f.Data) != string(raw) || pc.Header.FrameID != "velo_link" {
				return m.Errorf("cloud differs from the .bin (frame %q, %v)", pc.Header.FrameID, err)
			}
		case "/kitti/image/compressed":
			ci, err := ros2.DecodeCompressedImage(m.Data)
			if err != nil {
				return err
			}
			img, _, err := decode.Decode(ci.Data)
			if err != nil {
				return m.Errorf("%w", err)
			}
			if ci.Format != "png" || ci.Header.FrameID != "camera_color_left" || !samePixels(src, img) {
				return m.Errorf("image %q in %s differs from the source PNG", ci.Format, ci.Header.FrameID)
			}
		case "/kitti/camera_info":
			c, err := ros2.DecodeCameraInfo(m.Data)
			if err != nil {
				return err
			}
			p2 := cal.P[2]
			if c.Width != 1224 || c.Height != 370 || c.K[0] != p2[0] || c.K[2] != p2[2] || c.K[4] != p2[5] || c.K[5] != p2[6] {
				return m.Errorf("camera info %dx%d K %v, calib P2 %v", c.Width, c.Height, c.K, p2)
			}
		case "/tf_static":
			ts, err := ros2.DecodeTFMessage(m.Data)
			if err != nil {
				return err
			}
			if len(ts) != 1 || ts[0].Header.FrameID != "velo_link" || ts[0].ChildFrameID != "camera_color_left" {
				return m.Errorf("tf %+v", ts)
			}
			// camera → lidar (the tf) then lidar → camera 2 (the calib's
			// R0_rect·Tr_velo_to_cam, then P2's offset K⁻¹·p: P2 = K·[I|K⁻¹p])
			// is the identity, up to the quaternion's normalisation of
			// KITTI's not quite orthonormal rotation.
			back := ts[0].Transform.Mat4()
			vr := cal.VeloToRect()
			e, _ := ds3d.Mat4From(vr[:])
			p := cal.P[2]
			tz := p[11]
			ty := (p[7] - p[6]*tz) / p[5]
			tx := (p[3] - p[1]*ty - p[2]*tz) / p[0]
			id := ds3d.Mat4{1, 0, 0, tx, 0, 1, 0, ty, 0, 0, 1, tz, 0, 0, 0, 1}.Mul(e).Mul(back)
			for i, v := range id {
				want := 0.0
				if i%5 == 0 {
					want = 1
				}
				if math.Abs(v-want) > 1e-6 {
					return m.Errorf("extrinsic · tf is not the identity: %v", id)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"/kitti/velo", "/kitti/image/compressed", "/kitti/camera_info", "/tf_static"} {
		if seen[topic] != 1 {
			t.Errorf("%s: %d messages, want 1 (%v)", topic, seen[topic], seen)
		}
	}

	// The MCAP authors' reader (@mcap/core, CRCs checked) and Foxglove's
	// CDR reader read the same: four topics, the cloud's bytes.
	npm := filepath.Join(root, "sensors", "ros2", "bag", "testdata", "npm")
	node := testenv.Node(t, npm)
	files, _ := filepath.Glob(filepath.Join(out, "*.mcap"))
	js := testenv.Output(t, exec.Command(node, filepath.Join(npm, "bag.mjs"), "read", files[0]))
	var got struct {
		Messages []struct {
			Topic, Type, Sha256 string
		}
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	var topics []string
	for _, m := range got.Messages {
		topics = append(topics, m.Topic)
		if m.Type == "sensor_msgs/msg/PointCloud2" && m.Sha256 != hex.EncodeToString(sum[:]) {
			t.Errorf("@mcap/core reads a cloud of sha256 %s, the .bin is %x", m.Sha256, sum)
		}
	}
	if len(topics) != 4 {
		t.Errorf("@mcap/core reads %v", topics)
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 {
				return false
			}
		}
	}
	return true
}

// TestRecordRefusals: an existing folder without overwrite, a folder that
// is not a bag even with it, a Mat4 on another topic.
func TestRecordRefusals(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(&Config{Path: ds3d.Path(dir), Topics: map[string]string{"K": "/t"}, Compression: "none"}); err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("existing folder: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if _, err := New(&Config{Path: ds3d.Path(dir), Overwrite: true, Topics: map[string]string{"K": "/t"}}); err == nil || !strings.Contains(err.Error(), "notes.txt is not part of a bag") {
		t.Errorf("folder with other files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Fatal("overwrite removed a file that is not part of a bag")
	}
	out := filepath.Join(t.TempDir(), "b")
	w, err := New(&Config{Path: ds3d.Path(out), Topics: map[string]string{"DS3D::LidarToCam2_ExtrinsicMatrix": "/calib"}, FrameID: "l", CameraFrameID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	m := ds3d.NewDataMap()
	m.Set("DS3D::LidarToCam2_ExtrinsicMatrix", ds3d.Mat4{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1})
	if err := w.Render(t.Context(), m); err == nil || !strings.Contains(err.Error(), "/tf (the ego pose) or /tf_static") {
		t.Errorf("Mat4 on /calib: %v", err)
	}
	m.Release()
	w.Close()
}
