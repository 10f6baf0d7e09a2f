package osd

import (
	"image/color"
	"math"
	"slices"
	"strconv"
	"unsafe"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Affine maps a point (x, y) of an analytics rule's plane to canvas pixels
// (continuous coordinates, pixel (⌊u⌋, ⌊v⌋)): u = A[0]·x + A[1]·y + A[2],
// v = A[3]·x + A[4]·y + A[5]. Identity draws pixel-space rules on the image
// they were given for; a bird's-eye view maps ground metres onto its
// picture.
type Affine [6]float64

// Identity is the affine map of a rule given in the canvas's own pixels.
var Identity = Affine{1, 0, 0, 0, 1, 0}

// Apply maps (x, y).
func (a *Affine) Apply(x, y float64) (u, v float64) {
	return a[0]*x + a[1]*y + a[2], a[3]*x + a[4]*y + a[5]
}

// Colours of the analytics overlay: zones, an overcrowded zone, lines, and
// the flags of an object.
var (
	ZoneColor        = color.RGBA{0, 200, 255, 255}
	OvercrowdedColor = color.RGBA{255, 40, 40, 255}
	LineColor        = color.RGBA{255, 220, 0, 255}
	OverSpeedColor   = color.RGBA{255, 40, 40, 255}
	WrongWayColor    = color.RGBA{255, 0, 255, 255}
)

// AnalyticsOverlay draws what filters/analytics concluded (ds3d.Analytics)
// onto a canvas: zone outlines with a translucent fill, lines with an
// arrow pointing to their positive side, each object's speed and its
// over-speed or wrong-way flag at its anchor, and a HUD of the counts.
// Its buffers are reused, so drawing allocates nothing once they have
// grown; it is not safe for concurrent use.
type AnalyticsOverlay struct {
	Width     int   // outline and line width in pixels (≥ 1)
	ZoneAlpha uint8 // opacity of the zone fill, 0 (none) .. 255
	FontScale int   // 5×7 font scale of labels and the HUD
	Speeds    bool  // label each object with its speed

	text TextDrawer
	buf  []byte
	xs   []float64
	pu   []float64 // a zone's vertices in canvas pixels, u then v
	pv   []float64
}

// NewAnalyticsOverlay returns an overlay with 2-pixel outlines, a fill of
// 25 % opacity, font scale 1 and speed labels.
func NewAnalyticsOverlay() *AnalyticsOverlay {
	return &AnalyticsOverlay{Width: 2, ZoneAlpha: 64, FontScale: 1, Speeds: true}
}

// ruleApplies reports whether rule r of a is drawn: it must be in space
// and for a's stream.
func ruleApplies(a *ds3d.Analytics, r *ds3d.AnalyticsRule, space ds3d.AnalyticsSpace) bool {
	return r.Space == space && (r.SourceID < 0 || r.SourceID == a.SourceID) && len(r.Points) >= 2
}

// overcrowded reports whether zone i is overcrowded now (its all-class row).
func overcrowded(a *ds3d.Analytics, i int) bool {
	for k := range a.Counts {
		if c := &a.Counts[k]; int(c.Rule) == i && c.ClassID < 0 {
			return c.Overcrowded
		}
	}
	return false
}

// DrawRules draws a's zones and lines given in space, mapped by m: zones
// filled (not inverse ones, whose region is the polygon's outside) and
// outlined, lines with an arrow from their midpoint to the positive side,
// each with its id beside it. Rules of another space or stream are left
// out.
func (o *AnalyticsOverlay) DrawRules(c Canvas, a *ds3d.Analytics, space ds3d.AnalyticsSpace, m Affine) {
	w := max(o.Width, 1)
	for i := range a.Rules {
		r := &a.Rules[i]
		if !ruleApplies(a, r, space) {
			continue
		}
		switch r.Kind {
		case ds3d.RuleZone:
			col := ZoneColor
			if overcrowded(a, i) {
				col = OvercrowdedColor
			}
			o.pu, o.pv = o.pu[:0], o.pv[:0]
			for _, p := range r.Points {
				u, v := m.Apply(p[0], p[1])
				o.pu, o.pv = append(o.pu, u), append(o.pv, v)
			}
			if o.ZoneAlpha > 0 && !r.Inverse {
				fill := col
				fill.A = o.ZoneAlpha
				o.fillPolygon(c, fill)
			}
			n := len(o.pu)
			for k := 0; k < n; k++ {
				c.segment(o.pu[k], o.pv[k], o.pu[(k+1)%n], o.pv[(k+1)%n], w, col)
			}
			o.text.Label(c, int(math.Floor(o.pu[0]))+2, int(math.Floor(o.pv[0]))+2, r.ID, o.FontScale, col, color.RGBA{})
		case ds3d.RuleLine:
			ax, ay := m.Apply(r.Points[0][0], r.Points[0][1])
			bx, by := m.Apply(r.Points[1][0], r.Points[1][1])
			c.segment(ax, ay, bx, by, w+1, LineColor)
			o.arrow(c, r, m, w)
			o.text.Label(c, int(math.Floor(bx))+3, int(math.Floor(by))+3, r.ID, o.FontScale, LineColor, color.RGBA{})
		}
	}
}

// arrow draws, from the line's midpoint, an arrow towards its positive side
// (the side where cross(B − A, P − A) > 0 in the rule's plane): where a
// positive crossing ends. Its length is a quarter of the line's on the
// canvas, between 8 and 40 pixels.
func (o *AnalyticsOverlay) arrow(c Canvas, r *ds3d.AnalyticsRule, m Affine, w int) {
	a, b := r.Points[0], r.Points[1]
	mx, my := (a[0]+b[0])/2, (a[1]+b[1])/2
	// The left normal of A→B in the rule's plane, mapped as a direction.
	nx, ny := -(b[1] - a[1]), b[0]-a[0]
	u0, v0 := m.Apply(mx, my)
	u1, v1 := m.Apply(mx+nx, my+ny)
	du, dv := u1-u0, v1-v0
	n := math.Hypot(du, dv)
	au, av := m.Apply(a[0], a[1])
	bu, bv := m.Apply(b[0], b[1])
	l := min(max(math.Hypot(bu-au, bv-av)/4, 8), 40)
	if !(n > 0) || !draw2Finite(u0, v0) {
		return
	}
	du, dv = du/n*l, dv/n*l
	tu, tv := u0+du, v0+dv
	c.segment(u0, v0, tu, tv, w, LineColor)
	// Head: two strokes back from the tip at ±30°.
	const s, k = 0.5, 0.866
	for _, sg := range [2]float64{1, -1} {
		hu := -(du*k - sg*dv*s) * 0.4
		hv := -(dv*k + sg*du*s) * 0.4
		c.segment(tu, tv, tu+hu, tv+hv, w, LineColor)
	}
}

func draw2Finite(a, b float64) bool {
	return !math.IsNaN(a) && !math.IsInf(a, 0) && !math.IsNaN(b) && !math.IsInf(b, 0)
}

// fillPolygon blends col over the pixels whose centres are inside the
// polygon (o.pu, o.pv), even-odd, row by row.
func (o *AnalyticsOverlay) fillPolygon(c Canvas, col color.RGBA) {
	n := len(o.pu)
	lo, hi := math.Inf(1), math.Inf(-1)
	for k := 0; k < n; k++ {
		if !draw2Finite(o.pu[k], o.pv[k]) {
			return
		}
		lo, hi = min(lo, o.pv[k]), max(hi, o.pv[k])
	}
	y0, y1 := max(int(math.Floor(lo)), 0), min(int(math.Ceil(hi)), c.Height)
	for y := y0; y < y1; y++ {
		yc := float64(y) + 0.5
		o.xs = o.xs[:0]
		for k := 0; k < n; k++ {
			ua, va, ub, vb := o.pu[k], o.pv[k], o.pu[(k+1)%n], o.pv[(k+1)%n]
			// Half-open in v, so a vertex on the row counts once.
			if (va <= yc) != (vb <= yc) {
				o.xs = append(o.xs, ua+(yc-va)*(ub-ua)/(vb-va))
			}
		}
		slices.Sort(o.xs)
		for k := 0; k+1 < len(o.xs); k += 2 {
			// Pixels whose centre x + ½ lies in [xa, xb).
			xa := int(math.Ceil(o.xs[k] - 0.5))
			xb := int(math.Ceil(o.xs[k+1] - 0.5))
			c.FillRect(xa, y, xb, y+1, col)
		}
	}
}

// segment draws a line between continuous points, clipped to the canvas
// (with the pen's margin) first, so far or infinite end points cost
// nothing; a NaN end point draws nothing.
func (c Canvas) segment(x0, y0, x1, y1 float64, w int, col color.RGBA) {
	m := float64(w + 1)
	ax, ay, bx, by, ok := clip(x0, y0, x1, y1, -m, -m, float64(c.Width)+m, float64(c.Height)+m)
	if !ok {
		return
	}
	c.Line(int(math.Floor(ax)), int(math.Floor(ay)), int(math.Floor(bx)), int(math.Floor(by)), w, col)
}

// clip is Liang–Barsky clipping of a segment to a rectangle.
func clip(x0, y0, x1, y1, xmin, ymin, xmax, ymax float64) (ax, ay, bx, by float64, ok bool) {
	if math.IsNaN(x0) || math.IsNaN(y0) || math.IsNaN(x1) || math.IsNaN(y1) {
		return 0, 0, 0, 0, false
	}
	t0, t1 := 0.0, 1.0
	dx, dy := x1-x0, y1-y0
	for _, pq := range [4][2]float64{{-dx, x0 - xmin}, {dx, xmax - x0}, {-dy, y0 - ymin}, {dy, ymax - y0}} {
		p, q := pq[0], pq[1]
		if p == 0 {
			if q < 0 {
				return 0, 0, 0, 0, false
			}
			continue
		}
		t := q / p
		if p < 0 {
			t0 = max(t0, t)
		} else {
			t1 = min(t1, t)
		}
		if t0 > t1 {
			return 0, 0, 0, 0, false
		}
	}
	if math.IsInf(dx, 0) || math.IsInf(dy, 0) || math.IsNaN(t0*dx) || math.IsNaN(t1*dy) {
		return 0, 0, 0, 0, false
	}
	return x0 + t0*dx, y0 + t0*dy, x0 + t1*dx, y0 + t1*dy, true
}

// DrawObjects marks a's objects at their anchors (in space, mapped by m):
// an over-speed object with a red square and "FAST", a wrong-way one with
// a magenta square and "WRONG WAY", and, with Speeds, every flagged object
// or object in a zone whose speed is known with it ("4.2 M/S", or "PX/S"
// in pixel space).
func (o *AnalyticsOverlay) DrawObjects(c Canvas, a *ds3d.Analytics, space ds3d.AnalyticsSpace, m Affine) {
	if a.Space != space {
		return
	}
	_, th := TextSize("0", o.FontScale)
	for i := range a.Objects {
		ob := &a.Objects[i]
		u, v := m.Apply(ob.Pos[0], ob.Pos[1])
		if !draw2Finite(u, v) || u < -1e6 || u > 1e6 || v < -1e6 || v > 1e6 {
			continue
		}
		x, y := int(math.Floor(u)), int(math.Floor(v))
		b := o.buf[:0]
		col := LineColor
		switch {
		case ob.WrongWay:
			col = WrongWayColor
			b = append(b, "WRONG WAY "...)
		case ob.OverSpeed:
			col = OverSpeedColor
			b = append(b, "FAST "...)
		}
		if ob.WrongWay || ob.OverSpeed {
			c.FillRect(x-3, y-3, x+4, y+4, col)
		}
		flagged := ob.WrongWay || ob.OverSpeed
		// Speeds of objects in no zone (parked cars, pedestrians on the
		// pavement, clutter) would bury the picture: only those in a zone.
		if o.Speeds && !math.IsNaN(float64(ob.Speed)) && (flagged || ob.Zones != 0) {
			b = strconv.AppendFloat(b, float64(ob.Speed), 'f', 1, 32)
			if space == ds3d.SpacePixels {
				b = append(b, " PX/S"...)
			} else {
				b = append(b, " M/S"...)
			}
		}
		o.buf = b
		switch {
		case flagged:
			o.text.Label(c, x+5, y-th/2, o.str(), o.FontScale, color.RGBA{0, 0, 0, 255}, col)
		case len(b) > 0:
			o.text.Label(c, x+5, y-th/2, o.str(), o.FontScale, col, color.RGBA{})
		}
	}
}

// str views o.buf as a string without copying: it is drawn before the
// buffer is written again and never kept.
func (o *AnalyticsOverlay) str() string {
	return unsafe.String(unsafe.SliceData(o.buf), len(o.buf))
}

// DrawHUD writes a's all-class counts from (x, y) down, one rule a row
// (AppendHUDRow). It returns the y below the last row.
func (o *AnalyticsOverlay) DrawHUD(c Canvas, a *ds3d.Analytics, x, y int) int {
	bg := color.RGBA{0, 0, 0, 160}
	for k := range a.Counts {
		b, col, ok := AppendHUDRow(o.buf[:0], a, &a.Counts[k])
		if !ok {
			continue
		}
		o.buf = b
		_, h := TextSize(o.str(), o.FontScale)
		o.text.Label(c, x, y, o.str(), o.FontScale, col, bg)
		y += h + 2
	}
	return y
}

// AppendHUDRow appends the HUD row of count ct of a to b, when ct is a
// rule's all-class row of a zone or line for a's stream (ok): a zone's
// objects inside now and its entries and exits in total ("FULL" while
// overcrowded), a line's crossings in total, positive and negative. col
// is the colour it is written in.
func AppendHUDRow(b []byte, a *ds3d.Analytics, ct *ds3d.AnalyticsCount) (_ []byte, col color.RGBA, ok bool) {
	if ct.ClassID >= 0 || ct.Rule < 0 || int(ct.Rule) >= len(a.Rules) {
		return b, col, false
	}
	r := &a.Rules[ct.Rule]
	if r.SourceID >= 0 && r.SourceID != a.SourceID {
		return b, col, false
	}
	switch r.Kind {
	case ds3d.RuleZone:
		col = ZoneColor
		b = append(b, r.ID...)
		b = append(b, " IN "...)
		b = strconv.AppendInt(b, int64(ct.Inside), 10)
		b = append(b, " ENTRIES "...)
		b = strconv.AppendUint(b, ct.TotalEntries, 10)
		b = append(b, " EXITS "...)
		b = strconv.AppendUint(b, ct.TotalExits, 10)
		if ct.Overcrowded {
			col = OvercrowdedColor
			b = append(b, " FULL"...)
		}
	case ds3d.RuleLine:
		col = LineColor
		b = append(b, r.ID...)
		b = append(b, " +"...)
		b = strconv.AppendUint(b, ct.TotalPositive, 10)
		b = append(b, " -"...)
		b = strconv.AppendUint(b, ct.TotalNegative, 10)
	default:
		return b, col, false
	}
	return b, col, true
}

// drawFlags outlines the boxes of over-speed (red) and wrong-way
// (magenta) objects over their usual colour, and writes the speed of those
// and of every object in a zone under its box, when known: m/s when the
// rules are on the ground (a homography), pixels/s otherwise.
func (o *OSD) drawFlags(c Canvas, a *ds3d.Analytics, objs []ds3d.Object2D) {
	ov := o.overlay
	for i := range a.Objects {
		ob := &a.Objects[i]
		if ob.Index < 0 || int(ob.Index) >= len(objs) {
			continue
		}
		x0, y0, x1, y1 := BoxPixels(objs[ob.Index])
		col := o.Color(&objs[ob.Index])
		b := ov.buf[:0]
		switch {
		case ob.WrongWay:
			col = WrongWayColor
			b = append(b, "WRONG WAY "...)
		case ob.OverSpeed:
			col = OverSpeedColor
			b = append(b, "FAST "...)
		}
		if ob.WrongWay || ob.OverSpeed {
			c.Rect(x0, y0, x1, y1, max(o.cfg.BorderWidth, 1)+1, col)
		}
		if ov.Speeds && !math.IsNaN(float64(ob.Speed)) && (ob.WrongWay || ob.OverSpeed || ob.Zones != 0) {
			b = strconv.AppendFloat(b, float64(ob.Speed), 'f', 1, 32)
			if a.Space == ds3d.SpacePixels {
				b = append(b, " PX/S"...)
			} else {
				b = append(b, " M/S"...)
			}
		}
		ov.buf = b
		if len(b) > 0 {
			ov.text.Label(c, x0, y1+1, ov.str(), o.cfg.FontScale, color.RGBA{0, 0, 0, 255}, col)
		}
	}
}
