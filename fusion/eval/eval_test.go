package eval

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// obj is an upright 1.5 m × 1.8 m × 4 m object with its bottom centre at
// camera (x, 1.5, z), heading along camera x, and a 2D box of height h px
// at column x·100 (so 2D boxes of distinct x do not overlap).
func obj(typ string, x, z, score, h float64) Object {
	return Object{
		Type: typ, Score: score,
		BBox: Rect{x * 100, 100, x*100 + 50, 100 + h},
		Box:  CamBox{H: 1.5, W: 1.8, L: 4, X: x, Y: 1.5, Z: z},
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

// 2 GT cars; detections: TP at 0.9, FP at 0.6, TP at 0.3.
//
// Exact curve: (r ½, p 1), (r ½, p ½), (r 1, p ⅔). Interpolated precision
// is 1 for r ≤ ½ and ⅔ beyond. R40: k = 1..20 → 1, 21..40 → ⅔: 5/6. R11:
// r = 0…0.5 → 1 (6 points), 0.6…1 → ⅔ (5): 28/33.
//
// Devkit sampling: TP scores 0.9, 0.3 over 2 GT are both thresholds
// (recall ½ and 1 are ≥ 1/40 apart). At 0.9: 1 TP, 0 FP, precision 1; at
// 0.3: 2 TP, 1 FP, ⅔; positions 2..40 are 0. R11 = 1/11 (position 0), R40 =
// (⅔)/40 = 1/60.
func TestHandBuilt(t *testing.T) {
	gt := []FrameBoxes{{ID: "a", Objects: []Object{obj("Car", 10, 20, 0, 60), obj("Car", 20, 20, 0, 60)}}}
	pred := []FrameBoxes{{ID: "a", Objects: []Object{
		obj("Car", 10, 20, 0.9, 60),
		obj("Car", 30, 20, 0.6, 60), // nothing there
		obj("Car", 20, 20, 0.3, 60),
	}}}
	pred[0].Objects[2].Box.X += 0.1 // BEV/3D IoU ≈ 0.951, the same 2D box
	for _, tc := range []struct {
		curve      string
		ap11, ap40 float64
	}{{CurveExact, 28.0 / 33, 5.0 / 6}, {CurveDevkit, 1.0 / 11, 1.0 / 60}, {"", 1.0 / 11, 1.0 / 60}} {
		r, err := KITTI(gt, pred, Options{Classes: []string{"Car"}, Curve: tc.curve})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range Metrics {
			for _, d := range Difficulties {
				e := mustGet(t, r, "Car", m, d.Name)
				if m == "aos" {
					continue
				}
				if !e.Evaluated || e.NumGT != 2 || e.TP != 2 || e.FP != 1 || !near(e.AP40, tc.ap40) || !near(e.AP11, tc.ap11) {
					t.Errorf("%s %s %s: %+v, want 2 GT 2 TP 1 FP, R11 %.4f R40 %.4f", tc.curve, m, d.Name, e, tc.ap11, tc.ap40)
				}
			}
		}
	}
	// a stricter threshold than the second TP's BEV IoU (3.9·1.8/(2·7.2−7.02)
	// ≈ 0.951) turns it into a FP: exact curve (½,1),(½,½),(½,⅓) → R40 ½, R11 6/11.
	r, _ := KITTI(gt, pred, Options{Classes: []string{"Car"}, Curve: CurveExact, MinOverlap: map[string]float64{"Car": 0.96}})
	e := mustGet(t, r, "Car", "bev", "easy")
	if e.TP != 1 || e.FP != 2 || !near(e.AP40, 0.5) || !near(e.AP11, 6.0/11) {
		t.Errorf("min overlap 0.96: %+v", e)
	}
	if _, err := KITTI(gt, pred, Options{Curve: "smooth"}); err == nil {
		t.Error("unknown curve: no error")
	}
}

// Neighbour class, DontCare, low detections, difficulty (exact curve, so
// that the counts read off directly).
func TestIgnored(t *testing.T) {
	dc := Object{Type: "DontCare", Occluded: -1, Truncated: -1, Alpha: -10, BBox: Rect{4000, 90, 4200, 190},
		Box: CamBox{-1, -1, -1, -1000, -1000, -1000, -10}}
	hard := obj("Car", 60, 20, 0, 60)
	hard.Occluded = 2 // counts only for Hard
	gt := []FrameBoxes{{ID: "a", Objects: []Object{
		obj("Car", 10, 20, 0, 60),
		obj("Van", 20, 20, 0, 60),
		dc,
		obj("Truck", 50, 20, 0, 60),
		hard,
	}}, {ID: "b"}} // b has no prediction file: not scored
	pred := []FrameBoxes{{ID: "a", Objects: []Object{
		obj("Car", 10, 20, 0.9, 60),   // TP
		obj("Car", 20, 20, 0.8, 60),   // on the Van: ignored
		obj("Car", 41, 20, 0.7, 60),   // 2D box inside DontCare (x 4100..4150): ignored in 2D only
		obj("Car", 70, 20, 0.6, 24.9), // 24 px as the devkit's int32: ignored
		obj("Van", 80, 20, 0.95, 60),  // other class: no part
		obj("Car", 60, 20, 0.5, 60),   // on the occluded car: ignored for Easy/Moderate, TP for Hard
	}}}
	r, err := KITTI(gt, pred, Options{Classes: []string{"Car"}, Curve: CurveExact})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"easy", "moderate"} {
		e := mustGet(t, r, "Car", "2d", d)
		if e.NumGT != 1 || e.TP != 1 || e.FP != 0 || e.AP40 != 1 || e.AP11 != 1 {
			t.Errorf("2d %s: %+v, want 1 GT, 1 TP, no FP, AP 1", d, e)
		}
		// the DontCare row has no 3D box: in BEV the detection at x=41 is a FP.
		e = mustGet(t, r, "Car", "bev", d)
		if e.NumGT != 1 || e.TP != 1 || e.FP != 1 {
			t.Errorf("bev %s: %+v, want 1 GT, 1 TP, 1 FP", d, e)
		}
	}
	e := mustGet(t, r, "Car", "2d", "hard")
	if e.NumGT != 2 || e.TP != 2 || e.FP != 0 || e.AP40 != 1 {
		t.Errorf("hard: %+v", e)
	}
	// a detection on the Truck is a FP: FP at 0.99, TP at 0.9: curve (0, 0),
	// (1, ½) → ½ everywhere.
	pred[0].Objects = append(pred[0].Objects, obj("Car", 50, 20, 0.99, 60))
	r, _ = KITTI(gt, pred, Options{Classes: []string{"Car"}, Curve: CurveExact})
	e = mustGet(t, r, "Car", "2d", "moderate")
	if e.TP != 1 || e.FP != 1 || !near(e.AP40, 0.5) || !near(e.AP11, 0.5) {
		t.Errorf("truck FP: %+v", e)
	}
	// no detection of the class: not evaluated (the devkit prints nothing);
	// detections but no GT: AP 0.
	r, _ = KITTI(gt, pred, Options{Classes: []string{"Pedestrian"}})
	if e := mustGet(t, r, "Pedestrian", "3d", "easy"); e.Evaluated || !math.IsNaN(e.AP40) || e.NumGT != 0 {
		t.Errorf("no pedestrians: %+v", e)
	}
	pred[0].Objects = append(pred[0].Objects, obj("Pedestrian", 90, 20, 0.5, 60))
	r, _ = KITTI(gt, pred, Options{Classes: []string{"Pedestrian"}})
	if e := mustGet(t, r, "Pedestrian", "3d", "easy"); !e.Evaluated || e.AP40 != 0 || e.AP11 != 0 || e.FP != 1 {
		t.Errorf("a pedestrian detection, no GT: %+v", e)
	}
	if _, err := KITTI(gt, []FrameBoxes{{ID: "zz"}}, Options{}); err == nil {
		t.Error("prediction frame without GT: no error")
	}
}

// Overlaps against hand-computed areas.
func TestOverlapHand(t *testing.T) {
	a := Rect{0, 0, 10, 10}
	if v := ImageOverlap(a, Rect{5, 0, 15, 10}, -1); !near(v, 50.0/150) {
		t.Errorf("image IoU %v", v)
	}
	if v := ImageOverlap(Rect{0, 0, 4, 5}, a, 0); !near(v, 1) {
		t.Errorf("image criterion 0 %v", v)
	}
	if v := ImageOverlap(a, Rect{10, 0, 20, 10}, -1); v != 0 {
		t.Errorf("touching boxes %v", v)
	}
	sq := CamBox{H: 2, W: 2, L: 2}
	rot := sq
	rot.RotY = math.Pi / 4 // a 2×2 square and its 45° turn: octagon 8√2−8
	oct := 8*math.Sqrt2 - 8
	if v := GroundOverlap(sq, rot, -1); math.Abs(v-oct/(8-oct)) > 1e-12 {
		t.Errorf("45° BEV IoU %v, want %v", v, oct/(8-oct))
	}
	up := rot
	up.Y = -1 // half the height range
	if v := Box3DOverlap(sq, up, -1); math.Abs(v-oct/(16-oct)) > 1e-12 {
		t.Errorf("3D IoU %v, want %v", v, oct/(16-oct))
	}
	if v := GroundOverlap(CamBox{L: 4, W: 2}, CamBox{L: 2, W: 2, X: 1}, 0); !near(v, 0.5) {
		t.Errorf("BEV criterion 0 %v", v)
	}
	dc := CamBox{-1, -1, -1, -1000, -1000, -1000, -10}
	if v := GroundOverlap(sq, dc, 0); v != 0 {
		t.Errorf("DontCare BEV overlap %v", v)
	}
}

func labelDir(t *testing.T) string {
	return filepath.Join(sampledata.Shared(t, "kitti-object/training"), "label_2")
}

// Ground truth against itself: AP 1 on the exact curve wherever there is
// counted ground truth. With the devkit's sampling, 3 counted cars found
// at one score fill precision positions 0–2 with 1: R11 1/11, R40 2/40.
func TestSelf(t *testing.T) {
	f, err := ReadDir(labelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	r, err := KITTI(f, f, Options{Curve: CurveExact})
	if err != nil {
		t.Fatal(err)
	}
	withGT := 0
	for _, e := range r.Entries {
		if !e.Evaluated || e.NumGT == 0 {
			continue
		}
		withGT++
		if e.AP11 != 1 || e.AP40 != 1 || e.FP != 0 {
			t.Errorf("%+v: want AP 1", e)
		}
	}
	if withGT == 0 {
		t.Error("no entry with ground truth")
	}
	r, _ = KITTI(f, f, Options{})
	if e := mustGet(t, r, "Car", "3d", "moderate"); e.NumGT != 3 || !near(e.AP11, 1.0/11) || !near(e.AP40, 2.0/40) {
		t.Errorf("devkit sampling, 3 cars found: %+v, want R11 1/11, R40 2/40", e)
	}
}

// rectIoU is the BEV IoU of two equal L×W rectangles of heading RotY (camera
// x–z plane; length axis (cos R, −sin R), width axis (sin R, cos R)) when one
// is shifted by (dx, dz).
func rectIoU(b CamBox, dx, dz float64) float64 {
	s, c := math.Sincos(b.RotY)
	dl := math.Abs(dx*c - dz*s)
	dw := math.Abs(dx*s + dz*c)
	if dl >= b.L || dw >= b.W {
		return 0
	}
	i := (b.L - dl) * (b.W - dw)
	return i / (2*b.L*b.W - i)
}

// Real labels of 000000–000004: every detection is its GT moved 0.5 m
// along camera z (≈ along the cars' length: BEV IoU ≈ 0.78, still a
// match); 000003's car also moves 0.5 m along x (BEV IoU ≈ 0.46 < 0.7: a FP
// and a miss); the 0.48 m wide pedestrian of 000000 no longer overlaps.
//
// Car, Moderate/Hard (exact curve): counted GT are 000002's car (33 px),
// 000003's (103 px) and 000004's first (30.5 px); 000001's (21.6 px) and
// 000004's second (20.7 px) are lower than 25 px, ignored with their
// detections. Scores: 000002 0.9 (TP), 000003 0.8 (FP), 000004 0.7 (TP).
// Curve (⅓,1), (⅓,½), (⅔,⅔): R40 (13 + 26/3)/40 = 13/24, R11 (4 + 2)/11 =
// 6/11. Car, Easy: only 000003's car counts, and its detection is a FP: AP
// 0. Pedestrian: its one GT missed: AP 0.
func TestPerturbedKITTI(t *testing.T) {
	gt, err := ReadDir(labelDir(t))
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]float64{"000002": 0.9, "000003": 0.8, "000004": 0.7}
	var pred []FrameBoxes
	for _, f := range gt {
		var ps []Object
		for _, l := range f.Objects {
			if l.Type == "DontCare" {
				continue
			}
			dx := 0.0
			if f.ID == "000003" {
				dx = 0.5
			}
			p := l
			p.Box.X += dx
			p.Box.Z += 0.5
			p.Score = 0.5
			if s, ok := scores[f.ID]; ok && l.Type == "Car" && l.BBox.Y2-l.BBox.Y1 > 25 {
				p.Score = s
			}
			want := rectIoU(l.Box, dx, 0.5)
			if got := GroundOverlap(p.Box, l.Box, -1); math.Abs(got-want) > 1e-9 {
				t.Errorf("%s %s: BEV IoU %.6f, by hand %.6f", f.ID, l.Type, got, want)
			}
			if l.Type == "Car" && (want > 0.7) != (f.ID != "000003") {
				t.Errorf("%s car: IoU %.3f on the wrong side of 0.7", f.ID, want)
			}
			ps = append(ps, p)
		}
		pred = append(pred, FrameBoxes{ID: f.ID, Objects: ps})
	}
	r, err := KITTI(gt, pred, Options{Curve: CurveExact})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"bev", "3d"} {
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
