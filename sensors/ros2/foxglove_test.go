package ros2_test

import (
	"math"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// foxgloveDefs are the ROS 2 definitions of foxglove_msgs, field for field
// (comments dropped), as @foxglove/schemas 2.1.0 (npm, by Foxglove) generates
// them with generateRosMsgDefinition(schema, {rosVersion: 2}), time and
// duration spelled as builtin_interfaces types as its generateRosMsg writes
// them (the package's schemas from foxglove_msgs 2.1.0 on, which replaced
// the earlier *Marker types with *Primitive). CompressedImage and
// FrameTransforms are those of ros_foxglove_msgs/ros2 in foxglove/schemas.
var foxgloveDefs = map[string][]string{
	"SceneUpdate":         {"foxglove_msgs/SceneEntityDeletion[] deletions", "foxglove_msgs/SceneEntity[] entities"},
	"SceneEntityDeletion": {"builtin_interfaces/Time timestamp", "uint8 MATCHING_ID=0", "uint8 ALL=1", "uint8 type", "string id"},
	"SceneEntity": {"builtin_interfaces/Time timestamp", "string frame_id", "string id", "builtin_interfaces/Duration lifetime",
		"bool frame_locked", "foxglove_msgs/KeyValuePair[] metadata", "foxglove_msgs/ArrowPrimitive[] arrows",
		"foxglove_msgs/CubePrimitive[] cubes", "foxglove_msgs/SpherePrimitive[] spheres", "foxglove_msgs/CylinderPrimitive[] cylinders",
		"foxglove_msgs/LinePrimitive[] lines", "foxglove_msgs/TriangleListPrimitive[] triangles", "foxglove_msgs/TextPrimitive[] texts",
		"foxglove_msgs/ModelPrimitive[] models"},
	"CubePrimitive": {"geometry_msgs/Pose pose", "geometry_msgs/Vector3 size", "foxglove_msgs/Color color"},
	"Color":         {"float64 r", "float64 g", "float64 b", "float64 a"},
	"KeyValuePair":  {"string key", "string value"},
	"ArrowPrimitive": {"geometry_msgs/Pose pose", "float64 shaft_length", "float64 shaft_diameter", "float64 head_length",
		"float64 head_diameter", "foxglove_msgs/Color color"},
	"SpherePrimitive": {"geometry_msgs/Pose pose", "geometry_msgs/Vector3 size", "foxglove_msgs/Color color"},
	"CylinderPrimitive": {"geometry_msgs/Pose pose", "geometry_msgs/Vector3 size", "float64 bottom_scale", "float64 top_scale",
		"foxglove_msgs/Color color"},
	"LinePrimitive": {"uint8 LINE_STRIP=0", "uint8 LINE_LOOP=1", "uint8 LINE_LIST=2", "uint8 type", "geometry_msgs/Pose pose",
		"float64 thickness", "bool scale_invariant", "geometry_msgs/Point[] points", "foxglove_msgs/Color color",
		"foxglove_msgs/Color[] colors", "uint32[] indices"},
	"TriangleListPrimitive": {"geometry_msgs/Pose pose", "geometry_msgs/Point[] points", "foxglove_msgs/Color color",
		"foxglove_msgs/Color[] colors", "uint32[] indices"},
	"TextPrimitive": {"geometry_msgs/Pose pose", "bool billboard", "float64 font_size", "bool scale_invariant",
		"foxglove_msgs/Color color", "string text"},
	"ModelPrimitive": {"geometry_msgs/Pose pose", "geometry_msgs/Vector3 scale", "foxglove_msgs/Color color", "bool override_color",
		"string url", "string media_type", "uint8[] data"},
	"FrameTransform": {"builtin_interfaces/Time timestamp", "string parent_frame_id", "string child_frame_id",
		"geometry_msgs/Vector3 translation", "geometry_msgs/Quaternion rotation"},
	"PointCloud": {"builtin_interfaces/Time timestamp", "string frame_id", "geometry_msgs/Pose pose", "uint32 point_stride",
		"foxglove_msgs/PackedElementField[] fields", "uint8[] data"},
	"CompressedImage": {"builtin_interfaces/Time timestamp", "string frame_id", "uint8[] data", "string format"},
	"FrameTransforms": {"foxglove_msgs/FrameTransform[] transforms"},
	"PackedElementField": {"string name", "uint32 offset", "uint8 UNKNOWN=0", "uint8 UINT8=1", "uint8 INT8=2", "uint8 UINT16=3",
		"uint8 INT16=4", "uint8 UINT32=5", "uint8 INT32=6", "uint8 FLOAT32=7", "uint8 FLOAT64=8", "uint8 type"},
}

// TestFoxgloveDefinitions: each built-in foxglove_msgs definition is the
// official one line for line, and every foxglove_msgs type is in the list.
func TestFoxgloveDefinitions(t *testing.T) {
	seen := 0
	for _, typ := range ros2.Definitions() {
		name, ok := strings.CutPrefix(typ, "foxglove_msgs/msg/")
		if !ok {
			continue
		}
		seen++
		want, ok := foxgloveDefs[name]
		if !ok {
			t.Errorf("%s is built in but not checked", typ)
			continue
		}
		text, _ := ros2.Definition(typ)
		own, _, _ := strings.Cut(text, "\n=====")
		got := strings.Split(strings.TrimSpace(own), "\n")
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", typ, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if _, err := ros2.BuiltinSchema(typ); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if seen != len(foxgloveDefs) {
		t.Errorf("%d foxglove_msgs types built in, %d expected", seen, len(foxgloveDefs))
	}
}

var sceneBoxes = []ds3d.Box3D{
	{CX: 10, CY: -2, CZ: 0.75, DX: 4.25, DY: 1.75, DZ: 1.5, Yaw: 0.7, ClassID: 1, TrackID: 12},
	{CX: 5, CY: 3, CZ: 1, DX: 0.8, DY: 0.6, DZ: 1.7, Yaw: -2.5, ClassID: -1, TrackID: -1, Color: [4]uint8{255, 0, 51, 0}},
	{CX: 1, CY: 2, CZ: 3, DX: 1, DY: 2, DZ: 3, Yaw: 0.3, Pitch: 0.1, Roll: -0.2, ClassID: 2, TrackID: -1, Color: [4]uint8{0, 102, 255, 128}},
}

// sceneWant is what each of sceneBoxes must look like in Foxglove: ids,
// colours (RGBA in 0–1; Tableau 10 orange at alpha 0.5 for class 1) written
// out by hand.
var sceneWant = []struct {
	id    string
	color [4]float64
}{
	{"track-12", [4]float64{1, 127.0 / 255, 14.0 / 255, 0.5}},
	{"box-1", [4]float64{1, 0, 0.2, 1}},
	{"box-2", [4]float64{0, 0.4, 1, 128.0 / 255}},
}

// quatRotation is the rotation matrix (row-major) of a unit quaternion,
// the textbook formula.
func quatRotation(x, y, z, w float64) [9]float64 {
	return [9]float64{
		1 - 2*(y*y+z*z), 2 * (x*y - z*w), 2 * (x*z + y*w),
		2 * (x*y + z*w), 1 - 2*(x*x+z*z), 2 * (y*z - x*w),
		2 * (x*z - y*w), 2 * (y*z + x*w), 1 - 2*(x*x+y*y),
	}
}

// TestNpmSceneUpdate: @foxglove/rosmsg2-serialization reads our
// SceneUpdate, with our definition text, as the boxes: one ALL deletion,
// one entity per box with one cube of the box's pose, size and colour.
func TestNpmSceneUpdate(t *testing.T) {
	h := ros2.HeaderAt(1317042560123456789, "velodyne")
	msg := ros2.AppendSceneUpdate(nil, h, sceneBoxes, 1_500_000_000)
	v := npmDecode(t, ros2.SceneUpdateType, msg)[0]
	del, _ := jget(v, "deletions").([]any)
	if len(del) != 1 || jnum(jget(del[0], "type")) != 1 || jget(del[0], "id") != "" ||
		jnum(jget(del[0], "timestamp", "sec")) != 1317042560 || jnum(jget(del[0], "timestamp", "nanosec")) != 123456789 {
		t.Errorf("deletions %v, want one of type ALL (1) at the header's stamp", del)
	}
	ents, _ := jget(v, "entities").([]any)
	if len(ents) != len(sceneBoxes) {
		t.Fatalf("%d entities, want %d", len(ents), len(sceneBoxes))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	for i, e := range ents {
		b := sceneBoxes[i]
		if jget(e, "frame_id") != "velodyne" || jget(e, "id") != sceneWant[i].id || jget(e, "frame_locked") != false ||
			jnum(jget(e, "timestamp", "sec")) != 1317042560 || jnum(jget(e, "timestamp", "nanosec")) != 123456789 ||
			jnum(jget(e, "lifetime", "sec")) != 1 || jnum(jget(e, "lifetime", "nanosec")) != 5e8 {
			t.Errorf("entity %d: %v", i, e)
		}
		for _, k := range []string{"metadata", "arrows", "spheres", "cylinders", "lines", "triangles", "texts", "models"} {
			if l, ok := jget(e, k).([]any); !ok || len(l) != 0 {
				t.Errorf("entity %d: %s = %v, want empty", i, k, jget(e, k))
			}
		}
		cubes, _ := jget(e, "cubes").([]any)
		if len(cubes) != 1 {
			t.Fatalf("entity %d: %d cubes", i, len(cubes))
		}
		c := cubes[0]
		pos := jvec(jget(c, "pose", "position"), "x", "y", "z")
		size := jvec(jget(c, "size"), "x", "y", "z")
		col := jvec(jget(c, "color"), "r", "g", "b", "a")
		q := jvec(jget(c, "pose", "orientation"), "x", "y", "z", "w")
		if pos[0] != float64(b.CX) || pos[1] != float64(b.CY) || pos[2] != float64(b.CZ) {
			t.Errorf("entity %d: position %v", i, pos)
		}
		if size[0] != float64(b.DX) || size[1] != float64(b.DY) || size[2] != float64(b.DZ) {
			t.Errorf("entity %d: size %v", i, size)
		}
		for k := range 4 {
			if !near(col[k], sceneWant[i].color[k]) {
				t.Errorf("entity %d: colour %v, want %v", i, col, sceneWant[i].color)
				break
			}
		}
		if b.Pitch == 0 && b.Roll == 0 { // a yaw about z: (0, 0, sin(yaw/2), cos(yaw/2))
			y := float64(b.Yaw)
			if !near(q[0], 0) || !near(q[1], 0) || !near(q[2], math.Sin(y/2)) || !near(q[3], math.Cos(y/2)) {
				t.Errorf("entity %d: orientation %v for yaw %v", i, q, y)
			}
		}
		got, want := quatRotation(q[0], q[1], q[2], q[3]), b.Rotation()
		for k := range got {
			if !near(got[k], want[k]) {
				t.Errorf("entity %d: rotation %v, want %v", i, got, want)
				break
			}
		}
	}
	// No boxes: only the deletion, so that the last boxes vanish.
	v = npmDecode(t, ros2.SceneUpdateType, ros2.AppendSceneUpdate(nil, h, nil, 0))[0]
	if d, _ := jget(v, "deletions").([]any); len(d) != 1 {
		t.Errorf("empty update: deletions %v", d)
	}
	if e, _ := jget(v, "entities").([]any); len(e) != 0 {
		t.Errorf("empty update: entities %v", e)
	}
}

// TestNpmFrameTransform: the reference reads our FrameTransform's fields.
func TestNpmFrameTransform(t *testing.T) {
	tr := ros2.TransformStamped{Header: ros2.HeaderAt(1317042560123456789, "map"), ChildFrameID: "base_link",
		Transform: ros2.Transform{Translation: [3]float64{12.5, -3.25, 0.5}, Rotation: [4]float64{0, 0, math.Sin(0.35), math.Cos(0.35)}}}
	v := npmDecode(t, ros2.FrameTransformType, ros2.AppendFrameTransform(nil, &tr))[0]
	if jget(v, "parent_frame_id") != "map" || jget(v, "child_frame_id") != "base_link" ||
		jnum(jget(v, "timestamp", "sec")) != 1317042560 || jnum(jget(v, "timestamp", "nanosec")) != 123456789 {
		t.Errorf("FrameTransform %v", v)
	}
	if got := jvec(jget(v, "translation"), "x", "y", "z"); got[0] != 12.5 || got[1] != -3.25 || got[2] != 0.5 {
		t.Errorf("translation %v", got)
	}
	if got := jvec(jget(v, "rotation"), "x", "y", "z", "w"); got[2] != math.Sin(0.35) || got[3] != math.Cos(0.35) || got[0] != 0 || got[1] != 0 {
		t.Errorf("rotation %v", got)
	}
}

// TestSceneUpdateAllocs: appending a SceneUpdate to a buffer with room
// allocates nothing.
func TestSceneUpdateAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	h := ros2.HeaderAt(1, "velodyne")
	buf := ros2.AppendSceneUpdate(nil, h, sceneBoxes, 0)
	if a := testing.AllocsPerRun(20, func() { buf = ros2.AppendSceneUpdate(buf[:0], h, sceneBoxes, 0) }); a != 0 {
		t.Errorf("%v allocations per SceneUpdate", a)
	}
}

func BenchmarkSceneUpdate(b *testing.B) {
	boxes := make([]ds3d.Box3D, 50)
	for i := range boxes {
		boxes[i] = sceneBoxes[i%len(sceneBoxes)]
	}
	h := ros2.HeaderAt(1, "velodyne")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = ros2.AppendSceneUpdate(buf[:0], h, boxes, 0)
	}
}

// TestNpmFoxgloveSamples: ref.js writes foxglove_msgs samples (from the
// field names of the official schemas), so TestNpmGeneric reads them with
// the built-in definitions.
func TestNpmFoxgloveSamples(t *testing.T) {
	samplesOf(t, ros2.SceneUpdateType)
	samplesOf(t, ros2.FrameTransformType)
	samplesOf(t, ros2.FrameTransformsType)
	samplesOf(t, ros2.FoxglovePointCloudType)
	samplesOf(t, ros2.FoxgloveCompressedImageType)
}
