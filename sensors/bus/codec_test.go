package bus

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// kittiFrame reads the bundled KITTI scan as raw bytes (the velodyne .bin is
// little-endian float32 x, y, z, reflectance, the same layout as a lidar
// frame), up to limit points (0: all).
func kittiFrame(tb testing.TB, limit int) *ds3d.Frame {
	tb.Helper()
	raw, err := os.ReadFile(sampledata.Sample(tb, "kitti/velodyne/000000.bin"))
	if err != nil {
		tb.Fatal(err)
	}
	n := len(raw) / 16
	if limit > 0 {
		n = min(n, limit)
	}
	f := ds3d.NewLidarFrame(n)
	copy(f.Data, raw[:n*16])
	return f
}

// fill sets every field of the struct v points to a distinct non-zero
// value, recursing into embedded structs, so a field the codec forgets
// comes back zero and fails the comparison.
func fill(v reflect.Value, seed *int) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		*seed++
		s := *seed
		switch f.Kind() {
		case reflect.Float32, reflect.Float64:
			f.SetFloat(float64(s) + 0.25)
		case reflect.Int, reflect.Int32, reflect.Int64:
			f.SetInt(int64(-s))
		case reflect.String:
			f.SetString(strings.Repeat("é", s%5+1))
		case reflect.Array:
			for j := 0; j < f.Len(); j++ {
				if e := f.Index(j); e.CanFloat() {
					e.SetFloat(float64(s+j) / 3)
				} else {
					e.SetUint(uint64(s + j))
				}
			}
		case reflect.Slice:
			f.Set(reflect.ValueOf([]float64{float64(s), -1.5, math.Inf(1)}))
		case reflect.Struct:
			fill(f, seed)
		default:
			panic("fill: field kind " + f.Kind().String())
		}
	}
}

func filled[T any]() T {
	var x T
	seed := 0
	fill(reflect.ValueOf(&x).Elem(), &seed)
	return x
}

func sampleMap(tb testing.TB) *ds3d.DataMap {
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, kittiFrame(tb, 0))
	wide := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(3, 6))
	wide.SetColumns("x", "y", "z", "intensity", "ring", "time")
	for i := range ds3d.AsFloat32(wide) {
		ds3d.AsFloat32(wide)[i] = float32(i) * 0.5
	}
	m.SetFrame(ds3d.Key("DS3D::LidarXYZI_1"), wide)
	img, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 5, 3, 16)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range img.Data {
		img.Data[i] = byte(i * 7)
	}
	m.SetFrame(ds3d.KeyColorFrame, img)
	m.SetFrame(ds3d.KeyLidarPointNumTensor, ds3d.NewTensorFrame(ds3d.DTypeI32, 2, 1, 4))
	m.SetTimestamp(1_700_000_000_123_456_789)
	m.SetInt64(ds3d.KeySourceID, 3)
	m.SetInt64(ds3d.KeyFrameNumber, 42)
	m.SetFloat64(ds3d.KeyDepthScaleUnit, 0.001)
	m.Set(ds3d.Key("label"), "kitti/000000")
	m.Set(ds3d.KeyFirstSourceFrame, true)
	m.Set(ds3d.Key("raw"), []byte{0, 1, 255})
	m.Set(ds3d.Key("f32"), []float32{1.5, float32(math.NaN()), -0})
	m.Set(ds3d.Key("f64"), []float64{math.Pi, math.MaxFloat64})
	m.Set(ds3d.Key("i32"), []int32{math.MinInt32, 7})
	m.Set(ds3d.Key("i64"), []int64{math.MaxInt64, -1})
	m.Set(ds3d.Key("names"), []string{"car", "", "pedestrian"})
	m.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{filled[ds3d.Box3D](), {TrackID: -1, Label: "car"}})
	m.Set(ds3d.KeyObject2DBbox, []ds3d.Object2D{filled[ds3d.Object2D]()})
	m.Set(ds3d.KeyFusedDetection, []ds3d.FusedDetection{filled[ds3d.FusedDetection]()})
	m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(0), filled[ds3d.Intrinsics]())
	m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(1), ds3d.Intrinsics{Fx: 1, Fy: 2})
	m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(0), ds3d.Mat4{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, -16.5})
	m.Set(ds3d.Key("ext"), filled[ds3d.Extrinsics]())
	m.Set(ds3d.Key("empty_boxes"), []ds3d.Box3D{})
	return m
}

// sameValue compares two datamap values: frames by layout, columns and
// bytes; floats bit for bit (NaN included); everything else deeply.
func sameValue(t *testing.T, k ds3d.Key, want, got any) {
	t.Helper()
	if wf, ok := want.(*ds3d.Frame); ok {
		gf, ok := got.(*ds3d.Frame)
		if !ok {
			t.Errorf("%s: got %T, want a frame", k, got)
			return
		}
		if wf.DType != gf.DType || wf.Type != gf.Type || wf.Shape != gf.Shape || wf.Plane != gf.Plane {
			t.Errorf("%s: got %s %s %s %+v, want %s %s %s %+v", k, gf.Type, gf.DType, gf.Shape, gf.Plane, wf.Type, wf.DType, wf.Shape, wf.Plane)
		}
		if !reflect.DeepEqual(wf.Columns(), gf.Columns()) {
			t.Errorf("%s: columns %v, want %v", k, gf.Columns(), wf.Columns())
		}
		if !bytes.Equal(wf.Data[:wf.Bytes()], gf.Data) {
			t.Errorf("%s: frame bytes differ", k)
		}
		return
	}
	if w, ok := want.([]float32); ok {
		g := got.([]float32)
		if len(w) != len(g) {
			t.Errorf("%s: %d values, want %d", k, len(g), len(w))
			return
		}
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(g[i]) {
				t.Errorf("%s[%d]: %v, want %v", k, i, g[i], w[i])
			}
		}
		return
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: got %#v, want %#v", k, got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	m := sampleMap(t)
	defer m.Release()
	enc, err := Encode(nil, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ds3d.NewDataMap()
	defer got.Release()
	if err := Decode(enc, got, nil); err != nil {
		t.Fatal(err)
	}
	wantKeys, gotKeys := m.Keys(nil), got.Keys(nil)
	if !reflect.DeepEqual(wantKeys, gotKeys) {
		t.Fatalf("keys %v, want %v (in order)", gotKeys, wantKeys)
	}
	for _, k := range wantKeys {
		w, _ := m.Value(k)
		g, _ := got.Value(k)
		sameValue(t, k, w, g)
	}
	// Skipped keys are left out, and the count says so.
	enc2, err := Encode(nil, m, func(k ds3d.Key) bool { return k == ds3d.KeyLidarXYZI })
	if err != nil {
		t.Fatal(err)
	}
	part := ds3d.NewDataMap()
	defer part.Release()
	if err := Decode(enc2, part, nil); err != nil {
		t.Fatal(err)
	}
	if part.Has(ds3d.KeyLidarXYZI) || part.Len() != m.Len()-1 {
		t.Errorf("skip: %d keys, lidar present %v", part.Len(), part.Has(ds3d.KeyLidarXYZI))
	}
}

// TestLayout checks the encoding of a small datamap against bytes written
// out by hand from the format's description.
func TestLayout(t *testing.T) {
	m := ds3d.NewDataMap()
	defer m.Release()
	m.SetInt64("n", -2)
	f := ds3d.NewPointFrame(1)
	binary.LittleEndian.PutUint32(f.Data[0:], math.Float32bits(1))
	binary.LittleEndian.PutUint32(f.Data[4:], math.Float32bits(2))
	binary.LittleEndian.PutUint32(f.Data[8:], math.Float32bits(3))
	m.SetFrame("p", f)
	m.Set("s", "hi")
	got, err := Encode(nil, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{'D', 'S', '3', 'M', 1, 3,
		1, 'n', 2, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		1, 'p', 1, 1, 2, 2, 1, 3, 0, 0, 0, 0, 3, 1, 'x', 1, 'y', 1, 'z', 12,
		0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40,
		1, 's', 4, 2, 'h', 'i'}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding\n got % x\nwant % x", got, want)
	}
}

func TestEncodeErrors(t *testing.T) {
	type mystery struct{ A int }
	m := ds3d.NewDataMap()
	defer m.Release()
	m.Set("DS3D::Mystery", mystery{1})
	_, err := Encode(nil, m, nil)
	if err == nil || !strings.Contains(err.Error(), "DS3D::Mystery") || !strings.Contains(err.Error(), "mystery") {
		t.Fatalf("err = %v, want one naming the key and the type", err)
	}
	if _, err := Encode(nil, m, func(k ds3d.Key) bool { return k == "DS3D::Mystery" }); err != nil {
		t.Fatalf("skipped key still encoded: %v", err)
	}
	g := ds3d.NewLidarFrame(2)
	g.Mem = ds3d.MemGPU
	m.Delete("DS3D::Mystery")
	m.SetFrame("gpu", g)
	if _, err := Encode(nil, m, nil); err == nil || !strings.Contains(err.Error(), "gpu") {
		t.Fatalf("GPU frame: err = %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	m := sampleMap(t)
	m.Delete(ds3d.KeyLidarXYZI) // keep it small: every prefix is tried
	enc, err := Encode(nil, m, nil)
	m.Release()
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(enc); n++ {
		d := ds3d.NewDataMap()
		if err := Decode(enc[:n], d, nil); err == nil || !errors.Is(err, ErrFormat) {
			t.Fatalf("prefix of %d bytes: err = %v", n, err)
		}
		d.Release()
	}
	bad := append([]byte(nil), enc...)
	bad[4] = 9
	d := ds3d.NewDataMap()
	defer d.Release()
	if err := Decode(bad, d, nil); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("version: err = %v", err)
	}
	if err := Decode(append(enc, 0), d, nil); err == nil || !strings.Contains(err.Error(), "after the last entry") {
		t.Errorf("trailing byte: err = %v", err)
	}
}

// TestDecodeIntoPool checks that frames come from the source given and that
// decoding costs no allocation of frame bytes once the pool is warm.
func TestDecodeIntoPool(t *testing.T) {
	// Datamaps come from a sync.Pool, which the race detector empties at
	// random: make test counts the allocations again without -race.
	testenv.SkipUnderRace(t, "allocation count (sync.Pool drops items under -race)")
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, kittiFrame(t, 0))
	m.SetInt64(ds3d.KeyFrameNumber, 1)
	enc, err := Encode(nil, m, nil)
	m.Release()
	if err != nil {
		t.Fatal(err)
	}
	pool, err := ds3d.NewFramePool(2, func() *ds3d.Frame { return &ds3d.Frame{} })
	if err != nil {
		t.Fatal(err)
	}
	var dec Decoder
	decode := func() {
		d := ds3d.NewDataMap()
		if err := dec.Decode(enc, d, pool.TryGet); err != nil {
			t.Fatal(err)
		}
		d.Release()
	}
	decode()
	allocs := testing.AllocsPerRun(20, decode)
	if allocs > 0 {
		t.Errorf("%.0f allocations per decode of a pooled frame, want 0", allocs)
	}
}
