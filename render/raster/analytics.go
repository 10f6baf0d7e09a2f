package raster

import (
	"image"
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// canvasOf views an RGBA image as an osd canvas (the image's own
// rectangle, so a sub-image draws at its place).
func canvasOf(img *image.RGBA) osd.Canvas {
	r := img.Rect
	return osd.Canvas{Pix: img.Pix[img.PixOffset(r.Min.X, r.Min.Y):], Width: r.Dx(), Height: r.Dy(), Pitch: img.Stride, BPP: 4}
}

// BEVAffine is the map of BEV metres (x forward, y left) to the canvas
// pixels of a picture drawn with o (the package doc's u, v), for
// osd.AnalyticsOverlay.
func BEVAffine(o *BEVOptions) (osd.Affine, bool) {
	l := o.layout()
	if l.w == 0 {
		return osd.Affine{}, false
	}
	return osd.Affine{0, -1 / l.ru, l.yMax / l.ru, -1 / l.rv, 0, l.xMax / l.rv}, true
}

// DrawAnalyticsBEV draws a's ground (or world) zones and lines, its
// objects' flags and speeds at their anchors, and, with hud, its counts
// over a BEV drawn with o. The rules are drawn in the BEV's metres as
// they are: the points must be in the frame of the rules (the sensor frame
// for analytics_3d's frame = "sensor", the world frame for "world").
func DrawAnalyticsBEV(img *image.RGBA, a *ds3d.Analytics, o *BEVOptions, ov *osd.AnalyticsOverlay, hud bool) {
	m, ok := BEVAffine(o)
	if !ok || a.Space == ds3d.SpacePixels || img.Rect.Empty() {
		return
	}
	c := canvasOf(img)
	ov.DrawRules(c, a, a.Space, m)
	ov.DrawObjects(c, a, a.Space, m)
	if hud {
		ov.DrawHUD(c, a, 4, 4)
	}
}

// DrawAnalyticsCamera draws a's ground zones and lines into a camera
// picture: their points are taken on the plane z = groundZ of the lidar
// frame and projected through cam as DrawCamera projects points, edges
// clipped at the near plane. Objects' anchors are projected the same way
// and marked as in the BEV; with hud the counts are written top left.
// Rules in pixels or the world frame are not drawn.
func DrawAnalyticsCamera(img *image.RGBA, a *ds3d.Analytics, cam Camera, near, groundZ float64, ov *osd.AnalyticsOverlay, hud bool) {
	if img.Rect.Empty() {
		return
	}
	c := canvasOf(img)
	if a.Space == ds3d.SpaceGround {
		p := newProjector(&cam, near)
		p.ox, p.oy = float64(img.Rect.Min.X), float64(img.Rect.Min.Y)
		th := max(ov.Width, 1)
		for i := range a.Rules {
			r := &a.Rules[i]
			if r.Space != ds3d.SpaceGround || (r.SourceID >= 0 && r.SourceID != a.SourceID) || len(r.Points) < 2 {
				continue
			}
			col, n := osd.ZoneColor, len(r.Points)
			if r.Kind == ds3d.RuleLine {
				col, n, th = osd.LineColor, 1, th+1
			} else if r.Kind != ds3d.RuleZone {
				continue
			}
			for k := 0; k < n; k++ {
				q0, q1 := r.Points[k], r.Points[(k+1)%len(r.Points)]
				ax, ay, aw := p.toCam(q0[0], q0[1], groundZ)
				bx, by, bw := p.toCam(q1[0], q1[1], groundZ)
				p.edge(img, [3]float64{ax, ay, aw}, [3]float64{bx, by, bw}, th, col)
			}
		}
		for i := range a.Objects {
			ob := &a.Objects[i]
			if !ob.OverSpeed && !ob.WrongWay {
				continue
			}
			x, y, w := p.toCam(ob.Pos[0], ob.Pos[1], groundZ)
			if !(w >= p.near) {
				continue
			}
			u, v := x/w+0.5+p.ox, y/w+0.5+p.oy
			if !draw.Finite(u, v) || math.Abs(u) > 1<<20 || math.Abs(v) > 1<<20 {
				continue
			}
			col := osd.OverSpeedColor
			if ob.WrongWay {
				col = osd.WrongWayColor
			}
			draw.Square(img, int(math.Floor(u)), int(math.Floor(v)), 7, col)
		}
	}
	if hud {
		ov.DrawHUD(c, a, 4, 4)
	}
}

// overlayOf returns the overlay of the config's style.
func (c *RenderConfig) overlay() *osd.AnalyticsOverlay {
	ov := osd.NewAnalyticsOverlay()
	ov.Width = max(c.BoxThickness, 1)
	ov.ZoneAlpha = uint8(c.ZoneAlpha*255 + 0.5)
	ov.FontScale = max(c.LabelScale, 1)
	return ov
}
