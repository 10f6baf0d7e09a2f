package eval

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/postprocess"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// obj is an upright 4×1.8×1.5 m object at (x, y) with a 2D box of height h
// px placed at column x·100 (so 2D boxes of distinct x do not overlap).
func obj(typ string, x, y, score float64, h float32) Object {
	return Object{
		Type: typ, Score: score,
		BBox: ds3d.Object2D{Left: float32(x * 100), Top: 100, Width: 50, Height: h},
		Box:  ds3d.Box3D{CX: float32(x), CY: float32(y), DX: 4, DY: 1.8, DZ: 1.5},
	}
}

func mustGet(t *testing.T, r Result, c, m, d string) Entry {
	t.Helper()
	e, ok := r.Get(c, m, d)
	if !ok {
		t.Fatalf("no entry %s %s %s", c, m, d)
	}
	return e
}

// (b) 2 GT cars; detections: TP at 0.9, FP at 0.6, TP at 0.3.
// Curve: (r ½, p 1), (r ½, p ½), (r 1, p ⅔). Interpolated precision is 1
// for r ≤ ½ and ⅔ for ½ < r ≤ 1.
// R40: r = k/40, k = 1..20 → 1, k = 21..40 → ⅔: (20 + 40/3)/40 = 5/6.
// R11: r = 0, .1, …, .5 → 1 (6 points), .6 … 1 → ⅔ (5): (6 + 10/3)/11 = 28/33.
func TestHandBuilt(t *testing.T) {
	gt := []FrameBoxes{{ID: "a", Objects: []Object{obj("Car", 10, 0, 1, 60), obj("Car", 20, 0, 1, 60)}}}
	pred := []FrameBoxes{{ID: "a", Objects: []Object{
		obj("Car", 10, 0, 0.9, 60),
		obj("Car", 30, 0, 0.6, 60), // nothing there
		obj("Car", 20, 0.1, 0.3, 60),
	}}}
	r, err := KITTI(gt, pred, Options{Classes: []string{"Car"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Metrics {
		for _, d := range Difficulties {
			e := mustGet(t, r, "Car", m, d.Name)
			if e.NumGT != 2 || e.TP != 2 || e.FP != 1 || !near(e.AP40, 5.0/6) || !near(e.AP11, 28.0/33) {
				t.Errorf("%s %s: %+v, want 2 GT 2 TP 1 FP, R40 5/6 R11 28/33", m, d.Name, e)
			}
		}
	}
	// a stricter threshold than the second TP's IoU (3.9·1.8/(2·7.2−7.02) ≈ 0.951)
	// turns it into a FP: curve (½,1),(½,½),(½,⅓) → R40 20/40, R11 6/11.
	r, _ = KITTI(gt, pred, Options{Classes: []string{"Car"}, MinOverlap: map[string]float64{"Car": 0.96}})
	e := mustGet(t, r, "Car", "bev", "easy")
	if e.TP != 1 || e.FP != 2 || !near(e.AP40, 0.5) || !near(e.AP11, 6.0/11) {
		t.Errorf("min overlap 0.96: %+v", e)
	}
}

// (c) neighbour class, DontCare, low detections, difficulty.
func TestIgnored(t *testing.T) {
	dc := Object{Type: kitti.DontCare, BBox: ds3d.Object2D{Left: 4000, Top: 90, Width: 200, Height: 100}}
	hard := obj("Car", 60, 0, 1, 60)
	hard.Occluded = 2 // counts only for Hard
	gt := []FrameBoxes{{ID: "a", Objects: []Object{
		obj("Car", 10, 0, 1, 60),
		obj("Van", 20, 0, 1, 60),
		dc,
		obj("Truck", 50, 0, 1, 60),
		hard,
	}}}
	pred := []FrameBoxes{{ID: "a", Objects: []Object{
		obj("Car", 10, 0, 0.9, 60),  // TP
		obj("Car", 20, 0, 0.8, 60),  // on the Van: ignored
		obj("Car", 41, 0, 0.7, 60),  // 2D box inside DontCare (x 4100..4150): ignored
		obj("Car", 70, 0, 0.6, 20),  // lower than 25 px: ignored
		obj("Van", 80, 0, 0.95, 60), // other class: no part
		obj("Car", 60, 0, 0.5, 60),  // on the occluded car: ignored for Easy/Moderate, TP for Hard
	}}}
	r, err := KITTI(gt, pred, Options{Classes: []string{"Car"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"easy", "moderate"} {
		e := mustGet(t, r, "Car", "bev", d)
		if e.NumGT != 1 || e.TP != 1 || e.FP != 0 || e.AP40 != 1 || e.AP11 != 1 {
			t.Errorf("%s: %+v, want 1 GT, 1 TP, no FP, AP 1", d, e)
		}
	}
	e := mustGet(t, r, "Car", "bev", "hard")
	if e.NumGT != 2 || e.TP != 2 || e.FP != 0 || e.AP40 != 1 {
		t.Errorf("hard: %+v", e)
	}
	// a detection on the Truck is a FP; without the Neighbours rule the
	// Van detection would be too: check the Truck one.
	pred[0].Objects = append(pred[0].Objects, obj("Car", 50, 0, 0.99, 60))
	r, _ = KITTI(gt, pred, Options{Classes: []string{"Car"}})
	e = mustGet(t, r, "Car", "bev", "moderate")
	// FP at 0.99, TP at 0.9: curve (0, 0), (1, ½) → ½ everywhere.
	if e.TP != 1 || e.FP != 1 || !near(e.AP40, 0.5) || !near(e.AP11, 0.5) {
		t.Errorf("truck FP: %+v", e)
	}
	// no counted GT: NaN
	r, _ = KITTI(gt, pred, Options{Classes: []string{"Pedestrian"}})
	if e := mustGet(t, r, "Pedestrian", "3d", "easy"); !math.IsNaN(e.AP40) || e.NumGT != 0 {
		t.Errorf("no pedestrians: %+v", e)
	}
	if _, err := KITTI(gt, []FrameBoxes{{ID: "zz"}}, Options{}); err == nil {
		t.Error("prediction frame without GT: no error")
	}
}

func labelDir(t *testing.T) (string, string) {
	root := sampledata.Shared(t, "kitti-object/training")
	return filepath.Join(root, "label_2"), filepath.Join(root, "calib")
}

// (a) ground truth against itself: AP 1 wherever there are counted objects.
func TestSelf(t *testing.T) {
	labels, calibs := labelDir(t)
	cam, err := ReadDir(labels)
	if err != nil {
		t.Fatal(err)
	}
	lid, err := ReadDirLidar(labels, calibs)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string][]FrameBoxes{"camera": cam, "lidar": lid} {
		r, err := KITTI(f, f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		withGT := 0
		for _, e := range r.Entries {
			if e.NumGT == 0 {
				if !math.IsNaN(e.AP40) {
					t.Errorf("%s %+v: want NaN", name, e)
				}
				continue
			}
			withGT++
			if e.AP11 != 1 || e.AP40 != 1 || e.FP != 0 {
				t.Errorf("%s %+v: want AP 1", name, e)
			}
		}
		if withGT == 0 {
			t.Errorf("%s: no entry with ground truth", name)
		}
	}
}

// rectIoU is the BEV IoU of two equal L×W rectangles of heading RotY (camera
// x–z plane; length axis (cos R, −sin R), width axis (sin R, cos R)) when one
// is shifted by (dx, dz).
func rectIoU(l kitti.Label, dx, dz float64) float64 {
	s, c := math.Sincos(l.RotY)
	dl := math.Abs(dx*c - dz*s)
	dw := math.Abs(dx*s + dz*c)
	if dl >= l.L || dw >= l.W {
		return 0
	}
	i := (l.L - dl) * (l.W - dw)
	return i / (2*l.L*l.W - i)
}

// (d) real labels of 000000–000004 in the velodyne frame: every detection is
// its GT moved 0.5 m forward (camera z, ≈ lidar x: along the cars' length,
// BEV IoU (L−0.5)/(L+0.5) ≈ 0.78, still a match); 000003's car also moves
// 0.5 m sideways (camera x), BEV IoU ≈ 0.46 < 0.7: a FP and a miss; the
// 0.48 m wide pedestrian of 000000 no longer overlaps at all.
//
// Car, Moderate/Hard: counted GT are 000002's car (33 px), 000003's (103 px)
// and 000004's first (30.5 px); 000001's (21.6 px) and 000004's second
// (20.7 px) are lower than 25 px, ignored with their detections. Scores:
// 000002 0.9 (TP), 000003 0.8 (FP), 000004 0.7 (TP). Curve (⅓,1), (⅓,½),
// (⅔,⅔): interpolated precision 1 for r ≤ ⅓, ⅔ for ⅓ < r ≤ ⅔, 0 beyond.
// R40: k = 1..13 → 1, k = 14..26 → ⅔: (13 + 26/3)/40 = 13/24.
// R11: r = 0…0.3 → 1, 0.4…0.6 → ⅔: (4 + 2)/11 = 6/11.
// Car, Easy: only 000003's car counts (the others are under 40 px) and its
// detection is a FP: AP 0. Pedestrian: its one GT missed: AP 0.
func TestPerturbedKITTI(t *testing.T) {
	labels, calibs := labelDir(t)
	gt, err := ReadDirLidar(labels, calibs)
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]float64{"000002": 0.9, "000003": 0.8, "000004": 0.7}
	var pred []FrameBoxes
	for _, id := range []string{"000000", "000001", "000002", "000003", "000004"} {
		ls, err := kitti.ReadLabels(filepath.Join(labels, id+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := calib.ReadKITTI(filepath.Join(calibs, id+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		inv, _ := c.VeloToRect().Inverse()
		var ps []kitti.Label
		for _, l := range ls {
			if l.Type == kitti.DontCare {
				continue
			}
			dx := 0.0
			if id == "000003" {
				dx = 0.5
			}
			p := l
			p.X += dx
			p.Z += 0.5
			p.Score = 0.5
			if s, ok := scores[id]; ok && l.Type == "Car" && l.BBox.Height > 25 {
				p.Score = s
			}
			g, q := kitti.LabelToBox(l, inv), kitti.LabelToBox(p, inv)
			want := rectIoU(l, dx, 0.5)
			if got := postprocess.BEVIoU(&g, &q); math.Abs(got-want) > 2e-3 {
				t.Errorf("%s %s: BEV IoU %.4f, by hand %.4f", id, l.Type, got, want)
			}
			if l.Type == "Car" && (want > 0.7) != (id != "000003") {
				t.Errorf("%s car: IoU %.3f on the wrong side of 0.7", id, want)
			}
			ps = append(ps, p)
		}
		pred = append(pred, FromLabels(id, ps, func(l kitti.Label) ds3d.Box3D { return kitti.LabelToBox(l, inv) }))
	}
	r, err := KITTI(gt, pred, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Metrics {
		for _, d := range []string{"moderate", "hard"} {
			e := mustGet(t, r, "Car", m, d)
			if e.NumGT != 3 || e.TP != 2 || e.FP != 1 || !near(e.AP40, 13.0/24) || !near(e.AP11, 6.0/11) {
				t.Errorf("Car %s %s: %+v, want R40 13/24, R11 6/11", m, d, e)
			}
		}
		if e := mustGet(t, r, "Car", m, "easy"); e.NumGT != 1 || e.TP != 0 || e.AP40 != 0 || e.AP11 != 0 {
			t.Errorf("Car %s easy: %+v", m, e)
		}
		if e := mustGet(t, r, "Pedestrian", m, "moderate"); e.NumGT != 1 || e.AP40 != 0 {
			t.Errorf("Pedestrian %s: %+v", m, e)
		}
	}
}

func TestRun(t *testing.T) {
	labels, calibs := labelDir(t)
	var out, errb bytes.Buffer
	if rc := Run([]string{"--gt", labels, "--pred", labels, "--calib", calibs, "--class", "Car"}, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	if !strings.Contains(out.String(), "Car bev moderate R40 1.0000\n") || strings.Count(out.String(), "\n") != 12 {
		t.Errorf("output:\n%s", out.String())
	}
	out.Reset()
	if rc := Run([]string{"--gt", labels, "--pred", labels, "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("json rc %d: %s", rc, errb.String())
	}
	var js []map[string]any
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || len(js) != 18 {
		t.Fatalf("json: %v, %d entries", err, len(js))
	}
	if rc := Run([]string{"--gt", labels}, &out, &errb); rc != 2 {
		t.Errorf("missing --pred: rc %d, want 2", rc)
	}
	if rc := Run([]string{"--gt", t.TempDir(), "--pred", labels}, &out, &errb); rc != 1 {
		t.Errorf("empty gt dir: rc %d, want 1", rc)
	}
}
