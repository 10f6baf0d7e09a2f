package ros2_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

func eqF(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNpmImage(t *testing.T) {
	for _, s := range samplesOf(t, "sensor_msgs/msg/Image") {
		im, err := ros2.DecodeImage(s.bytes)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		v := s.Value
		if im.Header != jheader(v["header"]) || float64(im.Height) != jnum(v["height"]) || float64(im.Width) != jnum(v["width"]) ||
			im.Encoding != v["encoding"] || float64(im.IsBigendian) != jnum(v["is_bigendian"]) || float64(im.Step) != jnum(v["step"]) ||
			!bytes.Equal(im.Data, jbytes(v["data"])) {
			t.Errorf("%s: decoded %+v", s.Name, im)
		}
		roundTrip(t, s, ros2.AppendImage(nil, im))
		// ToFrame against the reference's pixels, read here pixel by pixel.
		f, err := im.ToFrame(nil)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		data, step := jbytes(v["data"]), int(jnum(v["step"]))
		w, h := int(jnum(v["width"])), int(jnum(v["height"]))
		for y := range h {
			for x := range w {
				row := data[y*step:]
				switch enc := v["encoding"]; enc {
				case "rgb8", "bgr8":
					r, g, b := row[3*x], row[3*x+1], row[3*x+2]
					if enc == "bgr8" {
						r, b = b, r
					}
					o := f.Data[(y*w+x)*3:]
					if o[0] != r || o[1] != g || o[2] != b || f.Type != ds3d.FrameColorRGB {
						t.Fatalf("%s (%d,%d): %v, want %v", s.Name, x, y, o[:3], []byte{r, g, b})
					}
				case "mono8":
					o := f.Data[(y*w+x)*3:]
					if o[0] != row[x] || o[1] != row[x] || o[2] != row[x] {
						t.Fatalf("%s (%d,%d): %v, want gray %d", s.Name, x, y, o[:3], row[x])
					}
				case "16UC1", "mono16":
					want := binary.LittleEndian.Uint16(row[2*x:])
					if jnum(v["is_bigendian"]) != 0 {
						want = binary.BigEndian.Uint16(row[2*x:])
					}
					if got := ds3d.AsUint16(f)[y*w+x]; got != want || f.Type != ds3d.FrameDepth || f.DType != ds3d.DTypeU16 {
						t.Fatalf("%s (%d,%d): %d, want %d", s.Name, x, y, got, want)
					}
				case "32FC1":
					want := math.Float32frombits(binary.LittleEndian.Uint32(row[4*x:]))
					if got := ds3d.AsFloat32(f)[y*w+x]; got != want || f.DType != ds3d.DTypeF32 {
						t.Fatalf("%s (%d,%d): %v, want %v", s.Name, x, y, got, want)
					}
				}
			}
		}
		if f.Plane.Width != w || f.Plane.Height != h || f.Plane.Pitch != w*f.Plane.BytesPerPixel {
			t.Errorf("%s: plane %+v", s.Name, f.Plane)
		}
	}
}

func TestNpmCompressedImage(t *testing.T) {
	for _, s := range samplesOf(t, "sensor_msgs/msg/CompressedImage") {
		c, err := ros2.DecodeCompressedImage(s.bytes)
		if err != nil {
			t.Fatal(err)
		}
		if c.Header != jheader(s.Value["header"]) || c.Format != s.Value["format"] || !bytes.Equal(c.Data, jbytes(s.Value["data"])) {
			t.Errorf("%s: decoded %v %q %d bytes", s.Name, c.Header, c.Format, len(c.Data))
		}
		roundTrip(t, s, ros2.AppendCompressedImage(nil, c))
		if s.Name != "kitti-png" {
			continue
		}
		f, err := c.ToFrame(nil)
		if err != nil {
			t.Fatal(err)
		}
		// KITTI's image_2 frames are 1242×375 RGB PNGs.
		if f.Plane.Width != 1242 || f.Plane.Height != 375 || f.Type != ds3d.FrameColorRGB {
			t.Errorf("%s: frame %v %+v", s.Name, f.Type, f.Plane)
		}
	}
}

func TestNpmCameraInfo(t *testing.T) {
	for _, s := range samplesOf(t, "sensor_msgs/msg/CameraInfo") {
		c, err := ros2.DecodeCameraInfo(s.bytes)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		v := s.Value
		roi := v["roi"]
		if c.Header != jheader(v["header"]) || float64(c.Height) != jnum(v["height"]) || float64(c.Width) != jnum(v["width"]) ||
			c.DistortionModel != v["distortion_model"] || !eqF(c.D, jfloats(v["d"])) || !eqF(c.K[:], jfloats(v["k"])) ||
			!eqF(c.R[:], jfloats(v["r"])) || !eqF(c.P[:], jfloats(v["p"])) ||
			float64(c.BinningX) != jnum(v["binning_x"]) || float64(c.BinningY) != jnum(v["binning_y"]) ||
			float64(c.ROI.XOffset) != jnum(jget(roi, "x_offset")) || float64(c.ROI.YOffset) != jnum(jget(roi, "y_offset")) ||
			float64(c.ROI.Height) != jnum(jget(roi, "height")) || float64(c.ROI.Width) != jnum(jget(roi, "width")) ||
			c.ROI.DoRectify != jget(roi, "do_rectify") {
			t.Errorf("%s: decoded %+v", s.Name, c)
		}
		roundTrip(t, s, ros2.AppendCameraInfo(nil, c))
		in, err := c.Intrinsics()
		if err != nil {
			t.Fatal(err)
		}
		k := jfloats(v["k"])
		if in.Fx != k[0] || in.Fy != k[4] || in.Cx != k[2] || in.Cy != k[5] || in.Width != int(c.Width) || !eqF(in.Distortion, jfloats(v["d"])) {
			t.Errorf("%s: intrinsics %+v", s.Name, in)
		}
	}
}

func TestNpmTF(t *testing.T) {
	for _, s := range samplesOf(t, "tf2_msgs/msg/TFMessage") {
		ts, err := ros2.DecodeTFMessage(s.bytes)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		want, _ := s.Value["transforms"].([]any)
		if len(ts) != len(want) {
			t.Fatalf("%s: %d transforms, want %d", s.Name, len(ts), len(want))
		}
		for i, w := range want {
			g := ts[i]
			if g.Header != jheader(jget(w, "header")) || g.ChildFrameID != jget(w, "child_frame_id") ||
				!eqF(g.Transform.Translation[:], jvec(jget(w, "transform", "translation"), "x", "y", "z")) ||
				!eqF(g.Transform.Rotation[:], jvec(jget(w, "transform", "rotation"), "x", "y", "z", "w")) {
				t.Errorf("%s [%d]: %+v", s.Name, i, g)
			}
		}
		roundTrip(t, s, ros2.AppendTFMessage(nil, ts))
	}
}

func TestNpmOdometry(t *testing.T) {
	for _, s := range samplesOf(t, "nav_msgs/msg/Odometry") {
		o, err := ros2.DecodeOdometry(s.bytes)
		if err != nil {
			t.Fatal(err)
		}
		v := s.Value
		if o.Header != jheader(v["header"]) || o.ChildFrameID != v["child_frame_id"] ||
			!eqF(o.Pose.Pose.Position[:], jvec(jget(v, "pose", "pose", "position"), "x", "y", "z")) ||
			!eqF(o.Pose.Pose.Orientation[:], jvec(jget(v, "pose", "pose", "orientation"), "x", "y", "z", "w")) ||
			!eqF(o.Pose.Covariance[:], jfloats(jget(v, "pose", "covariance"))) ||
			!eqF(o.Twist.Twist.Linear[:], jvec(jget(v, "twist", "twist", "linear"), "x", "y", "z")) ||
			!eqF(o.Twist.Twist.Angular[:], jvec(jget(v, "twist", "twist", "angular"), "x", "y", "z")) ||
			!eqF(o.Twist.Covariance[:], jfloats(jget(v, "twist", "covariance"))) {
			t.Errorf("%s: decoded %+v", s.Name, o)
		}
		roundTrip(t, s, ros2.AppendOdometry(nil, o))
	}
}

// TestNpmDetection3D: the reference's detections decode into boxes (the
// best hypothesis; yaw of a z-only quaternion is 2·atan2(z, w)); our boxes
// read back in the reference as written.
func TestNpmDetection3D(t *testing.T) {
	s := samplesOf(t, "vision_msgs/msg/Detection3DArray")[0]
	h, boxes, err := ros2.DecodeDetection3DArray(s.bytes)
	if err != nil {
		t.Fatal(err)
	}
	dets, _ := s.Value["detections"].([]any)
	if h != jheader(s.Value["header"]) || len(boxes) != len(dets) {
		t.Fatalf("header %v, %d boxes of %d", h, len(boxes), len(dets))
	}
	f32 := func(v float64) float32 { return float32(v) }
	for i, d := range dets {
		b := boxes[i]
		c := jget(d, "bbox", "center")
		q := jvec(jget(c, "orientation"), "x", "y", "z", "w")
		yaw := 2 * math.Atan2(q[2], q[3])
		yaw = math.Atan2(math.Sin(yaw), math.Cos(yaw))
		p := jvec(jget(c, "position"), "x", "y", "z")
		sz := jvec(jget(d, "bbox", "size"), "x", "y", "z")
		if b.CX != f32(p[0]) || b.CY != f32(p[1]) || b.CZ != f32(p[2]) || b.DX != f32(sz[0]) || b.DY != f32(sz[1]) || b.DZ != f32(sz[2]) ||
			math.Abs(float64(b.Yaw)-yaw) > 1e-6 || math.Abs(float64(b.Pitch)) > 1e-6 || math.Abs(float64(b.Roll)) > 1e-6 {
			t.Errorf("box %d: %+v, want centre %v size %v yaw %v", i, b, p, sz, yaw)
		}
		// The best-scoring hypothesis gives class and score.
		res, _ := jget(d, "results").([]any)
		wantLabel, wantClass, wantScore := "", int32(-1), float32(0)
		best := -1.0
		for _, r := range res {
			if sc := jnum(jget(r, "hypothesis", "score")); sc > best {
				best = sc
				id := jget(r, "hypothesis", "class_id").(string)
				if n, err := strconv.Atoi(id); err == nil {
					wantLabel, wantClass = "", int32(n)
				} else {
					wantLabel, wantClass = id, -1
				}
				wantScore = float32(sc)
			}
		}
		wantTrack := int64(-1)
		if n, err := strconv.Atoi(jget(d, "id").(string)); err == nil {
			wantTrack = int64(n)
		}
		if b.Label != wantLabel || b.ClassID != wantClass || b.Score != wantScore || b.TrackID != wantTrack {
			t.Errorf("box %d: class %q/%d score %v track %d, want %q/%d %v %d", i, b.Label, b.ClassID, b.Score, b.TrackID, wantLabel, wantClass, wantScore, wantTrack)
		}
	}
	// Ours, read by the reference.
	in := []ds3d.Box3D{
		{CX: 10, CY: -2, CZ: 0.8, DX: 4.2, DY: 1.8, DZ: 1.5, Yaw: 0.7, Label: "Car", ClassID: 0, Score: 0.875, TrackID: 12},
		{CX: 5, CY: 3, CZ: 1, DX: 0.8, DY: 0.6, DZ: 1.7, Yaw: -2.5, ClassID: 1, Score: 0.5, TrackID: -1},
		{CX: 1, CY: 2, CZ: 3, DX: 1, DY: 2, DZ: 3, Yaw: 0.3, Pitch: 0.1, Roll: -0.2, ClassID: 2, Score: 0.25, TrackID: 0},
	}
	hdr := ros2.HeaderAt(1_700_000_000_250_000_000, "lidar")
	got := npmDecode(t, "vision_msgs/msg/Detection3DArray", ros2.AppendDetection3DArray(nil, hdr, in))[0]
	if jheader(got["header"]) != hdr {
		t.Errorf("header %v", got["header"])
	}
	gd, _ := got["detections"].([]any)
	if len(gd) != len(in) {
		t.Fatalf("%d detections", len(gd))
	}
	for i, d := range gd {
		b := in[i]
		res, _ := jget(d, "results").([]any)
		wantID := b.Label
		if wantID == "" {
			wantID = strconv.Itoa(int(b.ClassID))
		}
		wantTrack := ""
		if b.TrackID >= 0 {
			wantTrack = strconv.Itoa(int(b.TrackID))
		}
		if len(res) != 1 || jget(res[0], "hypothesis", "class_id") != wantID || jnum(jget(res[0], "hypothesis", "score")) != float64(b.Score) || jget(d, "id") != wantTrack {
			t.Errorf("detection %d: results %v id %v", i, res, jget(d, "id"))
		}
		c := jget(d, "bbox", "center")
		p := jvec(jget(c, "position"), "x", "y", "z")
		sz := jvec(jget(d, "bbox", "size"), "x", "y", "z")
		if !eqF(p, []float64{float64(b.CX), float64(b.CY), float64(b.CZ)}) || !eqF(sz, []float64{float64(b.DX), float64(b.DY), float64(b.DZ)}) {
			t.Errorf("detection %d: centre %v size %v", i, p, sz)
		}
		// The quaternion must rotate like Box3D.Rotation (ds3d's own matrix).
		q := jvec(jget(c, "orientation"), "x", "y", "z", "w")
		r := quatMat(q)
		want := b.Rotation()
		for k := range r {
			if math.Abs(r[k]-want[k]) > 1e-6 {
				t.Errorf("detection %d: rotation %v, want %v", i, r, want)
				break
			}
		}
	}
}

// quatMat is the textbook rotation matrix of a unit quaternion (x y z w).
func quatMat(q []float64) [9]float64 {
	x, y, z, w := q[0], q[1], q[2], q[3]
	return [9]float64{
		1 - 2*y*y - 2*z*z, 2*x*y - 2*z*w, 2*x*z + 2*y*w,
		2*x*y + 2*z*w, 1 - 2*x*x - 2*z*z, 2*y*z - 2*x*w,
		2*x*z - 2*y*w, 2*y*z + 2*x*w, 1 - 2*x*x - 2*y*y,
	}
}

func TestNpmDetection2D(t *testing.T) {
	s := samplesOf(t, "vision_msgs/msg/Detection2DArray")[0]
	h, objs, err := ros2.DecodeDetection2DArray(s.bytes)
	if err != nil {
		t.Fatal(err)
	}
	dets, _ := s.Value["detections"].([]any)
	if h != jheader(s.Value["header"]) || len(objs) != len(dets) {
		t.Fatalf("header %v, %d objects of %d", h, len(objs), len(dets))
	}
	for i, d := range dets {
		o := objs[i]
		cx, cy := jnum(jget(d, "bbox", "center", "position", "x")), jnum(jget(d, "bbox", "center", "position", "y"))
		sx, sy := jnum(jget(d, "bbox", "size_x")), jnum(jget(d, "bbox", "size_y"))
		if o.Left != float32(cx-sx/2) || o.Top != float32(cy-sy/2) || o.Width != float32(sx) || o.Height != float32(sy) {
			t.Errorf("object %d: %+v, want centre %v,%v size %v×%v", i, o, cx, cy, sx, sy)
		}
		res, _ := jget(d, "results").([]any)
		id := jget(res[0], "hypothesis", "class_id").(string)
		if n, err := strconv.Atoi(id); err == nil {
			if o.ClassID != int32(n) || o.Label != "" {
				t.Errorf("object %d: class %d %q, want %d", i, o.ClassID, o.Label, n)
			}
		} else if o.Label != id || o.ClassID != -1 {
			t.Errorf("object %d: label %q, want %q", i, o.Label, id)
		}
	}
	in := []ds3d.Object2D{{Left: 10, Top: 20, Width: 30.5, Height: 40, Label: "Car", Score: 0.75, TrackID: 3}, {Left: 0, Top: 1, Width: 2, Height: 3, ClassID: 5, Score: 0.5, TrackID: -1}}
	got := npmDecode(t, "vision_msgs/msg/Detection2DArray", ros2.AppendDetection2DArray(nil, ros2.HeaderAt(5, "cam"), in))[0]
	gd, _ := got["detections"].([]any)
	for i, d := range gd {
		o := in[i]
		if jnum(jget(d, "bbox", "center", "position", "x")) != float64(o.Left)+float64(o.Width)/2 || jnum(jget(d, "bbox", "size_y")) != float64(o.Height) {
			t.Errorf("detection %d: bbox %v", i, jget(d, "bbox"))
		}
	}
	if len(gd) != 2 || jget(gd[0], "id") != "3" || jget(gd[1], "id") != "" || jget(gd[1], "results").([]any)[0].(map[string]any)["hypothesis"].(map[string]any)["class_id"] != "5" {
		t.Errorf("detections %v", gd)
	}
}

// TestNpmMarkerArray: a DELETEALL, then one CUBE per box, read by the reference.
func TestNpmMarkerArray(t *testing.T) {
	boxes := []ds3d.Box3D{{CX: 1, CY: 2, CZ: 0.5, DX: 4, DY: 2, DZ: 1.5, Yaw: 0.5, ClassID: 1}, {CX: -3, DX: 1, DY: 1, DZ: 1, Color: [4]uint8{255, 0, 51, 0}, ClassID: -1}}
	hdr := ros2.HeaderAt(1_000_000_123, "lidar")
	got := npmDecode(t, "visualization_msgs/msg/MarkerArray", ros2.AppendMarkerArray(nil, hdr, boxes, 250_000_000))[0]
	ms, _ := got["markers"].([]any)
	if len(ms) != 3 || jnum(jget(ms[0], "action")) != 3 {
		t.Fatalf("markers %v", ms)
	}
	for i, m := range ms[1:] {
		b := boxes[i]
		if jnum(jget(m, "type")) != 1 || jnum(jget(m, "action")) != 0 || jnum(jget(m, "id")) != float64(i) || jheader(jget(m, "header")) != hdr ||
			!eqF(jvec(jget(m, "scale"), "x", "y", "z"), []float64{float64(b.DX), float64(b.DY), float64(b.DZ)}) ||
			!eqF(jvec(jget(m, "pose", "position"), "x", "y", "z"), []float64{float64(b.CX), float64(b.CY), float64(b.CZ)}) ||
			jnum(jget(m, "lifetime", "sec")) != 0 || jnum(jget(m, "lifetime", "nanosec")) != 250_000_000 {
			t.Errorf("marker %d: %v", i, m)
		}
		if q := jvec(jget(m, "pose", "orientation"), "z", "w"); math.Abs(q[0]-math.Sin(float64(b.Yaw)/2)) > 1e-7 || math.Abs(q[1]-math.Cos(float64(b.Yaw)/2)) > 1e-7 {
			t.Errorf("marker %d: orientation %v", i, q)
		}
	}
	if c := jvec(jget(ms[2], "color"), "r", "g", "b", "a"); !eqF(c, []float64{1, 0, float64(float32(0.2)), 1}) {
		t.Errorf("explicit colour: %v", c)
	}
}

// TestNpmPointCloud2: the reference's clouds decode into frames with the
// values it wrote (extra fields as named columns, times converted), and
// our encoding of a frame reads back in the reference.
func TestNpmPointCloud2(t *testing.T) {
	for _, s := range samplesOf(t, "sensor_msgs/msg/PointCloud2") {
		var pc ros2.PointCloud2
		if err := pc.Unmarshal(s.bytes); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		f, err := pc.ToFrame(nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Expect == nil {
			// KITTI's xyzi: the data bytes are the frame.
			if !bytes.Equal(f.Data, jbytes(s.Value["data"])) || f.Stride() != 4 {
				t.Errorf("%s: frame differs", s.Name)
			}
			continue
		}
		var exp struct {
			Columns []string    `json:"columns"`
			Points  [][]float64 `json:"points"`
		}
		if err := jsonUnmarshal(s.Expect, &exp); err != nil {
			t.Fatal(err)
		}
		cols := f.Columns()
		if len(cols) != len(exp.Columns) {
			t.Fatalf("%s: columns %v, want %v", s.Name, cols, exp.Columns)
		}
		for i := range cols {
			if cols[i] != exp.Columns[i] {
				t.Fatalf("%s: columns %v, want %v", s.Name, cols, exp.Columns)
			}
		}
		v := ds3d.AsFloat32(f)
		for i, p := range exp.Points {
			for k, want := range p {
				got := v[i*len(cols)+k]
				tol := 0.0
				if cols[k] == ds3d.ColTime || cols[k] == "timestamp" {
					tol = 2e-6 // float32 of a sub-second difference of float64 epoch seconds
				}
				if math.Abs(float64(got)-want) > tol {
					t.Errorf("%s: point %d %s = %v, want %v", s.Name, i, cols[k], got, want)
				}
			}
		}
		// Exactly x y z intensity: the 4-column layout.
		f4, err := pc.ToFrameColumns(nil, []string{"x", "y", "z", "intensity"})
		if err != nil || f4.Stride() != 4 {
			t.Fatal(err)
		}
		for i, p := range exp.Points {
			for k := range 4 {
				if ds3d.AsFloat32(f4)[4*i+k] != float32(p[k]) {
					t.Fatalf("%s: 4-column point %d differs", s.Name, i)
				}
			}
		}
	}
	// Ours: a frame with extra columns.
	f := ds3d.NewTensorFrame(ds3d.DTypeF32, 3, 6)
	f.Type = ds3d.FrameLidarXYZI
	f.SetColumns("x", "y", "z", "intensity", ds3d.ColTime, ds3d.ColReturn)
	for i, v := range ds3d.AsFloat32(f) {
		v = float32(i)*0.5 - 3
		ds3d.AsFloat32(f)[i] = v
	}
	hdr := ros2.HeaderAt(42_500_000_000, "velodyne")
	msg, err := ros2.AppendPointCloud2(nil, hdr, f)
	if err != nil {
		t.Fatal(err)
	}
	got := npmDecode(t, "sensor_msgs/msg/PointCloud2", msg)[0]
	fields, _ := got["fields"].([]any)
	wantNames := []string{"x", "y", "z", "intensity", "time", "return_type"}
	if len(fields) != 6 || jnum(got["point_step"]) != 24 || jnum(got["row_step"]) != 72 || jnum(got["width"]) != 3 || jnum(got["height"]) != 1 ||
		got["is_dense"] != true || got["is_bigendian"] != false || !bytes.Equal(jbytes(got["data"]), f.Data) || jheader(got["header"]) != hdr {
		t.Fatalf("cloud %v", got)
	}
	for k, fl := range fields {
		if jget(fl, "name") != wantNames[k] || jnum(jget(fl, "offset")) != float64(4*k) || jnum(jget(fl, "datatype")) != 7 || jnum(jget(fl, "count")) != 1 {
			t.Errorf("field %d: %v", k, fl)
		}
	}
	// And back: the same frame, columns included.
	back, _, err := ros2.DecodePointCloud2Frame(msg, nil)
	if err != nil || !bytes.Equal(back.Data, f.Data) || back.Column(ds3d.ColReturn) != 5 || back.Column(ds3d.ColTime) != 4 {
		t.Errorf("round trip: %v %v", err, back.Columns())
	}
}
