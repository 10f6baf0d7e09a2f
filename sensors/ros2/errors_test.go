package ros2_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// TestTypedTruncated: every strict prefix of a reference message is an
// error naming the message type and an offset, never a panic.
func TestTypedTruncated(t *testing.T) {
	decoders := map[string]func([]byte) error{
		ros2.ImageType:           func(b []byte) error { _, err := ros2.DecodeImage(b); return err },
		ros2.CompressedImageType: func(b []byte) error { _, err := ros2.DecodeCompressedImage(b); return err },
		ros2.CameraInfoType:      func(b []byte) error { _, err := ros2.DecodeCameraInfo(b); return err },
		ros2.TFMessageType:       func(b []byte) error { _, err := ros2.DecodeTFMessage(b); return err },
		ros2.OdometryType:        func(b []byte) error { _, err := ros2.DecodeOdometry(b); return err },
		ros2.Detection3DArrayType: func(b []byte) error {
			_, _, err := ros2.DecodeDetection3DArray(b)
			return err
		},
		ros2.Detection2DArrayType: func(b []byte) error {
			_, _, err := ros2.DecodeDetection2DArray(b)
			return err
		},
	}
	for typ, decode := range decoders {
		name := typ[strings.LastIndexByte(typ, '/')+1:]
		for _, msg := range seeds(t, typ) {
			if err := decode(msg); err != nil {
				t.Fatalf("%s: the whole message: %v", typ, err)
			}
			for n := range len(msg) {
				err := decode(msg[:n])
				if err == nil {
					t.Fatalf("%s truncated to %d of %d bytes: no error", typ, n, len(msg))
				}
				if s := err.Error(); !strings.HasPrefix(s, name+": ") || n >= 4 && !strings.Contains(s, "offset") {
					t.Fatalf("%s truncated to %d: error %q lacks the type or offset", typ, n, s)
				}
			}
		}
	}
}

func TestImageErrors(t *testing.T) {
	im := ros2.Image{Height: 2, Width: 3, Encoding: "rgb8", Step: 9, Data: make([]byte, 18)}
	for _, c := range []struct {
		mod  func(*ros2.Image)
		want string
	}{
		{func(i *ros2.Image) { i.Step = 8; i.Data = make([]byte, 16) }, "step 8 < width 3 × 3 bytes of rgb8"},
		{func(i *ros2.Image) { i.Data = i.Data[:17] }, "data has 17 bytes, step 9 × height 2 = 18"},
		{func(i *ros2.Image) { i.Encoding = "yuv422" }, `encoding "yuv422" is not supported`},
		{func(i *ros2.Image) { i.Width, i.Height, i.Step, i.Data = 0, 0, 0, nil }, "is empty"},
	} {
		bad := im
		c.mod(&bad)
		if _, err := bad.ToFrame(nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	// Frame reuse and ImageFromFrame back.
	f, err := im.ToFrame(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f2, err := im.ToFrame(f); err != nil || f2 != f {
		t.Errorf("frame not reused: %v", err)
	}
	back, err := ros2.ImageFromFrame(im.Header, f)
	if err != nil || back.Encoding != "rgb8" || back.Step != 9 || back.Width != 3 || len(back.Data) != 18 {
		t.Errorf("ImageFromFrame: %+v %v", back, err)
	}
	d, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeF32, 4, 2, 20)
	if back, err := ros2.ImageFromFrame(im.Header, d); err != nil || back.Encoding != "32FC1" || back.Step != 20 {
		t.Errorf("ImageFromFrame depth: %+v %v", back, err)
	}
}

func TestCameraInfoIntrinsics(t *testing.T) {
	c := ros2.CameraInfo{Width: 640, Height: 480, DistortionModel: "plumb_bob", D: []float64{0, 0, 0, 0, 0},
		K: [9]float64{500, 0, 320, 0, 510, 240, 0, 0, 1}}
	in, err := c.Intrinsics()
	if err != nil || in.Fx != 500 || in.Fy != 510 || in.Cx != 320 || in.Cy != 240 || in.Distortion != nil {
		t.Errorf("%+v %v", in, err)
	}
	c.DistortionModel, c.D = "equidistant", []float64{0.1, 0.01, 0, 0}
	if in, err := c.Intrinsics(); err != nil || len(in.Distortion) != 4 {
		t.Errorf("equidistant: %+v %v", in, err)
	}
	c.DistortionModel = "weird"
	if _, err := c.Intrinsics(); err == nil || !strings.Contains(err.Error(), `distortion model "weird"`) {
		t.Errorf("unknown model: %v", err)
	}
	c.K = [9]float64{}
	c.P = [12]float64{400, 0, 300, 0, 0, 400, 200, 0, 0, 0, 1, 0}
	c.DistortionModel, c.D = "", nil
	if in, err := c.Intrinsics(); err != nil || in.Fx != 400 || in.Cy != 200 {
		t.Errorf("from P: %+v %v", in, err)
	}
	c.P = [12]float64{}
	if _, err := c.Intrinsics(); err == nil {
		t.Error("zero K and P: no error")
	}
	// CameraInfoFromIntrinsics gives back the same intrinsics.
	src := ds3d.Intrinsics{Fx: 721.5, Fy: 721.5, Cx: 609.6, Cy: 172.9, Width: 1242, Height: 375, Distortion: []float64{-0.1, 0.2, 0, 0, 0.01}}
	ci := ros2.CameraInfoFromIntrinsics(ros2.HeaderAt(0, "cam"), src, "")
	got, err := ci.Intrinsics()
	if err != nil || got.Fx != src.Fx || got.Cy != src.Cy || got.Width != 1242 || len(got.Distortion) != 5 || ci.P[2] != src.Cx || ci.P[3] != 0 || ci.R[4] != 1 {
		t.Errorf("round trip: %+v %+v %v", got, ci, err)
	}
}

func TestStamps(t *testing.T) {
	for _, c := range []struct {
		ns   int64
		sec  int32
		nsec uint32
	}{{0, 0, 0}, {1_500_000_000, 1, 500_000_000}, {-1, -1, 999_999_999}, {-1_700_000_000, -2, 300_000_000}} {
		h := ros2.HeaderAt(c.ns, "f")
		if h.Sec != c.sec || h.Nanosec != c.nsec || h.Nanos() != c.ns {
			t.Errorf("%d: %+v", c.ns, h)
		}
	}
}

// TestPointCloud2Columns: ToFrameColumns picks and orders columns by ds3d
// or field name and fills missing ones with 0; a missing x is an error.
func TestPointCloud2Columns(t *testing.T) {
	var msg []byte
	for _, s := range seeds(t, ros2.PointCloud2Type) {
		if len(s) < 1000 {
			msg = s // the Ouster-like cloud
		}
	}
	var pc ros2.PointCloud2
	if err := pc.Unmarshal(msg); err != nil {
		t.Fatal(err)
	}
	full, err := pc.ToFrame(nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := pc.ToFrameColumns(nil, []string{"ring", "time", "x", "return"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Columns(), " "); got != "ring time x return" || f.Type != ds3d.FrameLidarXYZI {
		t.Fatalf("columns %s", got)
	}
	a, b := ds3d.AsFloat32(full), ds3d.AsFloat32(f)
	fc := full.Stride()
	for i := range full.Points() {
		want := []float32{a[i*fc+full.Column("ring")], a[i*fc+full.Column("time")], a[i*fc], 0}
		for k := range want {
			if b[4*i+k] != want[k] {
				t.Fatalf("point %d: %v, want %v", i, b[4*i:4*i+4], want)
			}
		}
	}
	if _, err := pc.ToFrameColumns(nil, []string{"y", "x2"}); err != nil {
		t.Errorf("a missing extra column: %v", err)
	}
	if _, err := pc.ToFrameColumns(nil, nil); err == nil {
		t.Error("no columns: no error")
	}
	pc.Fields[0].Name = "xx"
	if _, err := pc.ToFrameColumns(nil, []string{"x", "y"}); err == nil || !strings.Contains(err.Error(), `no "x" field`) {
		t.Errorf("missing x: %v", err)
	}
	// A frame without column names cannot be encoded.
	if _, err := ros2.AppendPointCloud2(nil, ros2.Header{}, ds3d.NewTensorFrame(ds3d.DTypeF32, 2, 5)); err == nil || !strings.Contains(err.Error(), "no column names") {
		t.Errorf("unnamed columns: %v", err)
	}
	if _, err := ros2.AppendPointCloud2(nil, ros2.Header{}, ds3d.NewTensorFrame(ds3d.DTypeU8, 2, 4)); err == nil {
		t.Error("u8 frame: no error")
	}
}

// TestImageBGRA: bgra8 becomes RGBA with red and blue swapped, alpha kept,
// row padding dropped.
func TestImageBGRA(t *testing.T) {
	im := ros2.Image{Height: 2, Width: 1, Encoding: "bgra8", Step: 6, Data: []byte{1, 2, 3, 4, 0xAA, 0xAA, 5, 6, 7, 8, 0xAA, 0xAA}}
	f, err := im.ToFrame(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != ds3d.FrameColorRGBA || string(f.Data) != string([]byte{3, 2, 1, 4, 7, 6, 5, 8}) {
		t.Errorf("%v % x", f.Type, f.Data)
	}
}

// TestPointCloud2Times: float64 per-point times in absolute nanoseconds
// (Livox) and in relative seconds become seconds after the stamp (7 s +
// 9 ns, pc2's header); an integer "time" field other than Ouster's "t" is
// kept raw.
func TestPointCloud2Times(t *testing.T) {
	point := func(tv float64, raw uint16) []byte {
		b := make([]byte, 24)
		binary.LittleEndian.PutUint64(b[16:], math.Float64bits(tv))
		binary.LittleEndian.PutUint16(b[12:], raw)
		return b
	}
	fields := []field{{"x", 0, 7}, {"y", 4, 7}, {"z", 8, 7}, {"time", 12, 4}, {"timestamp", 16, 8}}
	for _, c := range []struct {
		tv   float64
		want float32
	}{{7e9 + 9 + 25e6, 0.025}, {-0.0125, -0.0125}, {7.5, 0.5 - 9e-9}} {
		f, _, err := ros2.DecodePointCloud2Frame(pc2(false, 1, 1, fields, 24, 24, point(c.tv, 1234)), nil)
		if err != nil {
			t.Fatal(err)
		}
		v := ds3d.AsFloat32(f)
		if got := strings.Join(f.Columns(), " "); got != "x y z intensity time timestamp" {
			t.Fatalf("columns %s", got)
		}
		if v[4] != 1234 || math.Abs(float64(v[5]-c.want)) > 1e-7 {
			t.Errorf("time %v: columns %v, want raw 1234 and %v", c.tv, v, c.want)
		}
	}
}
