package gl_test

import (
	"image/color"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/ds3d"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// TestAnalyticsBEV draws an analytics_3d result in a BEV (x ∈ [−10, 40],
// y ∈ [−30, 30] on 600×500: 0.1 m a pixel, u = (30 − y)/0.1,
// v = (40 − x)/0.1, as TestBEVConvention) and checks, from those formulas
// alone: the line (20, 10)→(20, −10) on row 200 from column 200 to 400;
// its arrow from the midpoint towards the positive side (cross(B − A,
// P − A) > 0 ⇔ x > 20: up), 5 m long, so on column 300 rows 150–200 and
// not below; the zone (0, −20) (10, −20) (10, −12) (0, −12) outline in red
// (overcrowded) on rows 300 and 400 and columns 420 and 500; the counts
// written in the top-left corner.
func TestAnalyticsBEV(t *testing.T) {
	needDisplay(t)
	c := gl.NewConfig()
	c.View = gl.ViewBEV
	c.WindowWidth, c.WindowHeight = 600, 500
	c.XRange, c.YRange = [2]float64{-10, 40}, [2]float64{-30, 30}
	c.GridStep, c.AxisLength, c.LineWidth = 0, 0, 1
	c.ColorClear = [3]uint8{5, 5, 5}
	a := &ds3d.Analytics{
		Space: ds3d.SpaceGround,
		Rules: []ds3d.AnalyticsRule{
			{ID: "queue", Kind: ds3d.RuleZone, Space: ds3d.SpaceGround, SourceID: -1, Points: [][2]float64{{0, -20}, {10, -20}, {10, -12}, {0, -12}}},
			{ID: "gate", Kind: ds3d.RuleLine, Space: ds3d.SpaceGround, SourceID: -1, Points: [][2]float64{{20, 10}, {20, -10}}},
		},
		Counts: []ds3d.AnalyticsCount{{Rule: 0, ClassID: -1, Inside: 5, Overcrowded: true}, {Rule: 1, ClassID: -1, TotalPositive: 2}},
	}
	m := dataMap([]float32{100, 100, 0, 0}, nil)
	m.Set(ds3d.KeyAnalytics, a)
	img := render(t, c, m)[0]
	m.Release()
	for u := 210; u <= 390; u += 20 {
		if !near(img, u, 200, 1, osd.LineColor) {
			t.Errorf("line: no line colour near (%d, 200)", u)
		}
	}
	for v := 155; v < 200; v += 10 {
		if !near(img, 300, v, 1, osd.LineColor) {
			t.Errorf("arrow: no line colour near (300, %d)", v)
		}
	}
	for v := 205; v < 260; v += 10 {
		if near(img, 300, v, 1, osd.LineColor) {
			t.Errorf("arrow drawn on the negative side at (300, %d)", v)
		}
	}
	for _, p := range [][2]int{{460, 300}, {460, 400}, {420, 350}, {500, 350}} {
		if !near(img, p[0], p[1], 1, osd.OvercrowdedColor) {
			t.Errorf("zone: no overcrowded colour near %v", p)
		}
	}
	if img.RGBAAt(460, 350) != (color.RGBA{5, 5, 5, 255}) {
		t.Errorf("zone inside (460, 350) = %v, want the background (no fill in GL)", img.RGBAAt(460, 350))
	}
	hud := 0
	for y := 0; y < 30; y++ {
		for x := 0; x < 200; x++ {
			if img.RGBAAt(x, y) == osd.OvercrowdedColor || img.RGBAAt(x, y) == osd.LineColor {
				hud++
			}
		}
	}
	if hud < 30 {
		t.Errorf("HUD: %d count-coloured pixels top left, want the two rows", hud)
	}
}

// TestAnalyticsPerspective draws a ground line in the default perspective
// view and checks points along it, each projected by the test's own
// gluLookAt/gluPerspective (clipPoint) at 5 cm above grid_z, where the
// overlay lies: every one has the line colour within 2 pixels.
func TestAnalyticsPerspective(t *testing.T) {
	needDisplay(t)
	c := gl.NewConfig()
	c.WindowWidth, c.WindowHeight = 640, 360
	c.GridStep, c.AxisLength = 0, 0
	a := &ds3d.Analytics{
		Space: ds3d.SpaceGround,
		Rules: []ds3d.AnalyticsRule{{ID: "gate", Kind: ds3d.RuleLine, Space: ds3d.SpaceGround, SourceID: -1, Points: [][2]float64{{15, 6}, {15, -6}}}},
	}
	m := dataMap([]float32{100, 100, 0, 0}, nil)
	m.Set(ds3d.KeyAnalytics, a)
	img := render(t, c, m)[0]
	m.Release()
	for s := 0.05; s < 1; s += 0.15 {
		p := [3]float64{15, 6 - 12*s, c.GridZ + 0.05}
		xw, yw, ok := clipPoint(c, p)
		if !ok {
			t.Fatalf("%v is behind the camera", p)
		}
		u, v := pixelOf(c, xw, yw)
		if !near(img, u, v, 2, osd.LineColor) {
			t.Errorf("line point %v → pixel (%d, %d): no line colour within 2 px", p, u, v)
		}
	}
}
