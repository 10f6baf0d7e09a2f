package calib

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"gonum.org/v1/gonum/spatial/r3"
)

const nuScenesInfo = "nuscenes-mini-sample/n015-2018-07-24-11-22-45+0800.derived.json"

func TestReadNuScenesInfo(t *testing.T) {
	p := sampledata.Shared(t, nuScenesInfo)
	rigs, err := ReadNuScenesInfo(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rigs) != 1 {
		t.Fatalf("%d rigs, want 1", len(rigs))
	}
	rig := rigs[0]
	var names []string
	for _, c := range rig.Cameras {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != strings.Join(NuScenesCameras, ",") {
		t.Errorf("cameras %s", got)
	}
	// PROVENANCE.md: CAM_FRONT fx=fy=1266.417, cx=816.267, cy=491.507;
	// lidar2ego translation (0.944, 0, 1.840).
	front, _ := rig.Camera("CAM_FRONT")
	in := front.Intrinsics
	if math.Abs(in.Fx-1266.417) > 1e-3 || math.Abs(in.Fy-1266.417) > 1e-3 || math.Abs(in.Cx-816.267) > 1e-3 || math.Abs(in.Cy-491.507) > 1e-3 {
		t.Errorf("CAM_FRONT intrinsics %+v", in)
	}
	l2e, err := rig.Transform(NuScenesLidar, NuScenesEgo)
	if err != nil {
		t.Fatal(err)
	}
	if tr := l2e.Translation(); math.Abs(tr.X-0.944) > 1e-3 || math.Abs(tr.Y) > 1e-3 || math.Abs(tr.Z-1.840) > 1e-3 {
		t.Errorf("lidar2ego translation %v", tr)
	}
	if _, err := rig.Transform(NuScenesEgo, NuScenesGlobal); err != nil {
		t.Error(err)
	}
	if _, err := rig.Transform("CAM_BACK", NuScenesEgo); err != nil {
		t.Error(err)
	}

	// nuScenes' own tables give poses as quaternions: the lidar2ego rotation
	// turned into a quaternion (Shepperd's method, written out here) and back
	// through PoseFromQuaternion must give the matrix again.
	q := quatFromRot(l2e)
	tr := l2e.Translation()
	m, err := NuScenesPose{Translation: [3]float64{tr.X, tr.Y, tr.Z}, Rotation: q}.Mat4()
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		if math.Abs(m[i]-l2e[i]) > 1e-6 {
			t.Fatalf("pose from quaternion %v\nwant %v", m, l2e)
		}
	}
}

// quatFromRot returns (w, x, y, z) for the rotation part of m (w > 0 branch
// of the standard trace formula; lidar2ego's trace is positive enough).
func quatFromRot(m [16]float64) [4]float64 {
	tr := m[0] + m[5] + m[10]
	w := math.Sqrt(1+tr) / 2
	return [4]float64{w, (m[9] - m[6]) / (4 * w), (m[2] - m[8]) / (4 * w), (m[4] - m[1]) / (4 * w)}
}

func TestNuScenesErrors(t *testing.T) {
	b, err := os.ReadFile(sampledata.Shared(t, nuScenesInfo))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Truncated after 300 bytes: a syntax error at the end.
	p := write("cut.json", string(b[:300]))
	if _, err := ReadNuScenesInfo(p); err == nil || !strings.Contains(err.Error(), "calib "+p+": line ") ||
		!strings.Contains(err.Error(), "unexpected end of JSON input") {
		t.Errorf("truncated: %v", err)
	}
	// A stray character: its line and column are named.
	s := string(b)
	i := strings.Index(s, `"ego2global"`)
	bad := s[:i] + "x" + s[i:]
	line := strings.Count(bad[:i], "\n") + 1
	col := i - strings.LastIndex(bad[:i], "\n")
	p = write("stray.json", bad)
	want := "calib " + p + ": line " + itoa(line) + ", column " + itoa(col)
	if _, err := ReadNuScenesInfo(p); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("stray x: %v\nwant %q", err, want)
	}
	// A missing key.
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	entry := doc["data_list"].([]any)[0].(map[string]any)
	cams := entry["images"].(map[string]any)
	delete(cams["CAM_BACK"].(map[string]any), "lidar2cam")
	out, _ := json.Marshal(doc)
	p = write("nokey.json", string(out))
	if _, err := ReadNuScenesInfo(p); err == nil || !strings.Contains(err.Error(), "data_list[0]: missing images.CAM_BACK.lidar2cam") {
		t.Errorf("missing key: %v", err)
	}
	// A 3×3 where a 4×4 is due.
	entry["ego2global"] = [][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	out, _ = json.Marshal(doc)
	p = write("shape.json", string(out))
	if _, err := ReadNuScenesInfo(p); err == nil || !strings.Contains(err.Error(), "ego2global is 3×3, want 3×4 or 4×4") {
		t.Errorf("wrong shape: %v", err)
	}
	// A string where a matrix is due.
	entry["ego2global"] = "identity"
	out, _ = json.Marshal(doc)
	p = write("type.json", string(out))
	if _, err := ReadNuScenesInfo(p); err == nil || !strings.Contains(err.Error(), "ego2global: want a list of numbers") {
		t.Errorf("wrong type: %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestReadDAIRTransform(t *testing.T) {
	p := sampledata.Shared(t, "v2x-roadside/dair-v2x-c-pair/cooperative/calib/lidar_i2v/017314.json")
	e, err := ReadDAIRTransform(p, DAIRVirtualLidar, DAIRVehicleLidar)
	if err != nil {
		t.Fatal(err)
	}
	// Values from the file: rotation row 1 and translation [[-5.6465…], [12.1512…], [-0.4504…]].
	m := e.Transform
	if m[0] != 0.9998570901159907 || m[1] != -0.009576773429268817 || m[3] != -5.6465017752668185 ||
		m[7] != 12.151203361870731 || m[11] != -0.4504083256230432 || m[15] != 1 {
		t.Errorf("i2v = %v", m)
	}
	if e.From != DAIRVirtualLidar || e.To != DAIRVehicleLidar {
		t.Errorf("from %s to %s", e.From, e.To)
	}

	dir := t.TempDir()
	b, _ := os.ReadFile(p)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(strings.Replace(string(b), `"translation"`, `"translatio"`, 1)), 0o644)
	if _, err := ReadDAIRTransform(bad, "a", "b"); err == nil || !strings.Contains(err.Error(), "calib "+bad+": missing translation") {
		t.Errorf("missing key: %v", err)
	}
	os.WriteFile(bad, b[:len(b)-3], 0o644)
	if _, err := ReadDAIRTransform(bad, "a", "b"); err == nil || !strings.Contains(err.Error(), "calib "+bad+": line 1, column") {
		t.Errorf("truncated: %v", err)
	}
	os.WriteFile(bad, []byte(strings.Replace(string(b), "0.9998570901159907, ", "", 1)), 0o644)
	if _, err := ReadDAIRTransform(bad, "a", "b"); err == nil || !strings.Contains(err.Error(), "rotation: row 2 has 3 values, row 1 has 2") {
		t.Errorf("ragged: %v", err)
	}
}

const tumDir = "v2x-roadside/tumtraf-s110/calib/"

func TestReadTUMTraf(t *testing.T) {
	lidar := sampledata.Shared(t, tumDir+"s110_lidar_ouster_south.json")
	var cams []string
	for _, c := range []string{"south1", "south2", "north", "east"} {
		cams = append(cams, sampledata.Shared(t, tumDir+"s110_camera_basler_"+c+"_8mm.json"))
	}
	rig, err := ReadTUMTraf(lidar, cams...)
	if err != nil {
		t.Fatal(err)
	}
	if rig.Lidar != "s110_lidar_ouster_south" || len(rig.Cameras) != 4 {
		t.Fatalf("rig %s with %d cameras", rig.Lidar, len(rig.Cameras))
	}
	// south1 and south2 use the lidar file's projection matrices verbatim.
	var lidarDoc map[string][][]float64
	b, _ := os.ReadFile(lidar)
	if err := json.Unmarshal(b, &lidarDoc); err != nil {
		t.Fatal(err)
	}
	for _, c := range rig.Cameras[:2] {
		want := lidarDoc["projection_matrix_into_"+c.Name]
		for i := 0; i < 12; i++ {
			if c.Projection[i] != want[i/4][i%4] {
				t.Fatalf("%s projection %v, want %v", c.Name, c.Projection, want)
			}
		}
	}
	for _, c := range rig.Cameras {
		// Intrinsics·Extrinsics reproduce the projection (the decomposition
		// is exact), R is a rotation, and the image size is the file's.
		for _, p := range []r3.Vec{{X: 10, Y: 5, Z: -7}, {X: -20, Y: 30, Z: 0}, {X: 40, Y: -3, Z: -7}} {
			u, v, _, ok1 := c.ProjectLidar(p)
			u2, v2, ok2 := c.Intrinsics.Project(c.Extrinsics.Transform.Apply(p))
			if ok1 != ok2 || (ok1 && (math.Abs(u-u2) > 1e-6 || math.Abs(v-v2) > 1e-6)) {
				t.Errorf("%s: projection (%v, %v, %v) vs K·[R|t] (%v, %v, %v)", c.Name, u, v, ok1, u2, v2, ok2)
			}
		}
		r := c.Extrinsics.Transform.Rotation()
		if d := r.Det(); math.Abs(d-1) > 1e-9 {
			t.Errorf("%s: det R = %v", c.Name, d)
		}
		if c.Intrinsics.Width != 1920 || c.Intrinsics.Height != 1200 || len(c.Intrinsics.Distortion) != 5 {
			t.Errorf("%s: intrinsics %+v", c.Name, c.Intrinsics)
		}
		if c.Intrinsics.Fx < 1000 || c.Intrinsics.Fx > 2000 {
			t.Errorf("%s: fx %v is not near the 8 mm lens's ~1400 px", c.Name, c.Intrinsics.Fx)
		}
	}
	if _, err := rig.Transform("s110_lidar_ouster_south", TUMTrafBase); err != nil {
		t.Error(err)
	}
	// The camera file's projection_matrix is K·[R|t] of S110 base → image
	// (south1): check the base→camera transform against it.
	c1 := cams[0]
	var camDoc struct {
		K [][]float64 `json:"intrinsic_camera_matrix"`
		P [][]float64 `json:"projection_matrix"`
	}
	b, _ = os.ReadFile(c1)
	json.Unmarshal(b, &camDoc)
	baseToCam, err := rig.Transform(TUMTrafBase, "s110_camera_basler_south1_8mm")
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			var s float64
			for k := 0; k < 3; k++ {
				s += camDoc.K[r][k] * baseToCam[k*4+c]
			}
			if math.Abs(s-camDoc.P[r][c]) > 1e-6*math.Max(1, math.Abs(s)) {
				t.Fatalf("K·[R|t][%d][%d] = %v, projection_matrix has %v", r, c, s, camDoc.P[r][c])
			}
		}
	}

	// Errors name the file and key.
	dir := t.TempDir()
	bad := filepath.Join(dir, "s110_lidar_ouster_south.json")
	os.WriteFile(bad, []byte(strings.Replace(string(mustRead(t, lidar)), "transformation_matrix_", "transform_", 1)), 0o644)
	if _, err := ReadTUMTraf(bad, cams...); err == nil ||
		!strings.Contains(err.Error(), "calib "+bad+": missing transformation_matrix_s110_lidar_ouster_south_to_s110_base") {
		t.Errorf("missing key: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
