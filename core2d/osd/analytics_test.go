package osd

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// testAnalytics is a frame's result with two zones and a line in pixels:
// a rectangle (20,20)–(80,70), a triangle (10,75) (60,75) (10,95) that is
// overcrowded, and a vertical line from (100,10) to (100,90).
func testAnalytics() *ds3d.Analytics {
	return &ds3d.Analytics{
		SourceID: 0, Space: ds3d.SpacePixels,
		Rules: []ds3d.AnalyticsRule{
			{ID: "r", Kind: ds3d.RuleZone, SourceID: -1, Points: [][2]float64{{20, 20}, {80, 20}, {80, 70}, {20, 70}}},
			{ID: "t", Kind: ds3d.RuleZone, SourceID: -1, Points: [][2]float64{{10, 75}, {60, 75}, {10, 95}}},
			{ID: "g", Kind: ds3d.RuleLine, SourceID: -1, Points: [][2]float64{{100, 10}, {100, 90}}},
			{ID: "other", Kind: ds3d.RuleLine, SourceID: 3, Points: [][2]float64{{120, 10}, {120, 90}}},
		},
		Counts: []ds3d.AnalyticsCount{
			{Rule: 0, ClassID: -1}, {Rule: 1, ClassID: -1, Inside: 9, Overcrowded: true},
			{Rule: 2, ClassID: -1, TotalPositive: 3, TotalNegative: 1},
		},
	}
}

// near reports whether a pixel within d of (x, y) has colour want.
func near(c Canvas, x, y, d int, want color.RGBA) bool {
	for yy := y - d; yy <= y+d; yy++ {
		for xx := x - d; xx <= x+d; xx++ {
			if xx >= 0 && yy >= 0 && xx < c.Width && yy < c.Height && c.At(xx, yy) == want {
				return true
			}
		}
	}
	return false
}

// TestAnalyticsRulePixels draws the rules of testAnalytics on a black
// canvas and checks pixels placed from the geometry alone: every point of
// each polygon edge and of the line falls on (or, for the slanted edge,
// within a pixel of) an outline pixel of its colour; the rectangle's inside
// is its colour blended at 25 % over black; the overcrowded triangle is
// red; the arrow goes from the line's midpoint (100, 50) towards its
// positive side, where cross(B − A, P − A) > 0, i.e. x < 100 for
// A = (100, 10), B = (100, 90), a quarter of the line long (20 px); the
// line of stream 3 is not drawn on stream 0's frame.
func TestAnalyticsRulePixels(t *testing.T) {
	_, c := newCanvas(t, 140, 100)
	ov := NewAnalyticsOverlay()
	a := testAnalytics()
	ov.DrawRules(c, a, ds3d.SpacePixels, Identity)
	edges := func(pts [][2]float64, col color.RGBA, slack int) {
		for k := range pts {
			p, q := pts[k], pts[(k+1)%len(pts)]
			for s := 0.05; s < 1; s += 0.1 {
				x, y := p[0]+s*(q[0]-p[0]), p[1]+s*(q[1]-p[1])
				if !near(c, int(math.Floor(x)), int(math.Floor(y)), slack, col) {
					t.Errorf("edge %v→%v at (%.1f, %.1f): no %v pixel within %d", p, q, x, y, col, slack)
				}
			}
		}
	}
	edges(a.Rules[0].Points, ZoneColor, 0)
	edges(a.Rules[1].Points, OvercrowdedColor, 1)
	edges(a.Rules[2].Points[:2], LineColor, 0)
	// Fill: a·src/255 over black with a = round(0.25·255) = 64.
	fill := color.RGBA{0, uint8(math.Round(200 * 64.0 / 255)), uint8(math.Round(255 * 64.0 / 255)), 255}
	if got := c.At(50, 45); got != fill {
		t.Errorf("zone inside (50,45) = %v, want %v", got, fill)
	}
	black := color.RGBA{0, 0, 0, 255}
	for _, p := range [][2]int{{50, 10}, {90, 45}, {15, 50}, {50, 98}, {120, 50}, {125, 50}} {
		if got := c.At(p[0], p[1]); got != black {
			t.Errorf("outside (%d,%d) = %v, want black", p[0], p[1], got)
		}
	}
	for x := 85; x < 98; x += 3 { // the arrow's shaft, x from 100 down to 80
		if c.At(x, 50) != LineColor {
			t.Errorf("arrow shaft at (%d,50) = %v, want %v", x, c.At(x, 50), LineColor)
		}
	}
	if c.At(110, 50) != black || c.At(105, 50) != black {
		t.Errorf("arrow drawn on the negative side (x > 100): %v %v", c.At(105, 50), c.At(110, 50))
	}
}

// TestAnalyticsBEVMapping draws a ground-space line through an affine map
// (a BEV of 0.1 m pixels: u = (10 − y)/0.1, v = (20 − x)/0.1) and checks
// its end pixels, computed by hand from the map.
func TestAnalyticsBEVMapping(t *testing.T) {
	_, c := newCanvas(t, 200, 200)
	ov := NewAnalyticsOverlay()
	a := &ds3d.Analytics{Space: ds3d.SpaceGround, Rules: []ds3d.AnalyticsRule{
		{ID: "l", Kind: ds3d.RuleLine, Space: ds3d.SpaceGround, SourceID: -1, Points: [][2]float64{{15, 5}, {15, -5}}},
	}}
	m := Affine{0, -10, 100, -10, 0, 200}
	ov.DrawRules(c, a, ds3d.SpaceGround, m)
	// (15, 5) → u = 50, v = 50; (15, −5) → u = 150, v = 50.
	for _, x := range []int{50, 100, 149} {
		if c.At(x, 50) != LineColor {
			t.Errorf("(%d,50) = %v, want the line", x, c.At(x, 50))
		}
	}
	// Positive side: cross((0,−10), P − A) > 0 ⇔ x > 15 (forward), up in a BEV.
	if c.At(100, 45) != LineColor || c.At(100, 56) == LineColor {
		t.Errorf("arrow: (100,45) = %v (want line), (100,56) = %v (want not)", c.At(100, 45), c.At(100, 56))
	}
	// A pixel-space pass draws nothing of a ground rule.
	_, c2 := newCanvas(t, 200, 200)
	ov.DrawRules(c2, a, ds3d.SpacePixels, Identity)
	for i, v := range c2.Pix {
		if v != 0 {
			t.Fatalf("ground rule drawn in a pixel pass: byte %d = %d", i, v)
		}
	}
}

// TestOSDAnalyticsProcess runs the osd filter on a datamap with objects
// and an analytics result: the zone is drawn under the boxes, the
// over-speed object's box is outlined in red and labelled below, the
// wrong-way one in magenta, and the HUD writes in the top-left corner.
func TestOSDAnalyticsProcess(t *testing.T) {
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 160, 120, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := noLabels()
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := testAnalytics()
	objs := []ds3d.Object2D{
		{Left: 30, Top: 30, Width: 20, Height: 20, TrackID: 1},
		{Left: 120, Top: 30, Width: 20, Height: 30, TrackID: 2},
		{Left: 60, Top: 80, Width: 10, Height: 10, TrackID: 3},
	}
	a.Objects = []ds3d.AnalyticsObject{
		{Index: 0, TrackID: 1, Speed: 12.5, OverSpeed: true},
		{Index: 1, TrackID: 2, Speed: float32(math.NaN()), WrongWay: true},
		{Index: 2, TrackID: 3, Speed: float32(math.NaN())},
	}
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyColorFrame, f)
	m.Set(ds3d.KeyObject2DBbox, objs)
	m.Set(ds3d.KeyAnalytics, a)
	if err := o.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c, _ := CanvasOf(f)
	if c.At(30, 40) != OverSpeedColor || c.At(49, 40) != OverSpeedColor {
		t.Errorf("over-speed box edge = %v %v, want red", c.At(30, 40), c.At(49, 40))
	}
	if c.At(120, 45) != WrongWayColor {
		t.Errorf("wrong-way box edge = %v, want magenta", c.At(120, 45))
	}
	if c.At(60, 85) == OverSpeedColor || c.At(60, 85) == WrongWayColor {
		t.Errorf("unflagged box drawn flagged: %v", c.At(60, 85))
	}
	// The speed label's box: red background from the box's bottom row + 1.
	if !near(c, 32, 53, 1, OverSpeedColor) {
		t.Errorf("no speed label under the over-speed box")
	}
	hud := 0
	for y := 4; y < 14; y++ {
		for x := 4; x < 60; x++ {
			if c.At(x, y) == ZoneColor {
				hud++
			}
		}
	}
	if hud < 20 {
		t.Errorf("HUD: %d zone-coloured text pixels in the corner, want some", hud)
	}
}

// TestAnalyticsOverlayAllocs checks that drawing rules, flags and the HUD
// allocates nothing once the buffers have grown.
func TestAnalyticsOverlayAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	_, c := newCanvas(t, 160, 120)
	ov := NewAnalyticsOverlay()
	a := testAnalytics()
	a.Objects = []ds3d.AnalyticsObject{{Pos: [2]float64{40, 40}, Speed: 3.5, OverSpeed: true}}
	run := func() {
		ov.DrawRules(c, a, ds3d.SpacePixels, Identity)
		ov.DrawObjects(c, a, ds3d.SpacePixels, Identity)
		ov.DrawHUD(c, a, 4, 4)
	}
	run()
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
}

// BenchmarkAnalyticsOverlay draws 8 hexagonal zones (filled) and 8 lines
// with 100 flagged objects and the HUD on a 1280×720 RGB frame.
func BenchmarkAnalyticsOverlay(b *testing.B) {
	_, c := newCanvas(b, 1280, 720)
	a := &ds3d.Analytics{Space: ds3d.SpacePixels}
	for i := 0; i < 8; i++ {
		cx, cy := 160+float64(i%4)*320, 180+float64(i/4)*360
		var hex [][2]float64
		for k := 0; k < 6; k++ {
			s, co := math.Sincos(float64(k) * math.Pi / 3)
			hex = append(hex, [2]float64{cx + 100*co, cy + 100*s})
		}
		a.Rules = append(a.Rules, ds3d.AnalyticsRule{ID: "zone", Kind: ds3d.RuleZone, SourceID: -1, Points: hex})
		a.Counts = append(a.Counts, ds3d.AnalyticsCount{Rule: int32(i), ClassID: -1, Inside: 3})
	}
	for i := 0; i < 8; i++ {
		x := 80 + float64(i)*150
		a.Rules = append(a.Rules, ds3d.AnalyticsRule{ID: "line", Kind: ds3d.RuleLine, SourceID: -1, Points: [][2]float64{{x, 50}, {x + 40, 670}}})
		a.Counts = append(a.Counts, ds3d.AnalyticsCount{Rule: int32(8 + i), ClassID: -1, TotalPositive: 12})
	}
	for i := 0; i < 100; i++ {
		a.Objects = append(a.Objects, ds3d.AnalyticsObject{Pos: [2]float64{float64(i*12 + 10), float64(i*7 + 10)},
			Speed: 4.5, Zones: 1, OverSpeed: i%10 == 0})
	}
	for _, alpha := range []uint8{64, 0} {
		b.Run(fmt.Sprintf("zone_alpha=%d", alpha), func(b *testing.B) {
			ov := NewAnalyticsOverlay()
			ov.ZoneAlpha = alpha
			b.ReportAllocs()
			for b.Loop() {
				ov.DrawRules(c, a, ds3d.SpacePixels, Identity)
				ov.DrawObjects(c, a, ds3d.SpacePixels, Identity)
				ov.DrawHUD(c, a, 4, 4)
			}
		})
	}
}
