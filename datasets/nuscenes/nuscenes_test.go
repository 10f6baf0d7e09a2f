package nuscenes

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"gonum.org/v1/gonum/spatial/r3"
)

const infoPath = "nuscenes-mini-sample/n015-2018-07-24-11-22-45+0800.derived.json"

// readPCDBin is the test's own LIDAR_TOP reader: float32 LE, 5 a point.
func readPCDBin(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%20 != 0 {
		t.Fatalf("%s: %d bytes is not a multiple of 20", path, len(b))
	}
	pts := make([]float32, len(b)/4)
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, pts); err != nil {
		t.Fatal(err)
	}
	return pts
}

func TestReadInfo(t *testing.T) {
	info, err := ReadInfo(sampledata.Shared(t, infoPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Samples) != 1 || info.Version != "v1.0-mini" || info.Classes[7] != "pedestrian" || info.Classes[9] != "barrier" {
		t.Fatalf("info %s %v with %d samples", info.Version, info.Classes, len(info.Samples))
	}
	s := info.Samples[0]
	// PROVENANCE.md: token, lidar timestamp 1532402927.647951, 34,688
	// points of 5 floats, 69 GT boxes, 6 cameras of 1600x900.
	if s.Token != "ca9a282c9e77460f8360f564131a8af5" || s.TimestampNS != 1532402927647951000 || s.PointFeatures != 5 {
		t.Errorf("sample %s at %d ns, %d features", s.Token, s.TimestampNS, s.PointFeatures)
	}
	pts := readPCDBin(t, s.LidarPath)
	if n := len(pts) / 5; n != 34688 {
		t.Errorf("%d points, want 34688", n)
	}
	if len(s.Objects) != 69 || len(s.Images) != 6 {
		t.Fatalf("%d objects, %d images", len(s.Objects), len(s.Images))
	}
	for _, im := range s.Images {
		if _, err := os.Stat(im.Path); err != nil {
			t.Error(err)
		}
		// The camera's timestamp is in its file name (microseconds).
		if !strings.Contains(filepath.Base(im.Path), "__"+im.Camera+"__") ||
			!strings.HasSuffix(im.Path, "__"+itoa(im.TimestampNS/1000)+".jpg") {
			t.Errorf("%s: %s at %d ns", im.Camera, im.Path, im.TimestampNS)
		}
	}
	for _, c := range s.Rig.Cameras {
		if c.Intrinsics.Width != 1600 || c.Intrinsics.Height != 900 {
			t.Errorf("%s: %dx%d, want 1600x900", c.Name, c.Intrinsics.Width, c.Intrinsics.Height)
		}
	}

	// Per-box lidar point counts: PROVENANCE says counting with z as the
	// volume centre reproduces num_lidar_pts exactly for 61 of the 69 boxes.
	exact := 0
	for i, o := range s.Objects {
		n := 0
		for j := 0; j+4 < len(pts); j += 5 {
			if o.Box.Contains(pts[j], pts[j+1], pts[j+2]) {
				n++
			}
		}
		if n == o.NumLidarPts {
			exact++
		} else {
			t.Logf("box %d (%s): %d points inside, annotation says %d", i, o.Box.Label, n, o.NumLidarPts)
		}
	}
	if exact < 61 {
		t.Errorf("%d/69 boxes hold exactly num_lidar_pts points, PROVENANCE says 61/69", exact)
	}
	t.Logf("%d/69 boxes hold exactly num_lidar_pts points (PROVENANCE: 61/69)", exact)

	// Points in front of each camera (depth > 1 m) landing inside 1600x900,
	// from PROVENANCE.md.
	want := map[string]int{"CAM_FRONT": 3067, "CAM_FRONT_RIGHT": 3079, "CAM_FRONT_LEFT": 3704,
		"CAM_BACK": 4826, "CAM_BACK_LEFT": 4097, "CAM_BACK_RIGHT": 3379}
	for _, c := range s.Rig.Cameras {
		n := 0
		for j := 0; j+4 < len(pts); j += 5 {
			u, v, depth, ok := c.ProjectLidar(r3.Vec{X: float64(pts[j]), Y: float64(pts[j+1]), Z: float64(pts[j+2])})
			if ok && depth > 1 && u >= 0 && u < 1600 && v >= 0 && v < 900 {
				n++
			}
		}
		if n != want[c.Name] {
			t.Errorf("%s: %d points project into the image, PROVENANCE says %d", c.Name, n, want[c.Name])
		}
		t.Logf("%-15s %d points in image (PROVENANCE %d)", c.Name, n, want[c.Name])
	}
}

// TestCrossCheckCameraBoxes checks the lidar-frame boxes against the
// info's per-camera boxes (cam_instances: camera-frame [x, y, z, l, h, w,
// yaw], written by mmdetection3d from the global-frame annotations): each
// camera box's centre must be a lidar box's centre mapped by lidar2cam, and
// its size the same.
func TestCrossCheckCameraBoxes(t *testing.T) {
	p := sampledata.Shared(t, infoPath)
	info, err := ReadInfo(p)
	if err != nil {
		t.Fatal(err)
	}
	s := info.Samples[0]
	var doc struct {
		DataList []struct {
			CamInstances map[string][]struct {
				BBox3D []float64 `json:"bbox_3d"`
			} `json:"cam_instances"`
		} `json:"data_list"`
	}
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	total := 0
	for cam, list := range doc.DataList[0].CamInstances {
		c, ok := s.Rig.Camera(cam)
		if !ok {
			t.Fatalf("no camera %s", cam)
		}
		for i, ci := range list {
			want := r3.Vec{X: ci.BBox3D[0], Y: ci.BBox3D[1], Z: ci.BBox3D[2]}
			best := math.Inf(1)
			var match int
			for k, o := range s.Objects {
				got := c.Extrinsics.Transform.Apply(r3.Vec{X: float64(o.Box.CX), Y: float64(o.Box.CY), Z: float64(o.Box.CZ)})
				if d := r3.Norm(r3.Sub(got, want)); d < best {
					best, match = d, k
				}
			}
			o := s.Objects[match].Box
			if best > 0.01 || math.Abs(float64(o.DX)-ci.BBox3D[3]) > 1e-3 ||
				math.Abs(float64(o.DZ)-ci.BBox3D[4]) > 1e-3 || math.Abs(float64(o.DY)-ci.BBox3D[5]) > 1e-3 {
				t.Errorf("%s[%d]: nearest lidar box %d is %.3f m away, size %v×%v×%v vs %v", cam, i, match, best, o.DX, o.DY, o.DZ, ci.BBox3D[3:6])
			}
			total++
		}
	}
	if total != 84 { // 47 + 18 + 2 + 10 + 2 + 5
		t.Errorf("%d camera boxes, want 84", total)
	}
}

func TestReadInfoErrors(t *testing.T) {
	b, err := os.ReadFile(sampledata.Shared(t, infoPath))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var doc map[string]any
	json.Unmarshal(b, &doc)
	entry := doc["data_list"].([]any)[0].(map[string]any)
	inst := entry["instances"].([]any)
	inst[3].(map[string]any)["bbox_3d"] = []float64{1, 2, 3}
	out, _ := json.Marshal(doc)
	p := filepath.Join(dir, "x.json")
	os.WriteFile(p, out, 0o644)
	if _, err := ReadInfo(p); err == nil || !strings.Contains(err.Error(), "nuscenes "+p+": data_list[0]: instances[3].bbox_3d has 3 values, want 7") {
		t.Errorf("short bbox_3d: %v", err)
	}
	os.WriteFile(p, b[:1000], 0o644)
	if _, err := ReadInfo(p); err == nil || !strings.Contains(err.Error(), "nuscenes "+p+": line ") {
		t.Errorf("truncated: %v", err)
	}
	entry["timestamp"] = "yesterday"
	out, _ = json.Marshal(doc)
	os.WriteFile(p, out, 0o644)
	if _, err := ReadInfo(p); err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("string timestamp: %v", err)
	}
}

func TestSecondsToNS(t *testing.T) {
	for in, want := range map[string]int64{"1532402927.647951": 1532402927647951000, "1": 1e9, "0.000000001": 1, "1.5e0": 1500000000} {
		if got, err := secondsToNS(json.RawMessage(in)); err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.x", "99999999999999999999", "1e300", `"1.5"`} {
		if _, err := secondsToNS(json.RawMessage(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func itoa(i int64) string { b, _ := json.Marshal(i); return string(b) }
