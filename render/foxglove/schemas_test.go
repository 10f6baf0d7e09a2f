package foxglove

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// nodeClient runs client.mjs against addr until it has count messages of
// every topic, and returns the last message of each topic.
func nodeClient(t *testing.T, node, addr string, count int, topics ...string) map[string]nodeLine {
	t.Helper()
	args := append([]string{"client.mjs", "ws://" + addr, strconv.Itoa(count)}, topics...)
	cmd := exec.Command(node, args...)
	cmd.Dir = "testdata/npm"
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("reference client failed: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("reference client did not finish\n%s", stderr.String())
	}
	got := map[string]nodeLine{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l nodeLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("client output %.200q: %v", sc.Text(), err)
		}
		if l.Status != nil {
			t.Errorf("server sent a status: %s", sc.Text())
		}
		if l.Topic != "" {
			got[l.Topic] = l
		}
	}
	return got
}

// checkCloud: the client decoded every point of f bit for bit, as x y z
// intensity at stride 16 in frame lidar, stamped with its receive time.
func checkCloud(t *testing.T, topic string, l nodeLine, f *ds3d.Frame) {
	t.Helper()
	c := l.Cloud
	if c == nil {
		t.Fatalf("%s: no cloud", topic)
	}
	n := f.Points()
	if c.Count != n || c.PointStep != 16 || strings.Join(c.Fields, " ") != "x y z intensity" || c.FrameID != "lidar" {
		t.Errorf("%s: %d points, step %d, fields %v, frame %q; want %d, 16, x y z intensity, lidar", topic, c.Count, c.PointStep, c.Fields, c.FrameID, n)
	}
	if ns := int64(c.Sec)*1e9 + int64(c.Nanosec); l.ReceiveNs != "" && l.ReceiveNs != formatInt(ns) {
		t.Errorf("%s: stamp %d ns, receive timestamp %s: want the datamap's timestamp in both", topic, ns, l.ReceiveNs)
	}
	all, err := base64.StdEncoding.DecodeString(c.XYZI)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(all, f.Data[:n*16]) {
		t.Errorf("%s: the %d points the client decoded differ from the frame's bytes", topic, n)
	}
}

func formatInt(v int64) string { return strconv.FormatInt(v, 10) }

// TestFoxgloveSchemasClientDecodes: with point_schema = "both",
// image_schema and transform_schema = "foxglove" and the ego pose on, the
// FoxgloveClient of @foxglove/ws-protocol sees Foxglove's own schemas
// advertised (foxglove_msgs PointCloud, CompressedImage, FrameTransforms)
// next to the ROS PointCloud2, decodes them with
// @foxglove/rosmsg2-serialization from the advertised ros2msg text, and
// gets the pipeline's values: the KITTI scan bit for bit at the identity
// pose, the image, the lidar→camera transform and the ego pose.
func TestFoxgloveSchemasClientDecodes(t *testing.T) {
	node := testenv.Node(t, "testdata/npm")
	f := kittiFrame(t)
	addr := freePort(t)
	stop := runPipeline(t, addr, `point_schema = "both"`, `image_schema = "foxglove"`, `transform_schema = "foxglove"`,
		`ego_pose_key = "DS3D::EgoPose"`)
	defer stop()
	got := nodeClient(t, node, addr, 1, "/ds3d/points", "/ds3d/points/foxglove", "/ds3d/image/compressed", "/tf_static", "/tf")

	for topic, schema := range map[string]string{
		"/ds3d/points": "sensor_msgs/msg/PointCloud2", "/ds3d/points/foxglove": "foxglove_msgs/msg/PointCloud",
		"/ds3d/image/compressed": "foxglove_msgs/msg/CompressedImage", "/tf_static": "foxglove_msgs/msg/FrameTransforms",
		"/tf": "foxglove_msgs/msg/FrameTransforms",
	} {
		if got[topic].Schema != schema {
			t.Errorf("%s: schema %q, want %s", topic, got[topic].Schema, schema)
		}
	}
	checkCloud(t, "/ds3d/points", got["/ds3d/points"], f)
	checkCloud(t, "/ds3d/points/foxglove", got["/ds3d/points/foxglove"], f)
	if p := got["/ds3d/points/foxglove"].Cloud; p != nil && !eqF(p.Pose, []float64{0, 0, 0, 0, 0, 0, 1}) {
		t.Errorf("PointCloud pose %v, want the identity", p.Pose)
	}
	img := got["/ds3d/image/compressed"].Image
	checkImage(t, img)
	if ns := int64(img.Sec)*1e9 + int64(img.Nanosec); got["/ds3d/image/compressed"].ReceiveNs != formatInt(ns) {
		t.Errorf("image stamp %d, receive timestamp %s", ns, got["/ds3d/image/compressed"].ReceiveNs)
	}
	checkTF(t, got["/tf_static"].Transforms)

	ego := got["/tf"].Transforms
	if len(ego) != 1 || ego[0].Parent != "map" || ego[0].Child != "lidar" {
		t.Fatalf("ego transforms %+v: want one, map → lidar", ego)
	}
	// testEgo is 0.7 rad about z: q = (0, 0, sin 0.35, cos 0.35).
	if tr := ego[0].Translation; tr != [3]float64{12.5, -3.25, 0.5} {
		t.Errorf("ego translation %v", tr)
	}
	q := ego[0].Rotation
	if !eqFTol(q[:], []float64{0, 0, math.Sin(0.35), math.Cos(0.35)}, 1e-12) {
		t.Errorf("ego rotation %v, want (0, 0, sin 0.35, cos 0.35)", q)
	}
}

func eqF(a, b []float64) bool { return eqFTol(a, b, 0) }

func eqFTol(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// TestSchemaConfig: the schema keys pick the channels and their topics,
// and a Foxglove twin may not take another content's topic.
func TestSchemaConfig(t *testing.T) {
	adv := func(edit func(*Config)) map[string]string {
		c := NewConfig()
		edit(c)
		s, err := New(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, ch := range s.channels {
			out[ch.Topic] = ch.SchemaName
		}
		return out
	}
	def := adv(func(*Config) {})
	if def["/ds3d/points"] != "sensor_msgs/msg/PointCloud2" || def["/tf_static"] != "tf2_msgs/msg/TFMessage" ||
		def["/ds3d/image/compressed"] != "sensor_msgs/msg/CompressedImage" || def["/tf"] != "" || len(def) != 4 {
		t.Errorf("defaults advertise %v", def)
	}
	fx := adv(func(c *Config) {
		c.PointSchema, c.ImageSchema, c.TransformSchema, c.EgoPoseKey = ros2.SchemaFoxglove, ros2.SchemaBoth, ros2.SchemaBoth, string(ds3d.KeyEgoPose)
	})
	want := map[string]string{
		"/ds3d/points": "foxglove_msgs/msg/PointCloud", "/ds3d/boxes": "visualization_msgs/msg/MarkerArray",
		"/ds3d/image/compressed": "sensor_msgs/msg/CompressedImage", "/ds3d/image/compressed/foxglove": "foxglove_msgs/msg/CompressedImage",
		"/tf_static": "tf2_msgs/msg/TFMessage", "/tf_static/foxglove": "foxglove_msgs/msg/FrameTransforms",
		"/tf": "tf2_msgs/msg/TFMessage", "/tf/foxglove": "foxglove_msgs/msg/FrameTransforms",
	}
	if len(fx) != len(want) {
		t.Errorf("advertised %v, want %v", fx, want)
	}
	for k, v := range want {
		if fx[k] != v {
			t.Errorf("%s: %q, want %s", k, fx[k], v)
		}
	}
	c := NewConfig()
	c.PointSchema, c.ImageTopic = ros2.SchemaBoth, "/ds3d/points/foxglove"
	if err := c.Validate(); err == nil || !contains(err.Error(), "/ds3d/points/foxglove") {
		t.Errorf("image_topic on the points' Foxglove twin: %v", err)
	}
	c = NewConfig()
	c.EgoPoseKey, c.EgoTopic = string(ds3d.KeyEgoPose), c.TFTopic
	if err := c.Validate(); err == nil || !contains(err.Error(), "ego_topic") {
		t.Errorf("ego_topic equal to tf_topic: %v", err)
	}
	c = NewConfig()
	c.PointsKey, c.BoxesKey, c.ImageKey, c.ExtrinsicsKey, c.EgoPoseKey = "", "", "", "", string(ds3d.KeyEgoPose)
	if err := c.Validate(); err != nil {
		t.Errorf("only the ego pose: %v", err)
	}
}

// TestRenderAllocsFoxglove: with every content in both schemas and the ego
// pose on, encoding and queueing for two subscribers allocates nothing in
// steady state.
func TestRenderAllocsFoxglove(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	c := NewConfig()
	c.PointSchema, c.TransformSchema, c.EgoPoseKey = ros2.SchemaBoth, ros2.SchemaBoth, string(ds3d.KeyEgoPose)
	s, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := fakeSubscriber(s), fakeSubscriber(s)
	m := frameMap(kittiFrame(t), testBoxes())
	defer m.Release()
	m.Set(ds3d.KeyEgoPose, testEgo)
	n := testing.AllocsPerRun(50, func() {
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		drain(a)
		drain(b)
	})
	if n != 0 {
		t.Errorf("Render allocates %v times per datamap, want 0", n)
	}
	// Each subscriber gets both clouds, the markers and both ego poses.
	if err := s.Render(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if len(a.queue) != 5 || len(b.queue) != 5 {
		t.Errorf("%d and %d messages queued per datamap, want 5", len(a.queue), len(b.queue))
	}
	drain(a)
	drain(b)
}
