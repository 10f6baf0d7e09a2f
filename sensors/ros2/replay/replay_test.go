package replay

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/render/bagrecord"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// The mount of the test bag: velodyne in base_link, 0.81 m ahead, 0.32 m
// right, 1.73 m up, turned 0.05 rad about z (chosen for the test).
var (
	mountT   = [3]float64{0.81, -0.32, 1.73}
	mountYaw = 0.05
	t0       = int64(1_700_000_000_000_000_000)
)

// kittiFrame reads KITTI 000000.bin as a [N,4] frame.
func kittiFrame(t *testing.T) (*ds3d.Frame, []byte) {
	raw, err := os.ReadFile(sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f := ds3d.NewLidarFrame(len(raw) / 16)
	copy(f.Data, raw)
	return f, raw
}

var (
	bagOnce sync.Once
	bagDir  string
	bagTmp  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bagTmp != "" {
		os.RemoveAll(bagTmp)
	}
	os.Exit(code)
}

// writeBag writes, once for all tests, a bag of three clouds on /points
// (frame velodyne, 100 ms apart), the mount on /tf_static, one CameraInfo
// and one Detection3DArray.
func writeBag(t *testing.T, f *ds3d.Frame) string {
	bagOnce.Do(func() {
		var err error
		if bagTmp, err = os.MkdirTemp("", "replay-test-"); err != nil {
			t.Fatal(err)
		}
		bagDir = writeBagTo(t, filepath.Join(bagTmp, "bag"), f)
	})
	if bagDir == "" {
		t.Fatal("the test bag could not be written")
	}
	return bagDir
}

func writeBagTo(t *testing.T, dir string, f *ds3d.Frame) string {
	w, err := bag.Create(dir, bag.WriterOptions{Compression: "lz4"})
	if err != nil {
		t.Fatal(err)
	}
	add := func(topic, typ string) bag.TopicID {
		def, ok := ros2.Definition(typ)
		if !ok {
			t.Fatalf("no definition of %s", typ)
		}
		id, err := w.AddTopic(topic, typ, def)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	tfs := add("/tf_static", ros2.TFMessageType)
	pts := add("/points", "sensor_msgs/msg/PointCloud2")
	cam := add("/camera_info", "sensor_msgs/msg/CameraInfo")
	det := add("/detections", "vision_msgs/msg/Detection3DArray")
	put := func(id bag.TopicID, ns int64, b []byte) {
		if err := w.Write(id, ns, ns, b); err != nil {
			t.Fatal(err)
		}
	}
	mount := ros2.TransformStamped{Header: ros2.HeaderAt(t0, "base_link"), ChildFrameID: "velodyne",
		Transform: ros2.Transform{Translation: mountT, Rotation: [4]float64{0, 0, math.Sin(mountYaw / 2), math.Cos(mountYaw / 2)}}}
	put(tfs, t0, ros2.AppendTFMessage(nil, []ros2.TransformStamped{mount}))
	for i := range 3 {
		ns := t0 + int64(i)*100e6
		b, err := ros2.AppendPointCloud2(nil, ros2.HeaderAt(ns, "velodyne"), f)
		if err != nil {
			t.Fatal(err)
		}
		put(pts, ns, b)
	}
	in := ds3d.Intrinsics{Fx: 721.5377, Fy: 721.5377, Cx: 609.5593, Cy: 172.854, Width: 1242, Height: 375}
	put(cam, t0+1e6, ros2.AppendCameraInfo(nil, ros2.CameraInfoFromIntrinsics(ros2.HeaderAt(t0+1e6, "camera"), in, "")))
	boxes := []ds3d.Box3D{{CX: 10, CY: 1, CZ: -1, DX: 4, DY: 1.8, DZ: 1.5, Yaw: 0.3, ClassID: 0, Score: 0.9, TrackID: 7}}
	put(det, t0+2e6, ros2.AppendDetection3DArray(nil, ros2.HeaderAt(t0+2e6, "velodyne"), boxes))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

type got struct {
	ts     int64
	key    ds3d.Key
	points []float32
	cols   []string
	intr   ds3d.Intrinsics
	boxes  []ds3d.Box3D
}

func summarise(m *ds3d.DataMap) (got, error) {
	var g got
	g.ts, _ = m.Timestamp()
	m.Range(func(k ds3d.Key, v any) bool {
		switch x := v.(type) {
		case *ds3d.Frame:
			g.key, g.points, g.cols = k, append([]float32(nil), ds3d.AsFloat32(x)...), append([]string(nil), x.Columns()...)
		case ds3d.Intrinsics:
			g.key, g.intr = k, x
		case []ds3d.Box3D:
			g.key, g.boxes = k, append([]ds3d.Box3D(nil), x...)
		}
		return true
	})
	return g, nil
}

func drain(t *testing.T, cfg *Config) []got {
	t.Helper()
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return dstest.Drain(ctx, t, l, summarise)
}

func cfgFor(dir string, topics map[string]string) *Config {
	return &Config{Path: ds3d.Path(dir), Topics: topics, PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}}
}

// TestReplayAsRecorded: every mapped message becomes one datamap in log
// order, stamped with its header time; the clouds equal KITTI's .bin bit
// for bit, the intrinsics and boxes the values written.
func TestReplayAsRecorded(t *testing.T) {
	f, raw := kittiFrame(t)
	dir := writeBag(t, f)
	out := drain(t, cfgFor(dir, map[string]string{"/points": "DS3D::LidarXYZI", "/camera_info": "DS3D::Cam0_IntrinsicMatrix", "/detections": "DS3D::Lidar3DBboxRawData"}))
	wantTS := []int64{t0, t0 + 1e6, t0 + 2e6, t0 + 100e6, t0 + 200e6}
	if len(out) != len(wantTS) {
		t.Fatalf("%d datamaps, want %d", len(out), len(wantTS))
	}
	for i, g := range out {
		if g.ts != wantTS[i] {
			t.Errorf("datamap %d: timestamp %d, want %d", i, g.ts, wantTS[i])
		}
	}
	for _, i := range []int{0, 3, 4} {
		g := out[i]
		if g.key != ds3d.KeyLidarXYZI || strings.Join(g.cols, ",") != "x,y,z,intensity" {
			t.Fatalf("datamap %d: key %s columns %v", i, g.key, g.cols)
		}
		for j, v := range g.points {
			if math.Float32bits(v) != binary.LittleEndian.Uint32(raw[4*j:]) {
				t.Fatalf("datamap %d: value %d is %v, the .bin has %v", i, j, v, math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])))
			}
		}
	}
	if in := out[1].intr; in.Fx != 721.5377 || in.Cy != 172.854 || in.Width != 1242 || in.Height != 375 {
		t.Errorf("intrinsics %+v", in)
	}
	if b := out[2].boxes; len(b) != 1 || b[0].CX != 10 || b[0].DX != 4 || math.Abs(float64(b[0].Yaw)-0.3) > 1e-6 || b[0].TrackID != 7 {
		t.Errorf("boxes %+v", b)
	}
}

// TestReplayIntoFrame: with frame_id the clouds and boxes come into
// base_link through /tf_static; the reference transforms the .bin with the
// mount's rotation matrix written from its angle (numpy, element-wise).
func TestReplayIntoFrame(t *testing.T) {
	f, _ := kittiFrame(t)
	dir := writeBag(t, f)
	cfg := cfgFor(dir, map[string]string{"/points": "DS3D::LidarXYZI", "/detections": "DS3D::Lidar3DBboxRawData"})
	cfg.FrameID = "base_link"
	out := drain(t, cfg)
	if len(out) != 4 {
		t.Fatalf("%d datamaps, want 4", len(out))
	}
	ref := testenv.RunPython(t, []string{"numpy"}, "-c", `
import sys, numpy as np
p = np.fromfile(sys.argv[1], dtype='<f4').reshape(-1, 4).astype(np.float64)
c, s = np.cos(float(sys.argv[2])), np.sin(float(sys.argv[2]))
x, y, z = p[:, 0], p[:, 1], p[:, 2]
out = np.stack([c*x - s*y + float(sys.argv[3]), s*x + c*y + float(sys.argv[4]), z + float(sys.argv[5]), p[:, 3]], axis=1)
sys.stdout.buffer.write(out.astype('<f4').tobytes())
`, sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin"), "0.05", "0.81", "-0.32", "1.73")
	g := out[0]
	if len(g.points)*4 != len(ref) {
		t.Fatalf("%d values, numpy %d", len(g.points), len(ref)/4)
	}
	worst := 0.0
	for j, v := range g.points {
		w := math.Float32frombits(binary.LittleEndian.Uint32(ref[4*j:]))
		worst = max(worst, math.Abs(float64(v-w)))
	}
	// float32 outputs of float64 sums in different orders: a few ulp of
	// values up to 80 m.
	t.Logf("largest difference from numpy: %g m", worst)
	if worst > 2e-5 {
		t.Errorf("points differ from numpy by up to %g m", worst)
	}
	b := out[1].boxes[0]
	c, s := math.Cos(mountYaw), math.Sin(mountYaw)
	wx, wy := c*10-s*1+mountT[0], s*10+c*1+mountT[1]
	if math.Abs(float64(b.CX)-wx) > 1e-5 || math.Abs(float64(b.CY)-wy) > 1e-5 || math.Abs(float64(b.CZ)-(-1+mountT[2])) > 1e-5 ||
		math.Abs(float64(b.Yaw)-(0.3+mountYaw)) > 1e-6 {
		t.Errorf("box in base_link %+v, want centre (%v, %v, %v) yaw %v", b, wx, wy, -1+mountT[2], 0.3+mountYaw)
	}
}

// TestReplayWindowLoopAndLimits: start/end select by log time, loop keeps
// the timestamps increasing, max_frames ends a loop.
func TestReplayWindowLoopAndLimits(t *testing.T) {
	f, _ := kittiFrame(t)
	dir := writeBag(t, f)
	cfg := cfgFor(dir, map[string]string{"/points": "DS3D::LidarXYZI"})
	cfg.Start, cfg.End = 50*time.Millisecond, 150*time.Millisecond
	if out := drain(t, cfg); len(out) != 1 || out[0].ts != t0+100e6 {
		t.Fatalf("window [50 ms, 150 ms): %d datamaps", len(out))
	}
	// the bare .mcap (no metadata.yaml: its topics and start are read from
	// the file) selects the same
	files, _ := filepath.Glob(filepath.Join(dir, "*.mcap"))
	cfg.Path = ds3d.Path(files[0])
	if out := drain(t, cfg); len(out) != 1 || out[0].ts != t0+100e6 {
		t.Fatalf("bare .mcap, window [50 ms, 150 ms): %d datamaps", len(out))
	}
	cfg = cfgFor(dir, map[string]string{"/points": "DS3D::LidarXYZI"})
	cfg.Loop, cfg.MaxFrames = true, 7
	out := drain(t, cfg)
	if len(out) != 7 {
		t.Fatalf("loop with max_frames 7: %d datamaps", len(out))
	}
	for i := 1; i < len(out); i++ {
		if d := out[i].ts - out[i-1].ts; d != 100e6 {
			t.Errorf("datamap %d comes %d ns after the one before, want 100 ms", i, d)
		}
	}
}

// TestReplayErrors: a topic the bag lacks, a type the loader does not
// convert, a frame_id the tree does not know.
func TestReplayErrors(t *testing.T) {
	f, _ := kittiFrame(t)
	dir := writeBag(t, f)
	for _, tc := range []struct {
		topics map[string]string
		frame  string
		want   string
	}{
		{map[string]string{"/nope": "K"}, "", `has no topic "/nope" (topics: /camera_info, /detections, /points, /tf_static)`},
		{map[string]string{"/tf_static": "K"}, "", "is tf2_msgs/msg/TFMessage, which the loader does not convert"},
	} {
		_, err := New(cfgFor(dir, tc.topics))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.topics, err, tc.want)
		}
	}
	cfg := cfgFor(dir, map[string]string{"/points": "DS3D::LidarXYZI"})
	cfg.FrameID = "odom"
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.Next(context.Background())
	if err == nil || !strings.Contains(err.Error(), "odom") || !strings.Contains(err.Error(), "/points") {
		t.Errorf("unknown target frame: %v", err)
	}
}

// TestReplayPipelineToBag: a bag replayed through a pipeline into
// mcap_writer gives a bag whose clouds decode to the same points.
func TestReplayPipelineToBag(t *testing.T) {
	f, raw := kittiFrame(t)
	dir := writeBag(t, f)
	outDir := filepath.Join(t.TempDir(), "out")
	dstest.MustRun(t, "", `
[[component]]
name = "bag"
type = "ds3d::dataloader"
impl = "mcap_file_loader"
link_to = "rec"
[component.config]
path = "`+dir+`"
topics = { "/points" = "DS3D::LidarXYZI", "/detections" = "DS3D::Lidar3DBboxRawData" }

[[component]]
name = "rec"
type = "ds3d::datarender"
impl = "mcap_writer"
[component.config]
path = "`+outDir+`"
scene = true
topics = { "DS3D::LidarXYZI" = "/ds3d/points", "DS3D::Lidar3DBboxRawData" = "/ds3d/boxes" }
`)
	b, err := bag.Open(outDir)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var pc ros2.PointCloud2
	err = b.Messages(bag.Options{}, func(m *bag.Message) error {
		counts[m.Topic]++
		if m.Topic == "/ds3d/points" {
			if err := pc.Unmarshal(m.Data); err != nil {
				return err
			}
			fr, err := pc.ToFrame(nil)
			if err != nil {
				return err
			}
			if string(fr.Data) != string(raw) {
				return m.Errorf("points differ from the .bin")
			}
		}
		v, err := m.Decode()
		if err != nil {
			return err
		}
		if m.Topic == "/ds3d/boxes/scene" {
			// one box: a delete-all, then one entity with one cube
			dels, _ := v.Get("deletions").([]any)
			ents, _ := v.Get("entities").([]any)
			if len(dels) != 1 || len(ents) != 1 {
				return m.Errorf("SceneUpdate with %d deletions and %d entities, want 1 and 1", len(dels), len(ents))
			}
			if cubes, _ := ents[0].(*ros2.Message).Get("cubes").([]any); len(cubes) != 1 {
				return m.Errorf("scene entity with %d cubes, want 1", len(cubes))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if counts["/ds3d/points"] != 3 || counts["/ds3d/boxes"] != 1 || counts["/ds3d/boxes/markers"] != 1 || counts["/ds3d/boxes/scene"] != 1 {
		t.Errorf("topics written: %v", counts)
	}
}
