package raster_test

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/layout"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

// groundAnalytics is an analytics_3d result in the sensor's ground frame:
// a zone (5,−5) (15,−5) (15,5) (5,5), a line from (10,2) to (10,−2), and
// an over-speed object at (20, 3).
func groundAnalytics() *ds3d.Analytics {
	return &ds3d.Analytics{
		Space: ds3d.SpaceGround,
		Rules: []ds3d.AnalyticsRule{
			{ID: "z", Kind: ds3d.RuleZone, Space: ds3d.SpaceGround, SourceID: -1, Points: [][2]float64{{5, -5}, {15, -5}, {15, 5}, {5, 5}}},
			{ID: "l", Kind: ds3d.RuleLine, Space: ds3d.SpaceGround, SourceID: -1, Points: [][2]float64{{10, 2}, {10, -2}}},
		},
		Counts:  []ds3d.AnalyticsCount{{Rule: 0, ClassID: -1, Inside: 1}, {Rule: 1, ClassID: -1}},
		Objects: []ds3d.AnalyticsObject{{Index: 0, Pos: [2]float64{20, 3}, Speed: 17, OverSpeed: true}},
	}
}

// TestAnalyticsBEVPixels renders a BEV of x ∈ [0, 40], y ∈ [−20, 20] at
// 0.1 m per pixel with the rules of groundAnalytics and checks the pixels
// the package doc's formula gives (u = (20 − y)/0.1, v = (40 − x)/0.1): the
// zone's edges at u = 150 and 250 (y = ±5) and v = 250 and 350 (x = 15
// and 5), the line at v = 300 from u = 180 to 220, its arrow towards the
// positive side (cross((0,−4), P − A) > 0 ⇔ x > 10: up in the picture),
// the zone filled at 25 % over the black background, and the over-speed
// object's red square at u = 170, v = 200.
func TestAnalyticsBEVPixels(t *testing.T) {
	o := raster.DefaultBEVOptions()
	o.XRange, o.YRange, o.GridStep, o.Ego = [2]float64{0, 40}, [2]float64{-20, 20}, 0, false
	w, h := o.Size()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	raster.DrawBEV(img, nil, nil, &o)
	ov := osd.NewAnalyticsOverlay()
	raster.DrawAnalyticsBEV(img, groundAnalytics(), &o, ov, false)
	at := func(u, v int) color.RGBA { return img.RGBAAt(u, v) }
	for _, p := range [][2]int{{150, 300}, {250, 270}, {200, 250}, {170, 350}, {250, 350}} {
		if at(p[0], p[1]) != osd.ZoneColor {
			t.Errorf("zone edge (%d,%d) = %v, want %v", p[0], p[1], at(p[0], p[1]), osd.ZoneColor)
		}
	}
	for u := 180; u <= 220; u += 8 {
		if at(u, 300) != osd.LineColor {
			t.Errorf("line (%d,300) = %v, want %v", u, at(u, 300), osd.LineColor)
		}
	}
	if at(200, 295) != osd.LineColor || at(200, 306) == osd.LineColor {
		t.Errorf("arrow: (200,295) = %v want the line colour; (200,306) = %v want not", at(200, 295), at(200, 306))
	}
	fill := color.RGBA{0, uint8(math.Round(200 * 64.0 / 255)), uint8(math.Round(255 * 64.0 / 255)), 255}
	if at(230, 330) != fill {
		t.Errorf("zone inside (230,330) = %v, want %v", at(230, 330), fill)
	}
	if at(170, 200) != osd.OverSpeedColor {
		t.Errorf("over-speed mark (170,200) = %v, want %v", at(170, 200), osd.OverSpeedColor)
	}
	if at(100, 100) != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("outside (100,100) = %v, want black", at(100, 100))
	}
}

// TestAnalyticsCameraPixels projects groundAnalytics's line, on the
// ground z = −1.5 m, through a camera looking along +x (camera x = −y,
// y = −z, z = x; fx = fy = 100, cx = 80, cy = 60): (10, ±2, −1.5) is the
// camera point (∓2, 1.5, 10), so the line runs from u = 60 to 100 on row
// v = 75 (pixel centres at integers, pixel ⌊u + ½⌋); the zone's near edge
// x = 5 is v = 90, u from −20 to 180 (clipped to the image).
func TestAnalyticsCameraPixels(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	cam := raster.Camera{
		Intrinsics: ds3d.Intrinsics{Fx: 100, Fy: 100, Cx: 80, Cy: 60, Width: 160, Height: 120},
		LidarToCam: ds3d.Mat4{0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0, 0, 1},
	}
	ov := osd.NewAnalyticsOverlay()
	raster.DrawAnalyticsCamera(img, groundAnalytics(), cam, 0.1, -1.5, ov, false)
	for _, u := range []int{61, 70, 80, 90, 99} {
		if img.RGBAAt(u, 75) != osd.LineColor {
			t.Errorf("line (%d,75) = %v, want %v", u, img.RGBAAt(u, 75), osd.LineColor)
		}
	}
	for _, u := range []int{5, 40, 120, 155} {
		if img.RGBAAt(u, 90) != osd.ZoneColor {
			t.Errorf("zone edge (%d,90) = %v, want %v", u, img.RGBAAt(u, 90), osd.ZoneColor)
		}
	}
	if img.RGBAAt(80, 40) != (color.RGBA{}) {
		t.Errorf("(80,40) = %v, want untouched", img.RGBAAt(80, 40))
	}
}

// TestAnalyticsEnsembleTile draws groundAnalytics through raster_render's
// ensemble: one bev tile on the right half of an 800×400 picture, x 0–40 m,
// y ±20 m (0.1 m a pixel), so the line (10, ±2) lies on row
// (40 − 10)/0.1 = 300, columns 400 + (20 ∓ 2)/0.1 = 580 … 620.
func TestAnalyticsEnsembleTile(t *testing.T) {
	c := raster.NewRenderConfig()
	c.OutputDir = ds3d.Path(t.TempDir())
	c.WindowWidth, c.WindowHeight = 800, 400
	c.XRange, c.YRange, c.GridStep, c.EgoMarker = [2]float64{0, 40}, [2]float64{-20, 20}, 0, false
	c.RenderGraph = []layout.Tile{{Type: layout.Lidar3D, Layout: [4]float64{0.5, 0, 1, 1}, View: "bev"}}
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	m := ds3d.NewDataMap()
	defer m.Release()
	f := ds3d.NewLidarFrame(1)
	copy(ds3d.AsFloat32(f), []float32{1000, 1000, 0, 0})
	m.SetFrame(ds3d.KeyLidarXYZI, f)
	m.Set(ds3d.KeyAnalytics, groundAnalytics())
	img := drawAll(t, c, nil, m)[0]
	for _, u := range []int{582, 600, 618} {
		if img.RGBAAt(u, 300) != osd.LineColor {
			t.Errorf("line (%d,300) = %v, want %v", u, img.RGBAAt(u, 300), osd.LineColor)
		}
	}
	if img.RGBAAt(200, 300) == osd.LineColor {
		t.Errorf("line drawn outside the tile")
	}
}
