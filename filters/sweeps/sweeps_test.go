package sweeps

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// kitti reads the first n points of KITTI velodyne frame i.
func kitti(t testing.TB, i, n int) *ds3d.Frame {
	t.Helper()
	f := ds3d.NewLidarFrame(0)
	p := sampledata.Shared(t, fmt.Sprintf("kitti-object/training/velodyne/%06d.bin", i))
	if err := lidar.ReadFileInto(f, p, lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if n < f.Points() {
		f.Resize(n, 4)
	}
	return f
}

// pose is a rigid transform: yaw about z, a small roll about x, then t.
func pose(yaw, roll, tx, ty, tz float64) ds3d.Mat4 {
	cy, sy, cr, sr := math.Cos(yaw), math.Sin(yaw), math.Cos(roll), math.Sin(roll)
	// Rz(yaw)·Rx(roll)
	return ds3d.Mat4{
		cy, -sy * cr, sy * sr, tx,
		sy, cy * cr, -cy * sr, ty,
		0, sr, cr, tz,
		0, 0, 0, 1,
	}
}

func writeRaw(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := binary.Write(f, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
}

// TestMatchesNumpy densifies three real KITTI sweeps (frames 000000–000002,
// first 20,000 points each, NaN points added) under exactly-known synthetic
// poses and a nuScenes-like lidar2ego, and compares with numpy's
// independent computation (general 4×4 inverse, float64 matmul).
func TestMatchesNumpy(t *testing.T) {
	testenv.Python(t, "numpy")
	const n = 3
	s2e := ds3d.Mat4{0, 1, 0, 0.944, -1, 0, 0, 0, 0, 0, 1, 1.84, 0, 0, 0, 1} // 90° about z, nuScenes LIDAR_TOP offset
	poses := []ds3d.Mat4{pose(0.3, 0, 100, -20, 1), pose(0.35, 0.01, 104.5, -18.2, 1.05), pose(0.42, -0.005, 109.25, -16.1, 1.02)}
	times := []int64{1_532_402_927_547_951_000, 1_532_402_927_597_951_000, 1_532_402_927_647_951_000}
	dir := t.TempDir()
	a := Accumulator{MaxSweeps: 10, MaxTimeLag: 500_000_000, SensorToEgo: s2e}
	dst := ds3d.NewLidarFrame(0)
	for j := 0; j < n; j++ {
		src := kitti(t, j, 20000)
		s := ds3d.AsFloat32(src)
		s[4*7] = float32(math.NaN())
		s[4*11+2] = float32(math.Inf(1))
		writeRaw(t, filepath.Join(dir, fmt.Sprintf("sweep%d.f32", j)), s[:4*src.Points()])
		writeRaw(t, filepath.Join(dir, fmt.Sprintf("pose%d.f64", j)), poses[j][:])
		if _, err := a.Add(dst, src, poses[j], times[j]); err != nil {
			t.Fatal(err)
		}
	}
	writeRaw(t, filepath.Join(dir, "s2e.f64"), s2e[:])
	writeRaw(t, filepath.Join(dir, "times.i64"), times)
	testenv.RunPython(t, []string{"numpy"}, "testdata/expected.py", dir, "3", "4")
	raw, err := os.ReadFile(filepath.Join(dir, "expected.f32"))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(raw)/4)
	binary.Decode(raw, binary.LittleEndian, want)
	got := ds3d.AsFloat32(dst)[:dst.Points()*5]
	if dst.Shape.D[1] != 5 || len(got) != len(want) {
		t.Fatalf("got %s, numpy %d values", dst.Shape, len(want))
	}
	worst := 0.0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if i%5 >= 3 {
			if got[i] != want[i] {
				t.Fatalf("value %d (point %d col %d): %v, numpy %v", i, i/5, i%5, g, w)
			}
			continue
		}
		// not bit-exact by design: numpy inverts with LAPACK and multiplies
		// with BLAS (float64; the last bits depend on the CPU's kernel),
		// we with our own rigid inverse, and both round to float32 at
		// the end, so they may differ by a float32 ulp. The bound, 2e-5
		// relative (20 µm below 1 m), is ~170 ulps: far above that noise,
		// far below a wrong transform (centimetres).
		if d := math.Abs(g - w); d > worst {
			worst = d
		}
		if math.Abs(g-w) > 2e-5*max(1, math.Abs(w)) {
			t.Fatalf("value %d (point %d col %d): %v, numpy %v", i, i/5, i%5, g, w)
		}
	}
	t.Logf("%d points, max |Δ| %.3g m vs numpy; Δt of the oldest sweep %v s", dst.Points(), worst, got[len(got)-1])
	if got[len(got)-1] != 0.1 {
		t.Errorf("oldest Δt %v, want 0.1", got[len(got)-1])
	}
}

func cloud(pts ...float32) *ds3d.Frame {
	f := ds3d.NewLidarFrame(len(pts) / 4)
	copy(ds3d.AsFloat32(f), pts)
	return f
}

// TestLimitsAndResets: max_sweeps, max_time_lag, time going backwards, a
// column change and non-rigid poses, on hand-computed one-point sweeps.
func TestLimitsAndResets(t *testing.T) {
	a := Accumulator{MaxSweeps: 3, MaxTimeLag: 250_000_000}
	dst := ds3d.NewLidarFrame(0)
	// ego moves +1 m in x per 100 ms; a static world point at x = 10
	// is seen at x = 10 − t·10 in the ego frame.
	add := func(ms int64) int {
		t.Helper()
		x := float32(10 - float64(ms)/100)
		n, err := a.Add(dst, cloud(x, 0, 0, float32(ms)), pose(0, 0, float64(ms)/100, 0, 0), ms*1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i, ms := range []int64{0, 100, 200, 300} {
		n := add(ms)
		if want := min(i+1, 3); n != want {
			t.Fatalf("t=%d ms: %d points, want %d", ms, n, want)
		}
		d := ds3d.AsFloat32(dst)
		for p := 0; p < n; p++ {
			// every sweep puts the static point at the same place now
			if x, dt, it := d[5*p], d[5*p+4], d[5*p+3]; math.Abs(float64(x)-(10-float64(ms)/100)) > 1e-5 ||
				dt != float32(float64(p)*0.1) || it != float32(ms-int64(p)*100) {
				t.Fatalf("t=%d ms point %d: %v", ms, p, d[5*p:5*p+5])
			}
		}
	}
	// a gap beyond max_time_lag drops the history
	if n := add(600); n != 1 {
		t.Errorf("after a 300 ms gap: %d points, want 1", n)
	}
	// time going backwards (replay restart) clears it too
	add(700)
	if n := add(50); n != 1 {
		t.Errorf("after time went back: %d points, want 1", n)
	}
	// a column change clears it
	five := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(1, 5))
	if n, err := a.Add(dst, five, ds3d.Identity4, 60_000_000); err != nil || n != 1 || dst.Shape.D[1] != 6 {
		t.Errorf("5-column sweep: %d %v %s", n, err, dst.Shape)
	}
	// non-rigid pose, bad frame, MaxSweeps 0: errors, no panic
	scaled := ds3d.Identity4
	scaled[0] = 2
	if _, err := a.Add(dst, cloud(1, 2, 3, 4), scaled, 70_000_000); !errors.Is(err, ErrNotRigid) {
		t.Errorf("scaled pose: %v", err)
	}
	if _, err := a.Add(dst, ds3d.NewTensorFrame(ds3d.DTypeI32, 3), ds3d.Identity4, 80_000_000); err == nil {
		t.Error("int32 frame accepted")
	}
	if _, err := (&Accumulator{}).Add(dst, cloud(), ds3d.Identity4, 0); err == nil {
		t.Error("MaxSweeps 0 accepted")
	}
}

func TestZeroAllocs(t *testing.T) {
	a := Accumulator{MaxSweeps: 10}
	src := kitti(t, 0, 1<<30)
	dst := ds3d.NewLidarFrame(0)
	ts := int64(0)
	step := func() {
		ts += 50_000_000
		if _, err := a.Add(dst, src, pose(float64(ts)*1e-10, 0, float64(ts)*1e-8, 0, 0), ts); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		step()
	}
	if n := testing.AllocsPerRun(3, step); n != 0 {
		t.Errorf("%v allocations per sweep in steady state, want 0", n)
	}
	if dst.Points() != 10*src.Points() {
		t.Errorf("%d points, want 10 sweeps of %d", dst.Points(), src.Points())
	}
}

func BenchmarkAdd(b *testing.B) {
	a := Accumulator{MaxSweeps: 10}
	src := kitti(b, 0, 1<<30)
	dst := ds3d.NewLidarFrame(0)
	ts := int64(0)
	for b.Loop() {
		ts += 50_000_000
		a.Add(dst, src, pose(float64(ts)*1e-10, 0, float64(ts)*1e-8, 0, 0), ts)
	}
	b.ReportMetric(float64(dst.Points()), "points/out")
}
