package calib

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"gonum.org/v1/gonum/spatial/r3"
)

func kittiPath(t testing.TB, id string) string {
	return sampledata.Shared(t, "kitti-object/training/calib/"+id+".txt")
}

func TestReadKITTI(t *testing.T) {
	k, err := ReadKITTI(kittiPath(t, "000000"))
	if err != nil {
		t.Fatal(err)
	}
	// Values copied from calib/000000.txt.
	if k.P[2][0] != 707.0493 || k.P[2][3] != 45.75831 || k.P[2][11] != 4.981016e-03 || k.P[1][3] != -379.7842 {
		t.Errorf("P = %v", k.P)
	}
	if k.R0Rect[0] != 0.9999128 || k.R0Rect[8] != 0.9999556 {
		t.Errorf("R0_rect = %v", k.R0Rect)
	}
	if k.TrVeloToCam[3] != -2.457729e-02 || k.TrVeloToCam[11] != -0.3321029 {
		t.Errorf("Tr_velo_to_cam = %v", k.TrVeloToCam)
	}
	if !k.HasImu || k.TrImuToVelo[3] != -0.8086759 {
		t.Errorf("Tr_imu_to_velo = %v (has %v)", k.TrImuToVelo, k.HasImu)
	}

	// VeloToImage is P2·R0_rect·Tr_velo_to_cam: check one point against the
	// product written out here step by step.
	p := r3.Vec{X: 10, Y: 2, Z: -1}
	tr, r0, p2 := k.TrVeloToCam, k.R0Rect, k.P[2]
	c := [3]float64{}
	for i := 0; i < 3; i++ {
		c[i] = tr[i*4]*p.X + tr[i*4+1]*p.Y + tr[i*4+2]*p.Z + tr[i*4+3]
	}
	rc := [3]float64{}
	for i := 0; i < 3; i++ {
		rc[i] = r0[i*3]*c[0] + r0[i*3+1]*c[1] + r0[i*3+2]*c[2]
	}
	img := [3]float64{}
	for i := 0; i < 3; i++ {
		img[i] = p2[i*4]*rc[0] + p2[i*4+1]*rc[1] + p2[i*4+2]*rc[2] + p2[i*4+3]
	}
	wantU, wantV := img[0]/img[2], img[1]/img[2]
	proj := k.VeloToImage(2)
	u, v, _, ok := proj.Project(p)
	if !ok || math.Abs(u-wantU) > 1e-9 || math.Abs(v-wantV) > 1e-9 {
		t.Errorf("VeloToImage(2) projects to (%v, %v), want (%v, %v)", u, v, wantU, wantV)
	}

	// The rig's camera: intrinsics·extrinsics reproduce the projection.
	rig, err := k.Rig("000000.txt")
	if err != nil {
		t.Fatal(err)
	}
	cam, ok := rig.Camera("image_2")
	if !ok {
		t.Fatal("no image_2")
	}
	u2, v2, ok := cam.Intrinsics.Project(cam.Extrinsics.Transform.Apply(p))
	if !ok || math.Abs(u2-wantU) > 1e-9 || math.Abs(v2-wantV) > 1e-9 {
		t.Errorf("Intrinsics.Project(Extrinsics·p) = (%v, %v), want (%v, %v)", u2, v2, wantU, wantV)
	}
	if cam.Intrinsics.Fx != 707.0493 || cam.Intrinsics.Cx != 604.0814 || cam.Intrinsics.Cy != 180.5066 {
		t.Errorf("image_2 intrinsics %+v", cam.Intrinsics)
	}
	if m, err := rig.Transform(KITTIIMU, KITTIVelodyne); err != nil || m[3] != -0.8086759 {
		t.Errorf("imu→velodyne = %v, %v", m, err)
	}
	if _, err := rig.Transform(KITTIVelodyne, KITTIIMU); err != nil {
		t.Errorf("velodyne→imu (inverse): %v", err)
	}
	if _, err := rig.Transform("velodyne", "nowhere"); err == nil || !strings.Contains(err.Error(), `no transform from "velodyne" to "nowhere"`) {
		t.Errorf("unknown frame: %v", err)
	}

	// DecomposeProjection recovers P2's K from the full velodyne→image matrix.
	in, rt, err := DecomposeProjection(proj)
	if err != nil {
		t.Fatal(err)
	}
	// (to 1e-4: the file's R0_rect and Tr_velo_to_cam are rounded to 7
	// digits, so their product is orthonormal only to about 1e-7)
	if math.Abs(in.Fx-707.0493) > 1e-4 || math.Abs(in.Fy-707.0493) > 1e-4 || math.Abs(in.Cx-604.0814) > 1e-4 ||
		math.Abs(in.Cy-180.5066) > 1e-4 || math.Abs(in.Skew) > 1e-4 {
		t.Errorf("decomposed K = %+v", in)
	}
	u3, v3, _ := in.Project(rt.Apply(p))
	if math.Abs(u3-wantU) > 1e-6 || math.Abs(v3-wantV) > 1e-6 {
		t.Errorf("decomposed projection (%v, %v), want (%v, %v)", u3, v3, wantU, wantV)
	}
}

func TestReadKITTIAll(t *testing.T) {
	for _, id := range []string{"000000", "000001", "000002", "000003", "000004"} {
		if _, err := ReadKITTI(kittiPath(t, id)); err != nil {
			t.Error(err)
		}
	}
}

func TestParseKITTIErrors(t *testing.T) {
	b, err := os.ReadFile(kittiPath(t, "000000"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n") // 7 lines + a blank one
	edit := func(i int, f func(string) string) string {
		l := append([]string{}, lines...)
		l[i] = f(l[i])
		return strings.Join(l, "\n")
	}
	dropLast := func(s string) string { return s[:strings.LastIndexByte(s, ' ')] }
	cases := []struct{ name, in, want string }{
		{"11 numbers", edit(5, dropLast), "calib x.txt: line 6: Tr_velo_to_cam has 11 numbers, want 12"},
		{"missing key", edit(5, func(string) string { return "" }), "calib x.txt: no Tr_velo_to_cam line"},
		{"non-numeric", edit(4, func(s string) string { return strings.Replace(s, "1.009263000000e-02", "abc", 1) }),
			`calib x.txt: line 5: R0_rect value 2 is "abc", want a finite number`},
		{"inf", edit(2, func(s string) string { return strings.Replace(s, "4.575831000000e+01", "Inf", 1) }),
			`line 3: P2 value 4 is "Inf"`},
		{"duplicate", edit(1, func(s string) string { return strings.Replace(s, "P1:", "P0:", 1) }),
			"calib x.txt: line 2: P0 appears twice (first on line 1)"},
		{"no key", edit(0, func(s string) string { return ": 1 2 3" }), "calib x.txt: line 1: no key before ':'"},
		{"number first", edit(0, func(s string) string { return "1.0 2.0" }), `calib x.txt: line 1: starts with the number "1.0"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseKITTI(strings.NewReader(c.in), "x.txt")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
	if _, err := ReadKITTI(filepath.Join(t.TempDir(), "x.txt")); err == nil || !strings.Contains(err.Error(), "calib ") {
		t.Errorf("missing file: %v", err)
	}
	// Tracking-benchmark spelling: no colon, R_rect / Tr_velo_cam / Tr_imu_velo.
	tracking := strings.NewReplacer("R0_rect:", "R_rect", "Tr_velo_to_cam:", "Tr_velo_cam", "Tr_imu_to_velo:", "Tr_imu_velo").Replace(string(b))
	k, err := ParseKITTI(strings.NewReader(tracking), "tracking.txt")
	if err != nil || !k.HasImu || k.R0Rect[0] != 0.9999128 {
		t.Errorf("tracking spelling: %v", err)
	}
}

func FuzzParseKITTI(f *testing.F) {
	for _, id := range []string{"000000", "000001", "000002", "000003", "000004"} {
		if b, err := os.ReadFile(filepath.Join(sampledata.SharedDir(f), "kitti-object/training/calib", id+".txt")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKITTI(bytes.NewReader(b), "fuzz.txt")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "calib fuzz.txt: ") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		_ = k.VeloToImage(2)
		if rig, err := k.Rig("fuzz.txt"); err == nil {
			_, _ = rig.Transform(KITTIVelodyne, KITTIIMU)
		}
		_, _, _ = DecomposeProjection(k.VeloToImage(2))
	})
}

func TestAlignmentCamera(t *testing.T) {
	k, err := ReadKITTI(kittiPath(t, "000000"))
	if err != nil {
		t.Fatal(err)
	}
	// The DeepStream-3D alignment config takes a 3×4 intrinsic and a 3×4
	// lidar→camera extrinsic; KITTI's P2 and R0_rect·Tr_velo_to_cam are
	// exactly that.
	rect := k.VeloToRect()
	a := AlignmentCamera{Intrinsic: k.P[2][:], Extrinsic: rect[:12], Width: 1224, Height: 370}
	cam, err := a.Camera("cam2", "velodyne")
	if err != nil {
		t.Fatal(err)
	}
	want := k.VeloToImage(2)
	for i := range want {
		if math.Abs(cam.Projection[i]-want[i]) > 1e-9*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("projection %v, want %v", cam.Projection, want)
		}
	}
	// Column-major storage of the same matrices gives the same camera.
	cm := AlignmentCamera{Intrinsic: colMajor(k.P[2][:], 3), Extrinsic: colMajor(rect[:], 4), Width: 1224, Height: 370, ColumnMajor: true}
	cam2, err := cm.Camera("cam2", "velodyne")
	if err != nil {
		t.Fatal(err)
	}
	if cam2.Projection != cam.Projection && !close12(cam2.Projection, cam.Projection) {
		t.Errorf("column-major projection %v, want %v", cam2.Projection, cam.Projection)
	}
	if _, err := (AlignmentCamera{Intrinsic: k.P[2][:11], Extrinsic: rect[:12]}).Camera("c", "l"); err == nil ||
		!strings.Contains(err.Error(), "intrinsic has 11 values, want 9 (3×3) or 12 (3×4)") {
		t.Errorf("11 values: %v", err)
	}
	bad := rect
	bad[15] = 2
	if _, err := (AlignmentCamera{Intrinsic: k.P[2][:], Extrinsic: bad[:]}).Camera("c", "l"); err == nil ||
		!strings.Contains(err.Error(), "last row") {
		t.Errorf("bad 4×4: %v", err)
	}
}

func colMajor(v []float64, rows int) []float64 {
	cols := len(v) / rows
	out := make([]float64, len(v))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[c*rows+r] = v[r*cols+c]
		}
	}
	return out
}

func close12(a, b Projection) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9*math.Max(1, math.Abs(b[i])) {
			return false
		}
	}
	return true
}

func TestPoseFromQuaternion(t *testing.T) {
	// Rotation by 90° about z: (w, x, y, z) = (cos 45°, 0, 0, sin 45°).
	s := math.Sqrt(0.5)
	m, err := PoseFromQuaternion([4]float64{s, 0, 0, s}, [3]float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Apply(r3.Vec{X: 1})
	if math.Abs(p.X-1) > 1e-12 || math.Abs(p.Y-3) > 1e-12 || math.Abs(p.Z-3) > 1e-12 {
		t.Errorf("x̂ maps to %v, want (1, 3, 3)", p)
	}
	// Unnormalised input is normalised.
	m2, _ := PoseFromQuaternion([4]float64{2 * s, 0, 0, 2 * s}, [3]float64{1, 2, 3})
	if m2 != m && math.Abs(m2[1]-m[1]) > 1e-12 {
		t.Errorf("scaled quaternion gives %v, want %v", m2, m)
	}
	if _, err := PoseFromQuaternion([4]float64{}, [3]float64{}); err == nil {
		t.Error("zero quaternion: no error")
	}
	if _, err := PoseFromQuaternion([4]float64{1, 0, 0, 0}, [3]float64{math.NaN(), 0, 0}); err == nil {
		t.Error("NaN translation: no error")
	}
	_ = ds3d.Identity4
}
