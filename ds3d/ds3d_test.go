package ds3d_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"gonum.org/v1/gonum/spatial/r3"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func TestKeySuffixes(t *testing.T) {
	cases := []struct {
		got, want ds3d.Key
	}{
		{ds3d.KeyColorFrame.Sensor(2), "DS3D::ColorFrame_2"},
		{ds3d.KeyLidarXYZI.Port(1), "DS3D::LidarXYZI+1"},
		{ds3d.KeyColorFrame.Sensor(2).Port(1), "DS3D::ColorFrame_2+1"},
		{ds3d.KeyColorFrame.Port(1).Port(3), "DS3D::ColorFrame+3"},
		{ds3d.KeyCamIntrinsicMatrix.Sensor(4), "DS3D::Cam4_IntrinsicMatrix"},
		{ds3d.KeyLidarToCamExtrinsic.Sensor(0), "DS3D::LidarToCam0_ExtrinsicMatrix"},
		{ds3d.KeyColorFrame.Port(1).Sensor(2), "DS3D::ColorFrame_2+1"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
	if b, p := ds3d.Key("DS3D::ColorFrame_2+1").SplitPort(); b != "DS3D::ColorFrame_2" || p != 1 {
		t.Errorf("SplitPort = %s %d", b, p)
	}
	if b, n := ds3d.Key("DS3D::ColorFrame_2+1").SplitSensor(); b != "DS3D::ColorFrame" || n != 2 {
		t.Errorf("SplitSensor = %s %d", b, n)
	}
	if b, n := ds3d.KeyLidarXYZI.SplitSensor(); b != ds3d.KeyLidarXYZI || n != -1 {
		t.Errorf("SplitSensor of a plain key = %s %d", b, n)
	}
	if b, p := ds3d.Key("a+b").SplitPort(); b != "a+b" || p != -1 {
		t.Errorf("a non-numeric port is part of the name: %s %d", b, p)
	}
}

func TestDataMapTypedAccess(t *testing.T) {
	m := ds3d.NewDataMap()
	defer m.Release()
	m.SetTimestamp(42)
	m.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{{DX: 1}})
	f := ds3d.NewLidarFrame(3)
	m.SetFrame(ds3d.KeyLidarXYZI, f)

	if ts, ok := m.Timestamp(); !ok || ts != 42 {
		t.Errorf("timestamp = %d %v", ts, ok)
	}
	boxes, err := ds3d.Get[[]ds3d.Box3D](m, ds3d.KeyLidar3DBboxRawData)
	if err != nil || len(boxes) != 1 {
		t.Fatalf("boxes = %v, %v", boxes, err)
	}
	if got, err := m.Frame(ds3d.KeyLidarXYZI); err != nil || got != f {
		t.Errorf("frame = %v, %v", got, err)
	}
	_, err = ds3d.Get[*ds3d.Frame](m, ds3d.KeyTimestamp)
	var ke *ds3d.KeyError
	if !errors.As(err, &ke) || ke.Key != ds3d.KeyTimestamp || ke.Want != "*ds3d.Frame" || ke.Got != "int64" {
		t.Errorf("wrong type error = %v", err)
	}
	_, err = m.Frame(ds3d.KeyDepthFrame)
	if err == nil || err.Error() != "datamap: no key DS3D::DepthFrame (want *ds3d.Frame)" {
		t.Errorf("missing key error = %v", err)
	}
	keys := m.Keys(nil)
	if len(keys) != 3 || keys[0] != ds3d.KeyTimestamp || keys[2] != ds3d.KeyLidarXYZI {
		t.Errorf("keys not in insertion order: %v", keys)
	}
	if !m.Delete(ds3d.KeyLidar3DBboxRawData) || m.Has(ds3d.KeyLidar3DBboxRawData) || m.Len() != 2 {
		t.Error("delete failed")
	}
}

func TestPooledFramesComeBack(t *testing.T) {
	pool, err := ds3d.NewFramePool(2, func() *ds3d.Frame { return ds3d.NewLidarFrame(10) })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, _ := pool.Get(ctx)
	b, _ := pool.Get(ctx)
	if pool.TryGet() != nil {
		t.Fatal("pool of 2 gave a third frame")
	}
	// A datamap holding a and a clone of it: a returns after both release.
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, a)
	c := m.Clone()
	m.Release()
	if pool.TryGet() != nil {
		t.Fatal("frame came back while a clone still held it")
	}
	c.Release()
	got := pool.TryGet()
	if got != a {
		t.Fatalf("got %p, want the released frame %p", got, a)
	}
	// Get waits for a frame and honours its context.
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := pool.Get(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get on an empty pool = %v, want deadline", err)
	}
	b.Release()
	got.Release()
	if avg := testing.AllocsPerRun(100, func() {
		f, _ := pool.Get(ctx)
		f.Resize(10, 4)
		f.Release()
	}); avg != 0 {
		t.Errorf("pooled get/release allocates %.1f", avg)
	}
	defer func() {
		if recover() == nil {
			t.Error("double release did not panic")
		}
	}()
	x, _ := pool.Get(ctx)
	x.Release()
	x.Release()
}

func TestImageFrame(t *testing.T) {
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 5, 2, 16)
	if err != nil {
		t.Fatal(err)
	}
	if f.Plane.BytesPerPixel != 3 || len(f.Data) != 32 || f.Shape.String() != "[2,5,3]" {
		t.Errorf("rgb frame: %+v %s", f.Plane, f.Shape)
	}
	if _, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 5, 2, 14); err == nil {
		t.Error("pitch shorter than a row accepted")
	}
	if _, err := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU8, 5, 2, 0); err == nil {
		t.Error("u8 depth accepted")
	}
	d, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, 4, 3, 0)
	if len(ds3d.AsUint16(d)) != 12 {
		t.Errorf("depth view has %d pixels", len(ds3d.AsUint16(d)))
	}
}

func TestBoxCornersAndContains(t *testing.T) {
	// A 4×2×1.5 box at (10, 5, -1) turned 90°: by hand its x extent is the
	// width (±1) and its y extent the length (±2).
	b := ds3d.Box3D{CX: 10, CY: 5, CZ: -1, DX: 4, DY: 2, DZ: 1.5, Yaw: math.Pi / 2}
	c := b.Corners()
	// Front-left corner: local (+2, +1) → rotated (−1, +2).
	if d := r3.Norm(r3.Sub(c[0], r3.Vec{X: 9, Y: 7, Z: -1.75})); d > 1e-6 {
		t.Errorf("corner 0 = %v", c[0])
	}
	if d := r3.Norm(r3.Sub(c[6], r3.Vec{X: 11, Y: 3, Z: -0.25})); d > 1e-6 {
		t.Errorf("corner 6 = %v", c[6])
	}
	for _, p := range []struct {
		x, y, z float32
		in      bool
	}{{10, 5, -1, true}, {10.9, 6.9, -0.3, true}, {11.1, 5, -1, false}, {10, 7.1, -1, false}, {10, 5, -0.2, false}} {
		if got := b.Contains(p.x, p.y, p.z); got != p.in {
			t.Errorf("Contains(%v,%v,%v) = %v", p.x, p.y, p.z, got)
		}
	}
}

func TestMat4(t *testing.T) {
	// 90° about z then a shift of (1, 2, 3): (1, 0, 0) → (0, 1, 0) + t.
	m, err := ds3d.Mat4From([]float64{0, -1, 0, 1, 1, 0, 0, 2, 0, 0, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Apply(r3.Vec{X: 1}); p != (r3.Vec{X: 1, Y: 3, Z: 3}) {
		t.Errorf("apply = %v", p)
	}
	inv, err := m.Inverse()
	if err != nil {
		t.Fatal(err)
	}
	id := m.Mul(inv)
	for i := range id {
		if math.Abs(id[i]-ds3d.Identity4[i]) > 1e-12 {
			t.Fatalf("m·m⁻¹ = %v", id)
		}
	}
	if _, err := ds3d.Mat4From(make([]float64, 11)); err == nil {
		t.Error("11 values accepted")
	}
	if _, err := (ds3d.Mat4{}).Inverse(); err == nil {
		t.Error("singular matrix inverted")
	}
	k, err := ds3d.IntrinsicsFromK([]float64{700, 0, 600, 0, 0, 700, 180, 0, 0, 0, 1, 0}, 1242, 375)
	if err != nil {
		t.Fatal(err)
	}
	if u, v, ok := k.Project(r3.Vec{X: 1, Y: 0.5, Z: 10}); !ok || u != 670 || v != 215 {
		t.Errorf("project = %v %v %v", u, v, ok)
	}
}

func TestTiltedBox(t *testing.T) {
	// Pitch 90°: Ry maps the length axis (local x) onto −z, by hand.
	b := ds3d.Box3D{DX: 4, DY: 2, DZ: 1, Pitch: math.Pi / 2}
	if !b.Contains(0, 0, 1.9) || b.Contains(1.9, 0, 0) || !b.Contains(0.45, 0.9, -1.9) {
		t.Error("pitched box contains the wrong points")
	}
	// Every corner of a box turned every which way lies on its border:
	// inside when pulled 1% towards the centre, outside when pushed 1% out.
	b = ds3d.Box3D{CX: 3, CY: -2, CZ: 1, DX: 4, DY: 2, DZ: 1.5, Yaw: 0.7, Pitch: -0.2, Roll: 0.3}
	c := r3.Vec{X: 3, Y: -2, Z: 1}
	for i, p := range b.Corners() {
		in := r3.Add(c, r3.Scale(0.99, r3.Sub(p, c)))
		out := r3.Add(c, r3.Scale(1.01, r3.Sub(p, c)))
		if !b.Contains(float32(in.X), float32(in.Y), float32(in.Z)) || b.Contains(float32(out.X), float32(out.Y), float32(out.Z)) {
			t.Errorf("corner %d %v is not on the border", i, p)
		}
	}
}
