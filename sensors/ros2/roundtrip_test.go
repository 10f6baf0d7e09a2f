package ros2_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// TestRoundTrip: every typed codec decodes what it encodes (no reference
// needed; TestNpm… check the bytes against @foxglove's libraries).
func TestRoundTrip(t *testing.T) {
	h := ros2.HeaderAt(1_317_042_560_123_456_789, "cam2")
	im := &ros2.Image{Header: h, Height: 2, Width: 2, Encoding: "mono16", IsBigendian: 1, Step: 5, Data: []byte{1, 2, 3, 4, 0, 5, 6, 7, 8, 0}}
	if got, err := ros2.DecodeImage(ros2.AppendImage([]byte{9, 9}, im)[2:]); err != nil || !reflect.DeepEqual(got, im) {
		t.Errorf("Image: %+v %v", got, err)
	}
	ci := &ros2.CameraInfo{Header: h, Height: 375, Width: 1242, DistortionModel: "rational_polynomial", D: []float64{1, 2, 3, 4, 5, 6, 7, 8},
		K: [9]float64{1, 0, 2, 0, 3, 4, 0, 0, 1}, R: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}, P: [12]float64{5: 7}, BinningX: 1, BinningY: 2,
		ROI: ros2.RegionOfInterest{XOffset: 1, YOffset: 2, Height: 3, Width: 4, DoRectify: true}}
	if got, err := ros2.DecodeCameraInfo(ros2.AppendCameraInfo(nil, ci)); err != nil || !reflect.DeepEqual(got, ci) {
		t.Errorf("CameraInfo: %+v %v", got, err)
	}
	ts := []ros2.TransformStamped{tfAt("map", "odom", 5, [3]float64{1, 2, 3}, [4]float64{0, 0, math.Sin(0.3), math.Cos(0.3)}), tfAt("odom", "base", -5, [3]float64{}, [4]float64{0, 0, 0, 1})}
	if got, err := ros2.DecodeTFMessage(ros2.AppendTFMessage(nil, ts)); err != nil || !reflect.DeepEqual(got, ts) {
		t.Errorf("TFMessage: %+v %v", got, err)
	}
	o := &ros2.Odometry{Header: h, ChildFrameID: "base_link", Pose: ros2.PoseWithCovariance{Pose: ros2.Pose{Position: [3]float64{1, 2, 3}, Orientation: [4]float64{0, 0, 0, 1}}, Covariance: [36]float64{0: 1, 35: 2}},
		Twist: ros2.TwistWithCovariance{Twist: ros2.Twist{Linear: [3]float64{4, 5, 6}, Angular: [3]float64{7, 8, 9}}, Covariance: [36]float64{7: 3}}}
	if got, err := ros2.DecodeOdometry(ros2.AppendOdometry(nil, o)); err != nil || !reflect.DeepEqual(got, o) {
		t.Errorf("Odometry: %+v %v", got, err)
	}
	c := &ros2.CompressedImage{Header: h, Format: "jpeg", Data: []byte{0xff, 0xd8}}
	if got, err := ros2.DecodeCompressedImage(ros2.AppendCompressedImage(nil, c)); err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("CompressedImage: %+v %v", got, err)
	}
	boxes := []ds3d.Box3D{
		{CX: 1, CY: 2, CZ: 3, DX: 4, DY: 5, DZ: 6, Yaw: 0.5, Pitch: 0.1, Roll: -0.2, Label: "Car", ClassID: -1, Score: 0.5, TrackID: 7},
		{CX: -1, DX: 1, DY: 1, DZ: 1, Yaw: -3, ClassID: 4, Score: 0.25, TrackID: -1},
	}
	gh, got, err := ros2.DecodeDetection3DArray(ros2.AppendDetection3DArray(nil, h, boxes))
	if err != nil || gh != h || len(got) != 2 {
		t.Fatalf("Detection3DArray: %v %v", gh, err)
	}
	for i := range boxes {
		a, b := boxes[i], got[i]
		if math.Abs(float64(a.Yaw-b.Yaw)) > 1e-6 || math.Abs(float64(a.Pitch-b.Pitch)) > 1e-6 || math.Abs(float64(a.Roll-b.Roll)) > 1e-6 {
			t.Errorf("box %d angles %v %v %v, want %v %v %v", i, b.Yaw, b.Pitch, b.Roll, a.Yaw, a.Pitch, a.Roll)
		}
		a.Yaw, a.Pitch, a.Roll, b.Yaw, b.Pitch, b.Roll = 0, 0, 0, 0, 0, 0
		if a != b {
			t.Errorf("box %d: %+v, want %+v", i, b, a)
		}
	}
	objs := []ds3d.Object2D{{Left: 1, Top: 2, Width: 3, Height: 4, ClassID: 2, Score: 0.5, TrackID: 9}, {Left: 5, Width: 1, Height: 1, Label: "person", ClassID: -1, TrackID: -1}}
	gh, gotO, err := ros2.DecodeDetection2DArray(ros2.AppendDetection2DArray(nil, h, objs))
	if err != nil || gh != h || !reflect.DeepEqual(gotO, objs) {
		t.Errorf("Detection2DArray: %+v %v", gotO, err)
	}
	// The generic decoder reads the marker array with the built-in schema.
	s, _ := ros2.BuiltinSchema(ros2.MarkerArrayType)
	m, err := s.Decode(ros2.AppendMarkerArray(nil, h, boxes, 1_500_000_000))
	if err != nil {
		t.Fatal(err)
	}
	ms := m.Get("markers").([]any)
	if len(ms) != 3 || ms[0].(*ros2.Message).Get("action").(int64) != ros2.MarkerDeleteAll || ms[2].(*ros2.Message).Get("type").(int64) != ros2.MarkerCube {
		t.Errorf("markers %v", ms)
	}
	if lt := ms[1].(*ros2.Message).Get("lifetime").(*ros2.Message); lt.Get("sec").(int64) != 1 || lt.Get("nanosec").(uint64) != 5e8 {
		t.Errorf("lifetime %v", lt)
	}
}

// TestQuatEuler: QuatFromEuler matches Box3D.Rotation, and EulerFromQuat
// inverts it.
func TestQuatEuler(t *testing.T) {
	for _, e := range [][3]float64{{0.3, 0, 0}, {-2.9, 0.2, -0.4}, {1.2, -1.1, 3}} {
		q := ros2.QuatFromEuler(e[0], e[1], e[2])
		b := ds3d.Box3D{Yaw: float32(e[0]), Pitch: float32(e[1]), Roll: float32(e[2])}
		want := b.Rotation()
		got := quatMat(q[:])
		for k := range got {
			if math.Abs(got[k]-want[k]) > 1e-6 {
				t.Fatalf("%v: %v, want %v", e, got, want)
			}
		}
		y, p, r := ros2.EulerFromQuat(q)
		if math.Abs(y-e[0]) > 1e-9 || math.Abs(p-e[1]) > 1e-9 || math.Abs(r-e[2]) > 1e-9 {
			t.Errorf("%v → %v %v %v", e, y, p, r)
		}
	}
}
