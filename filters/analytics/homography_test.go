package analytics

import (
	"encoding/json"
	"math"
	"os/exec"
	"strconv"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestHomographyOpenCV checks the DLT against OpenCV's findHomography
// (method 0, least squares) on four and on eight point pairs: pixels of
// ground points seen by the camera of testCamera, rounded to whole pixels
// as a user picks them. Both map held-out pixels to the same ground
// points: exactly with four pairs, within centimetres with eight (both are
// least squares, of slightly different algebraic errors).
func TestHomographyOpenCV(t *testing.T) {
	py := testenv.Python(t, "numpy", "cv2")
	k, m := testCamera()
	ground := []Pt{{-4, 6}, {4.2, 6.1}, {3.5, 18}, {-3.8, 17.5}, {0.1, 10}, {-1.5, 8}, {1.9, 13}, {4.6, 17.2}}
	var img []Pt
	for _, g := range ground {
		u := project(k, m, g)
		img = append(img, Pt{math.Round(u[0]), math.Round(u[1])})
	}
	probe := []Pt{{320, 400}, {700, 300}, {150, 500}, {1000, 420}}
	sets := map[string]any{}
	for _, n := range []int{4, 8} {
		sets[strconv.Itoa(n)] = map[string]any{"img": img[:n], "ground": ground[:n]}
	}
	in, _ := json.Marshal(map[string]any{"sets": sets, "probe": probe})
	script := `
import json, sys
import numpy as np, cv2
d = json.loads(sys.argv[1])
out = {}
for n, s in d["sets"].items():
    H, _ = cv2.findHomography(np.array(s["img"], np.float64), np.array(s["ground"], np.float64), 0)
    out[n] = cv2.perspectiveTransform(np.array([d["probe"]], np.float64), H)[0].tolist()
print(json.dumps(out))`
	out := testenv.Output(t, exec.Command(py, "-c", script, string(in)))
	var want map[string][][2]float64
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, n := range []int{4, 8} {
		h, err := HomographyFromPoints(img[:n], ground[:n])
		if err != nil {
			t.Fatal(err)
		}
		tol := 1e-6
		if n > 4 {
			tol = 0.05
		}
		for i, p := range probe {
			g, ok := h.Apply(p)
			w := want[strconv.Itoa(n)][i]
			if !ok || math.Hypot(g[0]-w[0], g[1]-w[1]) > tol*(1+math.Hypot(w[0], w[1])) {
				t.Errorf("%d pairs, pixel %v: ground %v, OpenCV %v", n, p, g, w)
			}
		}
	}
}

// testCamera is a 1280×720 camera 6 m above the ground (x right, y
// forward, z up) looking forward and down 20°: its intrinsics and its
// ground→camera transform (camera x right, y down, z forward).
func testCamera() (ds3d.Intrinsics, ds3d.Mat4) {
	k := ds3d.Intrinsics{Fx: 800, Fy: 800, Cx: 640, Cy: 360}
	p := 20 * math.Pi / 180
	// Rows are the camera axes in ground coordinates.
	r := [3][3]float64{{1, 0, 0}, {0, -math.Sin(p), -math.Cos(p)}, {0, math.Cos(p), -math.Sin(p)}}
	c := [3]float64{0, 0, 6}
	var m ds3d.Mat4
	for i := range 3 {
		for j := range 3 {
			m[4*i+j] = r[i][j]
		}
		m[4*i+3] = -(r[i][0]*c[0] + r[i][1]*c[1] + r[i][2]*c[2])
	}
	m[15] = 1
	return k, m
}

// project is the pinhole projection of ground point g.
func project(k ds3d.Intrinsics, m ds3d.Mat4, g Pt) Pt {
	var pc [3]float64
	for i := range 3 {
		pc[i] = m[4*i]*g[0] + m[4*i+1]*g[1] + m[4*i+3]
	}
	return Pt{k.Fx*pc[0]/pc[2] + k.Cx, k.Fy*pc[1]/pc[2] + k.Cy}
}

// TestHomographyCalibration checks that image→ground undoes the pinhole projection of
// ground points, and that a point above the horizon is refused.
func TestHomographyCalibration(t *testing.T) {
	k, m := testCamera()
	h, err := HomographyFromCalibration(k, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []Pt{{0, 10}, {3, 20}, {-5, 8}, {10, 40}} {
		u := project(k, m, g)
		got, ok := h.Apply(u)
		if !ok || math.Hypot(got[0]-g[0], got[1]-g[1]) > 1e-9*(1+g[1]) {
			t.Errorf("ground %v → pixel %v → %v, %v", g, u, got, ok)
		}
	}
	if _, ok := h.Apply(Pt{640, 0}); ok {
		t.Error("a pixel above the horizon mapped to the ground")
	}
}

// TestHomographyDegenerate checks that collinear points are refused.
func TestHomographyDegenerate(t *testing.T) {
	_, err := HomographyFromPoints([]Pt{{0, 0}, {1, 1}, {2, 2}, {3, 3}}, []Pt{{0, 0}, {1, 0}, {1, 1}, {0, 1}})
	if err == nil {
		t.Error("collinear image points accepted")
	}
}

// TestMetricAnalytics2D runs the 2D filter with a homography from the
// calibration of testCamera: a person walking at 1.5 m/s across the ground
// (the box's bottom centre projected with the pinhole model) gets a speed
// of 1.5 m/s and crosses a ground line once, at the right time.
func TestMetricAnalytics2D(t *testing.T) {
	k, m := testCamera()
	ext := append([]float64(nil), m[:12]...)
	c := defaultRules(COCOLabels)
	c.SpeedTau = 0
	c.Lines = []LineConfig{{ID: "x0", SourceID: -1, Points: [][2]float64{{0, 5}, {0, 30}}}} // positive side: x < 0
	f, err := NewFilter(&Config{ObjectsKey: "o", ResultKey: "r", EventsKey: "e", RulesConfig: c,
		Homography: HomographyConfig{Intrinsic: []float64{k.Fx, 0, k.Cx, 0, k.Fy, k.Cy, 0, 0, 1}, Extrinsic: ext}})
	if err != nil {
		t.Fatal(err)
	}
	var crossings []int
	for i := range 20 {
		g := Pt{-1.45 + 0.15*float64(i), 12} // 1.5 m/s along +x at 10 Hz: over x = 0 between frames 9 and 10
		u := project(k, m, g)
		r := f.Analyse(0, int64(i+1)*100_000_000, int64(i), []ds3d.Object2D{{Left: float32(u[0] - 15), Top: float32(u[1] - 80),
			Width: 30, Height: 80, TrackID: 1, ClassID: 0}})
		// The box is float32: its bottom centre is within ~1e-4 px of u,
		// a millimetre or less on the ground at 12 m.
		if o := r.Objects[0]; r.Space != ds3d.SpaceGround || math.Hypot(o.Pos[0]-g[0], o.Pos[1]-g[1]) > 2e-3 {
			t.Fatalf("frame %d: anchor %v in %s, want %v on the ground", i, o.Pos, r.Space, g)
		}
		if sp := r.Objects[0].Speed; i >= 1 && math.Abs(float64(sp)-1.5) > 0.03 {
			t.Errorf("frame %d: speed %g m/s, want 1.5", i, sp)
		}
		for _, e := range r.Events {
			if e.Type == ds3d.EventLineCrossing {
				crossings = append(crossings, i*int(e.Direction))
			}
		}
	}
	if len(crossings) != 1 || crossings[0] != -10 {
		t.Errorf("crossings (frame × direction) %v, want [-10]: over x = 0 at frame 10, ending on the negative side", crossings)
	}
}
