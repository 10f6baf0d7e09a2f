package ros2_test

import (
	"bytes"
	"math"
	"os"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// kittiScan is KITTI object 000000's velodyne scan: its bytes and the
// [N, 4] frame holding them.
func kittiScan(t testing.TB) ([]byte, *ds3d.Frame) {
	t.Helper()
	b, err := os.ReadFile(sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f := ds3d.NewLidarFrame(len(b) / 16)
	copy(f.Data, b)
	return b, f
}

// TestNpmFoxglovePointCloud: @foxglove/rosmsg2-serialization reads our
// foxglove_msgs/msg/PointCloud of a KITTI scan, with our definition text,
// as the scan: the .bin's bytes as data, x y z intensity FLOAT32 (7) at
// offsets 0 4 8 12, stride 16, the identity pose, the header's stamp and
// frame. Extra columns keep their names (return → return_type, as in
// PointCloud2).
func TestNpmFoxglovePointCloud(t *testing.T) {
	bin, f := kittiScan(t)
	h := ros2.HeaderAt(1317042560123456789, "velodyne")
	msg, err := ros2.AppendFoxglovePointCloud(nil, h, f)
	if err != nil {
		t.Fatal(err)
	}
	v := npmDecode(t, ros2.FoxglovePointCloudType, msg)[0]
	if jget(v, "frame_id") != "velodyne" || jnum(jget(v, "timestamp", "sec")) != 1317042560 ||
		jnum(jget(v, "timestamp", "nanosec")) != 123456789 || jnum(v["point_stride"]) != 16 {
		t.Errorf("header or stride: frame_id %v timestamp %v point_stride %v", v["frame_id"], v["timestamp"], v["point_stride"])
	}
	if p, q := jvec(jget(v, "pose", "position"), "x", "y", "z"), jvec(jget(v, "pose", "orientation"), "x", "y", "z", "w"); !eqF(p, []float64{0, 0, 0}) || !eqF(q, []float64{0, 0, 0, 1}) {
		t.Errorf("pose %v %v, want the identity", p, q)
	}
	if !bytes.Equal(jbytes(v["data"]), bin) {
		t.Errorf("data: %d bytes differ from the %d of the .bin", len(jbytes(v["data"])), len(bin))
	}
	checkPacked(t, v, []string{"x", "y", "z", "intensity"})

	g := ds3d.NewTensorFrame(ds3d.DTypeF32, 5, 6)
	g.Type = ds3d.FrameLidarXYZI
	g.SetColumns("x", "y", "z", "intensity", ds3d.ColTime, ds3d.ColReturn)
	for i := range ds3d.AsFloat32(g) {
		ds3d.AsFloat32(g)[i] = float32(i)*0.25 - 2
	}
	msg, err = ros2.AppendFoxglovePointCloud(msg[:0], h, g)
	if err != nil {
		t.Fatal(err)
	}
	v = npmDecode(t, ros2.FoxglovePointCloudType, msg)[0]
	if jnum(v["point_stride"]) != 24 || !bytes.Equal(jbytes(v["data"]), g.Data) {
		t.Errorf("6 columns: stride %v, data equal %v", v["point_stride"], bytes.Equal(jbytes(v["data"]), g.Data))
	}
	checkPacked(t, v, []string{"x", "y", "z", "intensity", "time", "return_type"})
}

func checkPacked(t *testing.T, v map[string]any, names []string) {
	t.Helper()
	fields, _ := v["fields"].([]any)
	if len(fields) != len(names) {
		t.Fatalf("fields %v, want %v", fields, names)
	}
	for k, fl := range fields {
		if jget(fl, "name") != names[k] || jnum(jget(fl, "offset")) != float64(4*k) || jnum(jget(fl, "type")) != 7 {
			t.Errorf("field %d: %v, want %s FLOAT32 (7) at %d", k, fl, names[k], 4*k)
		}
	}
}

// TestFoxglovePointCloudBadFrame: frames that are not named float32
// [N, C] points are refused with the reason, not encoded.
func TestFoxglovePointCloudBadFrame(t *testing.T) {
	h := ros2.HeaderAt(1, "lidar")
	img := ds3d.NewTensorFrame(ds3d.DTypeU8, 4, 4, 3)
	if _, err := ros2.AppendFoxglovePointCloud(nil, h, img); err == nil || !bytes.Contains([]byte(err.Error()), []byte("not a float32 [N, C] point frame")) {
		t.Errorf("u8 image: %v", err)
	}
	unnamed := ds3d.NewTensorFrame(ds3d.DTypeF32, 4, 3)
	if _, err := ros2.AppendFoxglovePointCloud(nil, h, unnamed); err == nil || !bytes.Contains([]byte(err.Error()), []byte("no column names")) {
		t.Errorf("unnamed columns: %v", err)
	}
}

// TestNpmFrameTransforms: the reference reads both transforms of our
// FrameTransforms, in order.
func TestNpmFrameTransforms(t *testing.T) {
	ts := []ros2.TransformStamped{
		{Header: ros2.HeaderAt(1317042560123456789, "map"), ChildFrameID: "base_link",
			Transform: ros2.Transform{Translation: [3]float64{12.5, -3.25, 0.5}, Rotation: [4]float64{0, 0, math.Sin(0.35), math.Cos(0.35)}}},
		{Header: ros2.HeaderAt(1317042561000000001, "velodyne"), ChildFrameID: "camera_2",
			Transform: ros2.Transform{Translation: [3]float64{0.27, -0.08, -0.06}, Rotation: [4]float64{0.5, -0.5, 0.5, -0.5}}},
	}
	v := npmDecode(t, ros2.FrameTransformsType, ros2.AppendFrameTransforms(nil, ts))[0]
	list, _ := v["transforms"].([]any)
	if len(list) != 2 {
		t.Fatalf("transforms %v", v)
	}
	for i, tr := range list {
		w := ts[i]
		if jget(tr, "parent_frame_id") != w.Header.FrameID || jget(tr, "child_frame_id") != w.ChildFrameID ||
			jnum(jget(tr, "timestamp", "sec")) != float64(w.Header.Sec) || jnum(jget(tr, "timestamp", "nanosec")) != float64(w.Header.Nanosec) ||
			!eqF(jvec(jget(tr, "translation"), "x", "y", "z"), w.Transform.Translation[:]) ||
			!eqF(jvec(jget(tr, "rotation"), "x", "y", "z", "w"), w.Transform.Rotation[:]) {
			t.Errorf("transform %d: %v, want %+v", i, tr, w)
		}
	}
	if v := npmDecode(t, ros2.FrameTransformsType, ros2.AppendFrameTransforms(nil, nil))[0]; len(v["transforms"].([]any)) != 0 {
		t.Errorf("no transforms: %v", v)
	}
}

// TestNpmFoxgloveCompressedImage: the reference reads our
// foxglove_msgs/msg/CompressedImage of a KITTI PNG as the file's bytes and
// its format.
func TestNpmFoxgloveCompressedImage(t *testing.T) {
	png, err := os.ReadFile(sampledata.Shared(t, "kitti-object/training/image_2/000000.png"))
	if err != nil {
		t.Fatal(err)
	}
	h := ros2.HeaderAt(1317042560123456789, "camera_2")
	v := npmDecode(t, ros2.FoxgloveCompressedImageType, ros2.AppendFoxgloveCompressedImage(nil, h, "png", png))[0]
	if jget(v, "frame_id") != "camera_2" || jget(v, "format") != "png" || jnum(jget(v, "timestamp", "sec")) != 1317042560 ||
		jnum(jget(v, "timestamp", "nanosec")) != 123456789 || !bytes.Equal(jbytes(v["data"]), png) {
		t.Errorf("image: frame_id %v format %v timestamp %v, data equal %v", v["frame_id"], v["format"], v["timestamp"], bytes.Equal(jbytes(v["data"]), png))
	}
}

// TestFoxglovePointCloudAllocs: encoding a scan into a buffer with room
// allocates nothing.
func TestFoxglovePointCloudAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	_, f := kittiScan(t)
	h := ros2.HeaderAt(1, "velodyne")
	buf, _ := ros2.AppendFoxglovePointCloud(nil, h, f)
	if a := testing.AllocsPerRun(10, func() { buf, _ = ros2.AppendFoxglovePointCloud(buf[:0], h, f) }); a != 0 {
		t.Errorf("%v allocations per PointCloud", a)
	}
	ts := []ros2.TransformStamped{{Header: h, ChildFrameID: "camera", Transform: ros2.IdentityTransform}}
	tb := ros2.AppendFrameTransforms(nil, ts)
	if a := testing.AllocsPerRun(10, func() { tb = ros2.AppendFrameTransforms(tb[:0], ts) }); a != 0 {
		t.Errorf("%v allocations per FrameTransforms", a)
	}
}

func BenchmarkFoxglovePointCloud(b *testing.B) {
	_, f := kittiScan(b)
	h := ros2.HeaderAt(1, "velodyne")
	buf, _ := ros2.AppendFoxglovePointCloud(nil, h, f)
	b.SetBytes(int64(len(f.Data)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = ros2.AppendFoxglovePointCloud(buf[:0], h, f)
	}
}

// TestNpmFoxgloveSamplesBytes: our encodings of the reference's
// foxglove_msgs samples (first 300 points of KITTI scan 000001, two
// transforms, a KITTI PNG), built from the values it decoded, are its
// bytes.
func TestNpmFoxgloveSamplesBytes(t *testing.T) {
	for _, s := range samplesOf(t, ros2.FoxglovePointCloudType) {
		data := jbytes(s.Value["data"])
		f := ds3d.NewLidarFrame(len(data) / 16)
		copy(f.Data, data)
		ours, err := ros2.AppendFoxglovePointCloud(nil, ros2.Header{Sec: int32(jnum(jget(s.Value, "timestamp", "sec"))),
			Nanosec: uint32(jnum(jget(s.Value, "timestamp", "nanosec"))), FrameID: jget(s.Value, "frame_id").(string)}, f)
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, s, ours)
	}
	for _, s := range samplesOf(t, ros2.FrameTransformsType) {
		var ts []ros2.TransformStamped
		for _, tr := range s.Value["transforms"].([]any) {
			x := ros2.TransformStamped{Header: ros2.Header{Sec: int32(jnum(jget(tr, "timestamp", "sec"))), Nanosec: uint32(jnum(jget(tr, "timestamp", "nanosec"))),
				FrameID: jget(tr, "parent_frame_id").(string)}, ChildFrameID: jget(tr, "child_frame_id").(string)}
			copy(x.Transform.Translation[:], jvec(jget(tr, "translation"), "x", "y", "z"))
			copy(x.Transform.Rotation[:], jvec(jget(tr, "rotation"), "x", "y", "z", "w"))
			ts = append(ts, x)
		}
		roundTrip(t, s, ros2.AppendFrameTransforms(nil, ts))
	}
	for _, s := range samplesOf(t, ros2.FoxgloveCompressedImageType) {
		h := ros2.Header{Sec: int32(jnum(jget(s.Value, "timestamp", "sec"))), Nanosec: uint32(jnum(jget(s.Value, "timestamp", "nanosec"))),
			FrameID: jget(s.Value, "frame_id").(string)}
		roundTrip(t, s, ros2.AppendFoxgloveCompressedImage(nil, h, jget(s.Value, "format").(string), jbytes(s.Value["data"])))
	}
}
