package paint

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// lookX is a camera looking along lidar +x (camera x = −y, y = −z, z = x)
// with f = 100 px and the principal point at the centre of a 100×100
// image: point (x, y, z) lands on u = 50 − 100·y/x, v = 50 − 100·z/x.
var (
	lookXIntr = ds3d.Intrinsics{Fx: 100, Fy: 100, Cx: 50, Cy: 50, Width: 100, Height: 100}
	lookXExt  = ds3d.Mat4{0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0, 0, 1}
)

// paintOnce runs point_painting on pts ([N,4]) with dets[n] for camera n
// (all cameras lookX) and returns the output rows.
func paintOnce(t *testing.T, cfg *Config, pts []float32, dets ...[]ds3d.Object2D) []float32 {
	t.Helper()
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fr := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(len(pts)/4, 4))
	copy(ds3d.AsFloat32(fr), pts)
	m := ds3d.NewDataMap()
	defer m.Release()
	m.SetFrame(ds3d.KeyLidarXYZI, fr)
	for n, d := range dets {
		m.Set(ds3d.KeyObject2DBbox.Sensor(n), d)
		m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(n), lookXIntr)
		m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(n), lookXExt)
	}
	if err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
		t.Fatal(err)
	}
	out, err := m.Frame(KeyLidarPainted)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), ds3d.AsFloat32(out)[:out.Shape.Elements()]...)
}

// TestHandComputed: one camera, four points, two overlapping car boxes
// and a person box across both. By hand (u = 50 − 100·y/x, v = 50 − 100·z/x):
//
//	P0 (10, 0, 0)    → (50, 50), depth 10: in car A [40,60)², car B [45,75)×[45,55) and person C [48,52)×[30,70):
//	                   car = max(0.6, 0.8) = 0.8, person 0.7, background 1 − 0.8
//	P1 (10, 0.8, 0)  → (42, 50): car A only: car 0.6, person 0, background 0.4
//	P2 (−10, 0, 0)   → behind the camera: nothing, background 1
//	P3 (0.4, 0, 0)   → (50, 50) but depth 0.4 ≤ near 0.5: nothing, background 1
func TestHandComputed(t *testing.T) {
	pts := []float32{10, 0, 0, 7, 10, 0.8, 0, 8, -10, 0, 0, 9, 0.4, 0, 0, 10}
	dets := []ds3d.Object2D{
		{Left: 40, Top: 40, Width: 20, Height: 20, Label: "car", Score: 0.6},
		{Left: 45, Top: 45, Width: 30, Height: 10, Label: "car", Score: 0.8},
		{Left: 48, Top: 30, Width: 4, Height: 40, Label: "person", Score: 0.7},
		{Left: 0, Top: 0, Width: 100, Height: 100, Label: "traffic light", Score: 0.99}, // not a class: paints nothing
	}
	cfg := testConfig(1, true)
	cfg.Classes = []string{"car", "person"}
	got := paintOnce(t, cfg, pts, dets)
	want := []float32{
		10, 0, 0, 7, 0.8, 0.7, 1 - float32(0.8),
		10, 0.8, 0, 8, 0.6, 0, 1 - float32(0.6),
		-10, 0, 0, 9, 0, 0, 1,
		0.4, 0, 0, 10, 0, 0, 1,
	}
	if !equalF32(got, want) {
		t.Errorf("painted\n%v\nwant\n%v", got, want)
	}
	// Without the background channel the rows are 4+2 wide.
	cfg.Background = false
	got = paintOnce(t, cfg, pts, dets)
	if len(got) != 4*6 || got[4] != 0.8 || got[5] != 0.7 || got[10] != 0.6 || got[11] != 0 {
		t.Errorf("no background: %v", got)
	}
}

// TestSeveralCamerasTakeTheMax: two cameras with the same calibration see
// P0 (50, 50); camera 0's car box scores 0.6, camera 1's 0.9 and its
// person box 0.5: P0 takes car 0.9 and person 0.5. P1 (10, −6, 0) lands
// on u = 110, outside the 100-pixel image, although a box reaches there.
func TestSeveralCamerasTakeTheMax(t *testing.T) {
	pts := []float32{10, 0, 0, 1, 10, -6, 0, 1}
	cam0 := []ds3d.Object2D{{Left: 0, Top: 0, Width: 300, Height: 100, Label: "car", Score: 0.6}}
	cam1 := []ds3d.Object2D{{Left: 40, Top: 40, Width: 20, Height: 20, Label: "car", Score: 0.9}, {Left: 40, Top: 40, Width: 20, Height: 20, Label: "person", Score: 0.5}}
	cfg := testConfig(2, false)
	cfg.Classes = []string{"car", "person"}
	got := paintOnce(t, cfg, pts, cam0, cam1)
	want := []float32{10, 0, 0, 1, 0.9, 0.5, 10, -6, 0, 1, 0, 0}
	if !equalF32(got, want) {
		t.Errorf("painted %v, want %v", got, want)
	}
}

// TestBoxEdges: the left and top edges of a box are in, the right and
// bottom edges out (continuous pixel coordinates, the box [40, 60)²).
// u = 50 − 100·y/10 = 40 at y = 1 and 60 at y = −1.
func TestBoxEdges(t *testing.T) {
	pts := []float32{10, 1, 0, 0, 10, -1, 0, 0, 10, 0, 1, 0, 10, 0, -1, 0}
	dets := []ds3d.Object2D{{Left: 40, Top: 40, Width: 20, Height: 20, Label: "car", Score: 0.5}}
	cfg := testConfig(1, false)
	cfg.Classes = []string{"car"}
	got := paintOnce(t, cfg, pts, dets)
	if want := []float32{0.5, 0, 0.5, 0}; got[4] != want[0] || got[9] != want[1] || got[14] != want[2] || got[19] != want[3] {
		t.Errorf("edge scores %v %v %v %v, want %v", got[4], got[9], got[14], got[19], want)
	}
}

func equalF32(a, b []float32) bool {
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

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		key  string
	}{
		{func(c *Config) { c.Cameras = 0 }, "cameras"},
		{func(c *Config) { c.Classes = nil }, "classes"},
		{func(c *Config) { c.Classes = []string{"car", "|"} }, "classes[1]"},
		{func(c *Config) { c.Classes = []string{"car", "truck|car"} }, "classes[1]"},
		{func(c *Config) { c.Near = math.NaN() }, "near"},
		{func(c *Config) { c.Near = -1 }, "near"},
		{func(c *Config) { c.MinScore = math.Inf(1) }, "min_score"},
		{func(c *Config) { c.MemPoolSize = 0 }, "mem_pool_size"},
		{func(c *Config) { c.OutputKey = "" }, "output_datamap_key"},
	} {
		c := testConfig(1, false)
		tc.edit(c)
		err := ds3d.CheckConfig(c)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%+v: error %v, want one naming %s", c, err, tc.key)
		}
	}
	if err := ds3d.CheckConfig(testConfig(6, true)); err != nil {
		t.Error(err)
	}
}

// TestBadInputNamesTheKey: a missing camera key or a frame that is not
// [N,C≥3] f32 fails the frame with an error naming the key.
func TestBadInputNamesTheKey(t *testing.T) {
	f, err := New(testConfig(2, false))
	if err != nil {
		t.Fatal(err)
	}
	m := ds3d.NewDataMap()
	defer m.Release()
	m.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewLidarFrame(3))
	m.Set(ds3d.KeyObject2DBbox.Sensor(0), []ds3d.Object2D{})
	m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(0), lookXIntr)
	m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(0), lookXExt)
	err = f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil })
	var ke *ds3d.KeyError
	if !errors.As(err, &ke) || ke.Key != "DS3D::Object2DBboxKey_1" || !strings.Contains(err.Error(), "camera 1") {
		t.Errorf("missing camera 1: %v", err)
	}
	m.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewTensorFrame(ds3d.DTypeF32, 3, 2))
	if err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err == nil || !strings.Contains(err.Error(), "DS3D::LidarXYZI") {
		t.Errorf("[3,2] frame: %v", err)
	}
	m.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewLidarFrame(3))
	m.Set(ds3d.KeyObject2DBbox.Sensor(1), []ds3d.Object2D{})
	m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(1), ds3d.Intrinsics{Fx: 1, Fy: 1})
	m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(1), lookXExt)
	if err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err == nil || !strings.Contains(err.Error(), "image size") {
		t.Errorf("intrinsics without size: %v", err)
	}
}
