package align

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

// TestComponentKITTI: the filter publishes image_2's calibration and a
// depth map equal to DepthMap's; the u16 map is the f32 map × 256
// rounded; per-point (u, v, depth) agree with the map; nothing is
// allocated per frame.
func TestComponentKITTI(t *testing.T) {
	kf := loadKITTI(t, 0)
	newCfg := func(depth string) *Config {
		c := &Config{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, KITTICalib: ds3d.Path(kf.cal), KITTICameras: []int{2},
			KITTIWidth: 1242, KITTIHeight: 375, DepthMap: depth, DepthScale: 256, ProjectPoints: true, PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}}
		if err := ds3d.CheckConfig(c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	f, err := NewFilter(newCfg("f32"))
	if err != nil {
		t.Fatal(err)
	}
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, kf.cloud)
	run := func() {
		if err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	run()
	k, _ := calib.ReadKITTI(kf.cal)
	in, err := ds3d.Get[ds3d.Intrinsics](m, "DS3D::Cam2_IntrinsicMatrix")
	if err != nil || in.Fx != k.P[2][0] || in.Cy != k.P[2][6] || in.Width != 1242 || in.Height != 375 {
		t.Errorf("intrinsics %+v, %v; P2 %v", in, err, k.P[2])
	}
	ext, err := ds3d.Get[ds3d.Mat4](m, "DS3D::LidarToCam2_ExtrinsicMatrix")
	if err != nil {
		t.Fatal(err)
	}
	p := k.VeloToImage(2)
	q := calib.ProjectionOf(in, ext)
	for i := range p {
		if math.Abs(p[i]-q[i]) > 1e-9*math.Max(1, math.Abs(p[i])) {
			t.Fatalf("K·ext = %v, P2·R0·Tr = %v", q, p)
		}
	}
	d, err := m.Frame("DS3D::DepthFrame_2")
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 1242*375)
	kf.cam.DepthMap(want, 1242, ds3d.AsFloat32(kf.cloud), 4)
	got := ds3d.AsFloat32(d)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pixel %d: %v, DepthMap %v", i, got[i], want[i])
		}
	}
	uv, err := m.Frame("DS3D::PointColorCoord_2")
	if err != nil {
		t.Fatal(err)
	}
	u := ds3d.AsFloat32(uv)
	for i := 0; i < uv.Points(); i++ {
		if math.IsNaN(float64(u[3*i])) {
			continue
		}
		px := int(u[3*i+1])*1242 + int(u[3*i])
		if !(want[px] > 0 && want[px] <= u[3*i+2]) {
			t.Fatalf("point %d at (%v, %v) depth %v; map has %v", i, u[3*i], u[3*i+1], u[3*i+2], want[px])
		}
	}
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}

	g, err := NewFilter(newCfg("u16"))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
		t.Fatal(err)
	}
	d16, _ := m.Frame("DS3D::DepthFrame_2")
	g16 := ds3d.AsUint16(d16)
	for i, w := range want {
		e := uint16(0)
		if w > 0 {
			e = uint16(math.Min(65535, math.Max(1, math.Floor(float64(w*256+0.5)))))
		}
		if g16[i] != e {
			t.Fatalf("pixel %d: %d, want %d (%v m)", i, g16[i], e, w)
		}
	}
	if n := testing.AllocsPerRun(20, func() {
		if err := g.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("u16: %v allocations per frame", n)
	}
}

// TestMatrixCameraEqualsKITTI: a camera given as KITTI's P2 (3×4) and
// R0_rect·Tr_velo_to_cam (4×4) in the config projects like the calib file.
func TestMatrixCameraEqualsKITTI(t *testing.T) {
	kf := loadKITTI(t, 0)
	k, _ := calib.ReadKITTI(kf.cal)
	vr := k.VeloToRect()
	c := &Config{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, DepthMap: "none", DepthScale: 256, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1},
		Cameras: []CameraConfig{{Index: -1, Intrinsic: k.P[2][:], Extrinsic: vr[:], Width: 1242, Height: 375}}}
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	f, err := NewFilter(c)
	if err != nil {
		t.Fatal(err)
	}
	cam := f.Cameras()[0]
	if cam.Index != 0 {
		t.Errorf("index %d", cam.Index)
	}
	for i := range cam.M {
		if d := math.Abs(float64(cam.M[i] - kf.cam.M[i])); d > 1e-5*math.Max(1, math.Abs(float64(kf.cam.M[i]))) {
			t.Errorf("M[%d] = %v, KITTI %v", i, cam.M[i], kf.cam.M[i])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := func() *Config {
		return &Config{InputGroup: ds3d.InputGroup{InputKey: "k"}, KITTICalib: "x.txt", KITTICameras: []int{2}, KITTIWidth: 10, KITTIHeight: 10,
			DepthMap: "f32", DepthScale: 256, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}}
	}
	bad := []struct {
		key  string
		edit func(*Config)
	}{
		{"kitti_cameras", func(c *Config) { c.KITTICameras = []int{5} }},
		{"depth_map", func(c *Config) { c.DepthMap = "png" }},
		{"depth_scale", func(c *Config) { c.DepthScale = 0 }},
		{"cameras", func(c *Config) { c.KITTICalib = "" }},
		{"cameras[0].extrinsic", func(c *Config) {
			c.KITTICalib = ""
			c.Cameras = []CameraConfig{{Intrinsic: make([]float64, 9), Extrinsic: make([]float64, 5), Width: 1, Height: 1}}
		}},
		{"mem_pool_size", func(c *Config) { c.MemPoolSize = 0 }},
	}
	for _, b := range bad {
		c := good()
		b.edit(c)
		if err := ds3d.CheckConfig(c); err == nil || !strings.Contains(err.Error(), b.key) {
			t.Errorf("%s: %v", b.key, err)
		}
	}
	if err := ds3d.CheckConfig(good()); err != nil {
		t.Error(err)
	}
}
