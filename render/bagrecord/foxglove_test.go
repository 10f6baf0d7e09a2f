package bagrecord

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// npmMessage is one message as bag.mjs read prints it: @mcap/core's
// indexed reader (CRCs checked) and @foxglove/rosmsg2-serialization
// decoding with the schema stored in the file.
type npmMessage struct {
	Topic, Type, Sha256 string
	Value               map[string]any
}

// npmRead reads every .mcap of the bag folder out with bag.mjs.
func npmRead(t *testing.T, out string) []npmMessage {
	t.Helper()
	npm := filepath.Join(sampledata.RepoRoot(t), "sensors", "ros2", "bag", "testdata", "npm")
	node := testenv.Node(t, npm)
	files, _ := filepath.Glob(filepath.Join(out, "*.mcap"))
	if len(files) != 1 {
		t.Fatalf("bag files %v, want one", files)
	}
	js := testenv.Output(t, exec.Command(node, filepath.Join(npm, "bag.mjs"), "read", files[0]))
	var got struct{ Messages []npmMessage }
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	return got.Messages
}

// at walks a decoded JSON value along field names.
func at(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

func vec(v any, keys ...string) []float64 {
	out := make([]float64, len(keys))
	for i, k := range keys {
		out[i], _ = at(v, k).(float64)
	}
	return out
}

// TestRecordKITTIFoxglove records the KITTI sample with points in both
// schemas, the image in Foxglove's only and transforms in both, and reads
// the bag with the MCAP authors' reader and Foxglove's CDR decoder: the
// foxglove_msgs PointCloud holds the .bin's bytes (x y z intensity
// FLOAT32, stride 16, identity pose) at the PointCloud2's stamp, the
// CompressedImage the source PNG's pixels, and FrameTransforms the same
// transform as the TFMessage beside it.
func TestRecordKITTIFoxglove(t *testing.T) {
	out := filepath.Join(t.TempDir(), "kitti")
	record(t, out, `point_schema = "both"
image_schema = "foxglove"
transform_schema = "both"
image_format = "png"`)
	k := filepath.Join(sampledata.RepoRoot(t), "datasets", "samples", "kitti")
	raw, err := os.ReadFile(filepath.Join(k, "velodyne", "000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	msgs := npmRead(t, out)
	byTopic := map[string]npmMessage{}
	for _, m := range msgs {
		if _, dup := byTopic[m.Topic]; dup {
			t.Errorf("%s: more than one message", m.Topic)
		}
		byTopic[m.Topic] = m
	}
	want := map[string]string{
		"/kitti/velo": ros2.PointCloud2Type, "/kitti/velo/foxglove": ros2.FoxglovePointCloudType,
		"/kitti/image/compressed": ros2.FoxgloveCompressedImageType, "/kitti/camera_info": "sensor_msgs/msg/CameraInfo",
		"/tf_static": ros2.TFMessageType, "/tf_static/foxglove": ros2.FrameTransformsType,
	}
	if len(byTopic) != len(want) {
		t.Errorf("topics %v, want %v", byTopic, want)
	}
	for topic, typ := range want {
		if byTopic[topic].Type != typ {
			t.Errorf("%s: type %q, want %s", topic, byTopic[topic].Type, typ)
		}
	}

	pc, pc2 := byTopic["/kitti/velo/foxglove"], byTopic["/kitti/velo"]
	if pc.Sha256 != hex.EncodeToString(sum[:]) || pc2.Sha256 != pc.Sha256 {
		t.Errorf("PointCloud data sha256 %s, PointCloud2 %s, the .bin %x", pc.Sha256, pc2.Sha256, sum)
	}
	v := pc.Value
	if at(v, "frame_id") != "velo_link" || at(v, "point_stride") != 16.0 ||
		at(v, "timestamp", "sec") != at(pc2.Value, "header", "stamp", "sec") || at(v, "timestamp", "nanosec") != at(pc2.Value, "header", "stamp", "nanosec") {
		t.Errorf("PointCloud frame %v stride %v stamp %v, PointCloud2 stamp %v", at(v, "frame_id"), at(v, "point_stride"), at(v, "timestamp"), at(pc2.Value, "header", "stamp"))
	}
	if p, q := vec(at(v, "pose", "position"), "x", "y", "z"), vec(at(v, "pose", "orientation"), "x", "y", "z", "w"); p[0] != 0 || p[1] != 0 || p[2] != 0 || q[0] != 0 || q[1] != 0 || q[2] != 0 || q[3] != 1 {
		t.Errorf("PointCloud pose %v %v, want the identity", p, q)
	}
	fields, _ := at(v, "fields").([]any)
	for i, name := range []string{"x", "y", "z", "intensity"} {
		if len(fields) != 4 || at(fields[i], "name") != name || at(fields[i], "offset") != float64(4*i) || at(fields[i], "type") != 7.0 {
			t.Fatalf("PointCloud fields %v, want x y z intensity FLOAT32 (7) at 0 4 8 12", fields)
		}
	}

	img := byTopic["/kitti/image/compressed"]
	if at(img.Value, "format") != "png" || at(img.Value, "frame_id") != "camera_color_left" {
		t.Errorf("image format %v frame %v", at(img.Value, "format"), at(img.Value, "frame_id"))
	}
	// The PNG bytes, read here through the bag package and the built-in
	// definition, are those the npm reader hashed and hold the source's
	// pixels.
	sc, err := ros2.BuiltinSchema(ros2.FoxgloveCompressedImageType)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bag.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	err = b.Messages(bag.Options{Topics: []string{"/kitti/image/compressed"}}, func(m *bag.Message) error {
		dm, err := sc.Decode(m.Data)
		if err != nil {
			return err
		}
		data, _ = dm.Get("data").([]byte)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := sha256.Sum256(data); hex.EncodeToString(s[:]) != img.Sha256 {
		t.Errorf("image data: npm hashes %s, the bag holds %x", img.Sha256, s)
	}
	got, _, err := decode.Decode(data)
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
	if !samePixels(src, got) {
		t.Error("the foxglove_msgs CompressedImage differs from the source PNG")
	}

	tfs, _ := at(byTopic["/tf_static"].Value, "transforms").([]any)
	fts, _ := at(byTopic["/tf_static/foxglove"].Value, "transforms").([]any)
	if len(tfs) != 1 || len(fts) != 1 {
		t.Fatalf("transforms %v and %v, want one each", tfs, fts)
	}
	tf, ft := tfs[0], fts[0]
	if at(ft, "parent_frame_id") != at(tf, "header", "frame_id") || at(ft, "child_frame_id") != at(tf, "child_frame_id") ||
		at(ft, "parent_frame_id") != "velo_link" || at(ft, "child_frame_id") != "camera_color_left" ||
		!same(vec(at(ft, "translation"), "x", "y", "z"), vec(at(tf, "transform", "translation"), "x", "y", "z")) ||
		!same(vec(at(ft, "rotation"), "x", "y", "z", "w"), vec(at(tf, "transform", "rotation"), "x", "y", "z", "w")) {
		t.Errorf("FrameTransform %v differs from TFMessage's %v", ft, tf)
	}
}

func same(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestRecordFoxgloveEgo: with transform_schema = "foxglove", the ego pose
// goes on /tf as foxglove_msgs/msg/FrameTransforms (world_frame_id →
// frame_id, the pose's translation and yaw), and no TFMessage is written;
// point_schema = "foxglove" writes only the PointCloud.
func TestRecordFoxgloveEgo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ego")
	cfg := &Config{Path: ds3d.Path(out), Topics: map[string]string{string(ds3d.KeyEgoPose): "/tf", string(ds3d.KeyLidarXYZI): "/points"},
		Compression: "lz4", FrameID: "lidar", CameraFrameID: "camera", WorldFrameID: "map",
		PointSchema: ros2.SchemaFoxglove, TransformSchema: ros2.SchemaFoxglove}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pts := ds3d.NewLidarFrame(3)
	for i := range ds3d.AsFloat32(pts) {
		ds3d.AsFloat32(pts)[i] = float32(i) - 1.5
	}
	c, s := math.Cos(0.7), math.Sin(0.7)
	for i := range 2 {
		m := ds3d.NewDataMap()
		m.SetTimestamp(int64(1_700_000_000_000_000_000 + i*100_000_000))
		m.Set(ds3d.KeyEgoPose, ds3d.Mat4{c, -s, 0, 12.5 + float64(i), s, c, 0, -3.25, 0, 0, 1, 0.5, 0, 0, 0, 1})
		m.SetFrame(ds3d.KeyLidarXYZI, pts)
		if err := w.Render(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range npmRead(t, out) {
		switch m.Topic {
		case "/points":
			if m.Type != ros2.FoxglovePointCloudType || at(m.Value, "point_stride") != 16.0 {
				t.Errorf("/points: %s stride %v", m.Type, at(m.Value, "point_stride"))
			}
		case "/tf":
			if m.Type != ros2.FrameTransformsType {
				t.Fatalf("/tf: %s", m.Type)
			}
			tr, _ := at(m.Value, "transforms").([]any)
			if len(tr) != 1 || at(tr[0], "parent_frame_id") != "map" || at(tr[0], "child_frame_id") != "lidar" ||
				!same(vec(at(tr[0], "translation"), "x", "y", "z"), []float64{12.5 + float64(n), -3.25, 0.5}) ||
				at(tr[0], "timestamp", "sec") != 1_700_000_000.0 || at(tr[0], "timestamp", "nanosec") != float64(n*100_000_000) {
				t.Errorf("/tf message %d: %v", n, tr)
			}
			// An upright turn of 0.7 rad: q = (0, 0, sin 0.35, cos 0.35).
			q := vec(at(tr[0], "rotation"), "x", "y", "z", "w")
			if math.Abs(q[0]) > 1e-12 || math.Abs(q[1]) > 1e-12 || math.Abs(q[2]-math.Sin(0.35)) > 1e-12 || math.Abs(q[3]-math.Cos(0.35)) > 1e-12 {
				t.Errorf("/tf message %d: rotation %v", n, q)
			}
			n++
		default:
			t.Errorf("unexpected topic %s (%s)", m.Topic, m.Type)
		}
	}
	if n != 2 {
		t.Errorf("%d ego poses, want 2", n)
	}
}

// TestSchemaValidate: with a schema "both", a topic may not sit where
// another key's Foxglove twin goes.
func TestSchemaValidate(t *testing.T) {
	c := &Config{Topics: map[string]string{"A": "/points", "B": "/points/foxglove"}, PointSchema: ros2.SchemaBoth}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "/points/foxglove") {
		t.Errorf("twin clash: %v", err)
	}
	c.PointSchema = ros2.SchemaROS
	if err := c.Validate(); err != nil {
		t.Errorf("no schema both: %v", err)
	}
}
