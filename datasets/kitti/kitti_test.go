package kitti

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"gonum.org/v1/gonum/spatial/r3"
)

// readBin is the test's own velodyne reader: float32 LE x, y, z, r.
func readBin(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%16 != 0 {
		t.Fatalf("%s: %d bytes is not a multiple of 16", path, len(b))
	}
	pts := make([]float32, len(b)/4)
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, pts); err != nil {
		t.Fatal(err)
	}
	return pts
}

func countIn(b ds3d.Box3D, pts []float32) int {
	n := 0
	for i := 0; i+3 < len(pts); i += 4 {
		if b.Contains(pts[i], pts[i+1], pts[i+2]) {
			n++
		}
	}
	return n
}

// countInRect counts points inside a label's box in the rectified camera
// frame, the way kitti-object/PROVENANCE.md did: length along x after
// rotating by ry about y, width along z, y in [Y−h, Y].
func countInRect(l Label, veloToRect ds3d.Mat4, pts []float32) int {
	c, s := math.Cos(l.RotY), math.Sin(l.RotY)
	n := 0
	for i := 0; i+3 < len(pts); i += 4 {
		p := veloToRect.Apply(r3.Vec{X: float64(pts[i]), Y: float64(pts[i+1]), Z: float64(pts[i+2])})
		dx, dz := p.X-l.X, p.Z-l.Z
		if math.Abs(c*dx-s*dz) <= l.L/2 && math.Abs(s*dx+c*dz) <= l.W/2 && p.Y >= l.Y-l.H && p.Y <= l.Y {
			n++
		}
	}
	return n
}

// Expected values: kitti-object/PROVENANCE.md, "Verified here" (counted by
// the data curator's own script in the rectified camera frame).
var provenance = []struct {
	frame  string
	obj    int // index among the non-DontCare labels
	typ    string
	points int
	u, v   float64 // box centre projected through P2
}{
	{"000000", 0, "Pedestrian", 376, 764, 224},
	{"000001", 0, "Truck", 70, 615, 174},
	{"000001", 1, "Car", 9, 406, 192},
	{"000001", 2, "Cyclist", 18, 683, 179},
	{"000002", 0, "Misc", 1351, 887, 238},
	{"000002", 1, "Car", 67, 678, 206},
	{"000003", 0, "Car", 680, 667, 225},
	{"000004", 0, "Car", 77, 314, 200},
	{"000004", 1, "Car", 26, 386, 195},
}

// File sizes / 16, from PROVENANCE.md.
var pointCounts = map[string]int{"000000": 115384, "000001": 120268, "000002": 126891, "000003": 113110, "000004": 115976}

func TestFramesMatchProvenance(t *testing.T) {
	ds, err := Open(sampledata.Shared(t, "kitti-object/training"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := ds.IDs()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids, ","); got != "000000,000001,000002,000003,000004" {
		t.Errorf("IDs = %s", got)
	}
	frames := map[string]*Frame{}
	points := map[string][]float32{}
	for _, id := range ids {
		f, err := ds.Frame(id)
		if err != nil {
			t.Fatal(err)
		}
		frames[id] = f
		points[id] = readBin(t, f.VelodynePath)
		if got := len(points[id]) / 4; got != pointCounts[id] {
			t.Errorf("%s: %d points, PROVENANCE says %d", id, got, pointCounts[id])
		}
	}
	for _, want := range provenance {
		f := frames[want.frame]
		if want.obj >= len(f.Objects) {
			t.Errorf("%s: %d objects, want index %d", want.frame, len(f.Objects), want.obj)
			continue
		}
		o := f.Objects[want.obj]
		if o.Type != want.typ || o.Box.Label != want.typ {
			t.Errorf("%s[%d]: type %s (box %s), want %s", want.frame, want.obj, o.Type, o.Box.Label, want.typ)
		}
		// The curator counted in the rectified camera frame, where the box
		// is upright along camera y; that count must match to ±2.
		nc := countInRect(o.Label, f.Calib.VeloToRect(), points[want.frame])
		if abs(nc-want.points) > 2 {
			t.Errorf("%s %s: %d points inside the camera-frame box, PROVENANCE says %d", want.frame, want.typ, nc, want.points)
		}
		// The lidar-frame Box3D keeps the camera's ≈0.6° tilt in Pitch and
		// Roll, so it is the same box: ±2 as well.
		n := countIn(o.Box, points[want.frame])
		if abs(n-want.points) > 2 {
			t.Errorf("%s %s: %d points inside the lidar-frame box, PROVENANCE says %d (±2)", want.frame, want.typ, n, want.points)
		}
		// Upright (yaw only), the long boxes lose or gain ground points at
		// their ends: the tilt matters, which is why Box3D carries it.
		up := o.Box
		up.Pitch, up.Roll = 0, 0
		t.Logf("%s %s: upright box holds %d", want.frame, want.typ, countIn(up, points[want.frame]))
		cam, _ := f.Rig.Camera("image_2")
		u, v, _, ok := cam.ProjectLidar(r3.Vec{X: float64(o.Box.CX), Y: float64(o.Box.CY), Z: float64(o.Box.CZ)})
		if !ok || math.Abs(u-want.u) > 3 || math.Abs(v-want.v) > 3 {
			t.Errorf("%s %s: centre projects to (%.1f, %.1f), PROVENANCE says (%.0f, %.0f)", want.frame, want.typ, u, v, want.u, want.v)
		}
		t.Logf("%s %-10s pts lidar-box=%4d camera-box=%4d (want %4d) centre_px=(%.1f, %.1f) (want %.0f, %.0f) yaw=%.3f ry=%.2f",
			want.frame, want.typ, n, nc, want.points, u, v, want.u, want.v, o.Box.Yaw, o.RotY)
	}
	// 000000 is 1224x370 (PROVENANCE), the others 1242x375.
	if cam, _ := frames["000000"].Rig.Camera("image_2"); cam.Intrinsics.Width != 1224 || cam.Intrinsics.Height != 370 {
		t.Errorf("000000 image_2 size %dx%d, want 1224x370", cam.Intrinsics.Width, cam.Intrinsics.Height)
	}
}

// TestYawConvention checks yaw = −ry − π/2 (to within the calibration's
// small rotation), and that the point counts depend on it: the same boxes
// turned by the naive yaw = ry hold clearly fewer points.
func TestYawConvention(t *testing.T) {
	ds, err := Open(sampledata.Shared(t, "kitti-object/training"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"000001", "000003"} {
		f, err := ds.Frame(id)
		if err != nil {
			t.Fatal(err)
		}
		pts := readBin(t, f.VelodynePath)
		o := f.Objects[0] // 000001 Truck 12.3 m long; 000003 Car
		d := math.Remainder(float64(o.Box.Yaw)-(-o.RotY-math.Pi/2), 2*math.Pi)
		if math.Abs(d) > 0.02 {
			t.Errorf("%s: yaw %.4f, −ry−π/2 = %.4f", id, o.Box.Yaw, -o.RotY-math.Pi/2)
		}
		right := countIn(o.Box, pts)
		wrong := o.Box
		wrong.Yaw = float32(o.RotY)
		if w := countIn(wrong, pts); w >= right*3/4 {
			t.Errorf("%s: yaw=ry holds %d points, correct yaw %d: the check cannot tell them apart", id, w, right)
		}
	}
}

func TestParseLabels(t *testing.T) {
	p := sampledata.Shared(t, "kitti-object/training/label_2/000001.txt")
	ls, err := ReadLabels(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 7 {
		t.Fatalf("%d labels, want 7", len(ls))
	}
	// Row 1 of the file: Truck 0.00 0 -1.57 599.41 156.40 629.75 189.25 2.85 2.63 12.34 0.47 1.49 69.44 -1.56
	l := ls[0]
	if l.Type != "Truck" || l.Occluded != 0 || l.Alpha != -1.57 || l.H != 2.85 || l.W != 2.63 || l.L != 12.34 ||
		l.X != 0.47 || l.Y != 1.49 || l.Z != 69.44 || l.RotY != -1.56 || l.Score != 1 {
		t.Errorf("row 1 = %+v", l)
	}
	if l.BBox.Left != 599.41 || l.BBox.Top != 156.40 || math.Abs(float64(l.BBox.Width)-30.34) > 1e-4 ||
		math.Abs(float64(l.BBox.Height)-32.85) > 1e-4 || l.BBox.ClassID != 2 || l.BBox.TrackID != -1 {
		t.Errorf("row 1 bbox = %+v", l.BBox)
	}
	if ls[3].Type != DontCare || ls[3].BBox.ClassID != -1 {
		t.Errorf("row 4 = %+v, want DontCare", ls[3])
	}
}

func TestParseLabelsErrors(t *testing.T) {
	real, err := os.ReadFile(sampledata.Shared(t, "kitti-object/training/label_2/000001.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(real)), "\n")
	cases := []struct {
		name, edit, want string
	}{
		{"short row", "Truck 0.00 0 -1.57 599.41 156.40 629.75 189.25 2.85 2.63 12.34 0.47 1.49 69.44",
			"x.txt: line 2: 14 columns, want 15"},
		{"text number", "Truck 0.00 0 -1.57 599.41 156.40 629.75 189.25 2.85 abc 12.34 0.47 1.49 69.44 -1.56",
			`x.txt: line 2: column 10 (w) is "abc", want a finite number`},
		{"nan", "Truck 0.00 0 -1.57 599.41 156.40 629.75 189.25 2.85 2.63 12.34 NaN 1.49 69.44 -1.56",
			`line 2: column 12 (x) is "NaN"`},
		{"occluded", "Truck 0.00 7 -1.57 599.41 156.40 629.75 189.25 2.85 2.63 12.34 0.47 1.49 69.44 -1.56",
			"line 2: occluded is 7, want -1, 0, 1, 2 or 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := append([]string{}, lines...)
			in[1] = c.edit
			_, err := ParseLabels(strings.NewReader(strings.Join(in, "\n")), "x.txt")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	if _, err := ReadLabels(filepath.Join(t.TempDir(), "none.txt")); err == nil || !strings.Contains(err.Error(), "none.txt") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no calib/ folder") {
		t.Errorf("Open(empty): err = %v", err)
	}
}

func FuzzParseLabels(f *testing.F) {
	for i := 0; i < 5; i++ {
		b, err := os.ReadFile(filepath.Join(sampledata.SharedDir(f), "kitti-object/training/label_2", "00000"+string(rune('0'+i))+".txt"))
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Car 0 0 0 1 2 3 4 1 1 1 0 0 10 0 0.5\n\n"))
	inv := ds3d.Identity4
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, err := ParseLabels(bytes.NewReader(b), "fuzz.txt")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "kitti fuzz.txt: ") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		for _, l := range ls {
			_ = LabelToBox(l, inv)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
