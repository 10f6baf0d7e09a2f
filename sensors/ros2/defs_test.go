package ros2_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// TestDefinitions: every built-in definition parses, names each dependency
// once, and is found under both spellings of its type.
func TestDefinitions(t *testing.T) {
	names := ros2.Definitions()
	for _, want := range []string{"builtin_interfaces/msg/Time", "std_msgs/msg/Header", "std_msgs/msg/String", "std_msgs/msg/ColorRGBA",
		"sensor_msgs/msg/PointCloud2", "sensor_msgs/msg/PointField", "sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage",
		"sensor_msgs/msg/CameraInfo", "sensor_msgs/msg/RegionOfInterest", "geometry_msgs/msg/Point", "geometry_msgs/msg/Vector3",
		"geometry_msgs/msg/Quaternion", "geometry_msgs/msg/Pose", "geometry_msgs/msg/PoseWithCovariance", "geometry_msgs/msg/Twist",
		"geometry_msgs/msg/TwistWithCovariance", "geometry_msgs/msg/Transform", "geometry_msgs/msg/TransformStamped",
		"tf2_msgs/msg/TFMessage", "nav_msgs/msg/Odometry", "vision_msgs/msg/Detection3DArray", "vision_msgs/msg/Detection3D",
		"vision_msgs/msg/BoundingBox3D", "vision_msgs/msg/ObjectHypothesis", "vision_msgs/msg/ObjectHypothesisWithPose",
		"vision_msgs/msg/Detection2DArray", "vision_msgs/msg/Detection2D", "vision_msgs/msg/BoundingBox2D", "vision_msgs/msg/Pose2D",
		"vision_msgs/msg/Point2D", "visualization_msgs/msg/MarkerArray", "visualization_msgs/msg/Marker", "rcl_interfaces/msg/Log"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("%s is not built in", want)
		}
	}
	for _, n := range names {
		text, ok := ros2.Definition(n)
		short, ok2 := ros2.Definition(ros2.NormalizeType(n))
		if !ok || !ok2 || text != short {
			t.Fatalf("%s: Definition under both names: %v %v", n, ok, ok2)
		}
		s, err := ros2.ParseSchema(n, text)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if got := strings.Count(text, "\nMSG: "); got != len(s.Defs)-1 {
			t.Errorf("%s: %d MSG: sections for %d dependencies", n, got, len(s.Defs)-1)
		}
		if len(s.Defs[ros2.NormalizeType(n)].Fields) == 0 {
			t.Errorf("%s: no fields", n)
		}
	}
	if _, ok := ros2.Definition("nope/msg/Nope"); ok {
		t.Error("unknown type found")
	}
	if _, err := ros2.BuiltinSchema("nope/Nope"); err == nil || !strings.Contains(err.Error(), "no built-in definition") {
		t.Errorf("BuiltinSchema of an unknown type: %v", err)
	}
	// Marker carries the Humble/Jazzy texture and mesh_file fields.
	s, _ := ros2.BuiltinSchema("visualization_msgs/Marker")
	var fields []string
	for _, f := range s.Defs["visualization_msgs/Marker"].Fields {
		fields = append(fields, f.Name)
	}
	if got := strings.Join(fields, " "); got != "header ns id type action pose scale color lifetime frame_locked points colors texture_resource texture uv_coordinates text mesh_resource mesh_file mesh_use_embedded_materials" {
		t.Errorf("Marker fields: %s", got)
	}
}

// TestDefinitionsMatchBags: the types rosbag2 itself stored in the shared
// bags (std_msgs/String, rcl_interfaces/Log and the builtin_interfaces/Time
// inside it) have field for field the built-in definitions.
func TestDefinitionsMatchBags(t *testing.T) {
	root := sampledata.Shared(t, "ros2-bags")
	checked := map[string]bool{}
	b, err := bag.Open(root + "/talker")
	if err != nil {
		t.Fatal(err)
	}
	err = b.Messages(bag.Options{}, func(m *bag.Message) error {
		theirs, err := m.Schema()
		if err != nil {
			return err
		}
		ours, err := ros2.BuiltinSchema(m.Type)
		if err != nil {
			return nil // not built in (ParameterEvent)
		}
		for name, d := range theirs.Defs {
			od, ok := ours.Defs[name]
			if !ok {
				t.Errorf("%s: bag defines %s, ours does not", m.Type, name)
				continue
			}
			if !reflect.DeepEqual(od.Fields, d.Fields) {
				t.Errorf("%s: %s fields\n ours %+v\n bag  %+v", m.Type, name, od.Fields, d.Fields)
			}
			checked[name] = true
		}
		if len(ours.Defs) != len(theirs.Defs) {
			t.Errorf("%s: %d types, bag %d", m.Type, len(ours.Defs), len(theirs.Defs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"std_msgs/String", "rcl_interfaces/Log", "builtin_interfaces/Time"} {
		if !checked[want] {
			t.Errorf("%s not compared (not in the talker bag?)", want)
		}
	}
}
