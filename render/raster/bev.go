package raster

import (
	"image"
	"image/color"
	"math"
	"strconv"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ColorMode says how points are coloured.
type ColorMode string

// Colour modes. Intensity and height map low values to blue and high to red
// on the Turbo colour map; range (distance from the sensor origin) and depth
// (distance along a camera's optical axis) map near to red and far to blue;
// fixed paints every point PointStyle.Color.
const (
	ColorIntensity ColorMode = "intensity"
	ColorHeight    ColorMode = "height"
	ColorRange     ColorMode = "range"
	ColorDepth     ColorMode = "depth"
	ColorFixed     ColorMode = "fixed"
)

// DefaultValueRange is the value range mapped onto the colour map when
// PointStyle.ValueRange is zero: intensity [0, 1] (KITTI reflectance; use
// [0, 255] for 8-bit sensors), height [−2.5, 1.5] m (KITTI ground is near
// z = −1.7), range and depth [0, 60] m.
func DefaultValueRange(m ColorMode) [2]float64 {
	switch m {
	case ColorHeight:
		return [2]float64{-2.5, 1.5}
	case ColorRange, ColorDepth:
		return [2]float64{0, 60}
	}
	return [2]float64{0, 1}
}

// PointStyle says how points are drawn.
type PointStyle struct {
	ColorBy ColorMode // "" is intensity in a BEV, depth in a camera image
	// ValueRange is mapped onto the colour map; values outside are clamped.
	// The zero value means DefaultValueRange(ColorBy).
	ValueRange [2]float64
	Color      color.RGBA // ColorFixed's colour
	Size       int        // a Size×Size square per point; ≤ 1 is one pixel
	// Stride is the number of floats per point: 4 (x, y, z, intensity; the
	// default when 0) or 3 (x, y, z; intensity reads as 0).
	Stride int
	// Hide skips the points.
	Hide bool
}

// BoxStyle says how boxes are drawn.
type BoxStyle struct {
	Thickness int          // line width in pixels; ≤ 1 is one pixel
	Palette   []color.RGBA // class colours by ClassID; nil is DefaultPalette
	// Labels draws each box's label (Label, or "#ClassID" when empty), its
	// score with two decimals when Score > 0 and Scores is set, and
	// "#TrackID" for tracked boxes.
	Labels     bool
	Scores     bool
	LabelScale int // font scale; ≤ 1 is 5×7 pixels per glyph
}

// BEVOptions configure a bird's-eye view; see the package doc for the pixel
// convention.
type BEVOptions struct {
	XRange, YRange [2]float64 // metres, [min, max], in the lidar frame
	// Resolution is the size of a pixel in metres; when 0, Width and Height
	// (pixels) are used and the metres per pixel follow from the ranges.
	Resolution    float64
	Width, Height int
	Points        PointStyle
	Boxes         BoxStyle
	Background    color.RGBA
	GridStep      float64 // metres between grid lines through the origin; 0 draws none
	GridColor     color.RGBA
	Ego           bool // draw a triangle at the origin pointing along +x
	EgoColor      color.RGBA
	EgoSize       int // triangle height in pixels; 0 is 12
}

// DefaultBEVOptions is an 800×800 view of ±40 m at 0.1 m per pixel with
// intensity colours, a 10 m grid, the ego marker and labelled boxes.
func DefaultBEVOptions() BEVOptions {
	return BEVOptions{
		XRange: [2]float64{-40, 40}, YRange: [2]float64{-40, 40}, Resolution: 0.1,
		Points:     PointStyle{ColorBy: ColorIntensity, Color: color.RGBA{255, 255, 255, 255}, Size: 1},
		Boxes:      BoxStyle{Thickness: 2, Labels: true, Scores: true, LabelScale: 1},
		Background: color.RGBA{0, 0, 0, 255},
		GridStep:   10, GridColor: color.RGBA{48, 48, 48, 255},
		Ego: true, EgoColor: color.RGBA{255, 255, 255, 255},
	}
}

// Size returns the image size the options describe (0×0 when they describe
// none: empty or non-finite ranges, no resolution and no size).
func (o *BEVOptions) Size() (w, h int) {
	l := o.layout()
	return l.w, l.h
}

// bevLayout is the resolved mapping u = (yMax − y)/ru, v = (xMax − x)/rv.
type bevLayout struct {
	w, h       int
	xMax, yMax float64
	ru, rv     float64 // metres per pixel along columns and rows
}

// maxSide bounds a BEV image side, so a tiny resolution cannot ask for
// gigabytes.
const maxSide = 1 << 14

func (o *BEVOptions) layout() bevLayout {
	xr, yr := o.XRange[1]-o.XRange[0], o.YRange[1]-o.YRange[0]
	if !(xr > 0) || !(yr > 0) || math.IsInf(xr, 0) || math.IsInf(yr, 0) {
		return bevLayout{}
	}
	l := bevLayout{xMax: o.XRange[1], yMax: o.YRange[1]}
	if o.Resolution > 0 && !math.IsInf(o.Resolution, 0) {
		wf, hf := math.Round(yr/o.Resolution), math.Round(xr/o.Resolution)
		if wf > maxSide || hf > maxSide {
			return bevLayout{}
		}
		l.w, l.h, l.ru, l.rv = int(wf), int(hf), o.Resolution, o.Resolution
	} else if o.Width > 0 && o.Height > 0 && o.Width <= maxSide && o.Height <= maxSide {
		l.w, l.h = o.Width, o.Height
		l.ru, l.rv = yr/float64(o.Width), xr/float64(o.Height)
	}
	if l.w <= 0 || l.h <= 0 {
		return bevLayout{}
	}
	return l
}

// pointColorer colours one point.
type pointColorer struct {
	mode     ColorMode
	lo, inv  float64
	fixed    color.RGBA
	reversed bool
}

func newPointColorer(s *PointStyle, def ColorMode) pointColorer {
	m := s.ColorBy
	if m == "" {
		m = def
	}
	r := s.ValueRange
	if r == ([2]float64{}) {
		r = DefaultValueRange(m)
	}
	pc := pointColorer{mode: m, lo: r[0], fixed: s.Color, reversed: m == ColorRange || m == ColorDepth}
	pc.fixed.A = 255
	if d := r[1] - r[0]; d != 0 && !math.IsNaN(d) && !math.IsInf(d, 0) {
		pc.inv = 1 / d
	}
	return pc
}

// color returns the colour of a point with coordinates x, y, z, intensity i
// and camera depth d.
func (pc *pointColorer) color(x, y, z, i, d float32) color.RGBA {
	var v float64
	switch pc.mode {
	case ColorFixed:
		return pc.fixed
	case ColorHeight:
		v = float64(z)
	case ColorRange:
		v = math.Sqrt(float64(x)*float64(x) + float64(y)*float64(y) + float64(z)*float64(z))
	case ColorDepth:
		v = float64(d)
	default:
		v = float64(i)
	}
	t := (v - pc.lo) * pc.inv
	if pc.reversed {
		t = 1 - t
	}
	return draw.Colormap(t)
}

// DrawBEV draws a bird's-eye view of the lidar points pts ([N, Stride]
// float32, lidar frame) and the boxes (lidar frame) into img, which should be
// o.Size(): it fills img with the background, then draws the grid, the
// points, the boxes' footprints (the bottom face's four edges from
// Box3D.Corners, plus a heading line from the centre to the middle of the
// front edge), their labels, and the ego marker. Pixels follow the package
// doc's convention; anything outside the image (and NaN or infinite
// coordinates) is skipped. It allocates nothing.
func DrawBEV(img *image.RGBA, pts []float32, boxes []ds3d.Box3D, o *BEVOptions) {
	draw.Fill(img, opaque(o.Background))
	l := o.layout()
	if l.w == 0 || img.Rect.Empty() {
		return
	}
	w, h := min(l.w, img.Rect.Dx()), min(l.h, img.Rect.Dy())
	toPix := func(x, y float64) (float64, float64) {
		return float64(img.Rect.Min.X) + (l.yMax-y)/l.ru, float64(img.Rect.Min.Y) + (l.xMax-x)/l.rv
	}
	if o.GridStep > 0 && !math.IsInf(o.GridStep, 0) {
		gc := opaque(o.GridColor)
		xMin, yMin := l.xMax-float64(l.h)*l.rv, l.yMax-float64(l.w)*l.ru
		if (l.xMax-xMin)/o.GridStep < maxSide && (l.yMax-yMin)/o.GridStep < maxSide {
			for k := math.Ceil(xMin / o.GridStep); k*o.GridStep <= l.xMax; k++ {
				u0, v := toPix(k*o.GridStep, l.yMax)
				draw.Line(img, u0, v, u0+float64(w)-1e-9, v, 1, gc)
			}
			for k := math.Ceil(yMin / o.GridStep); k*o.GridStep <= l.yMax; k++ {
				u, v0 := toPix(l.xMax, k*o.GridStep)
				draw.Line(img, u, v0, u, v0+float64(h)-1e-9, 1, gc)
			}
		}
	}
	if !o.Points.Hide {
		drawBEVPoints(img, pts, &o.Points, l, w, h)
	}
	var buf [96]byte
	for i := range boxes {
		b := &boxes[i]
		c := draw.BoxColor(b.Color, b.ClassID, o.Boxes.Palette)
		ub := b.Upright() // the footprint: a top view ignores the tilt
		cs := ub.Corners()
		var px, py [4]float64
		for k := 0; k < 4; k++ {
			px[k], py[k] = toPix(cs[k].X, cs[k].Y)
		}
		th := max(o.Boxes.Thickness, 1)
		for k := 0; k < 4; k++ {
			draw.Line(img, px[k], py[k], px[(k+1)%4], py[(k+1)%4], th, c)
		}
		cu, cv := toPix(float64(b.CX), float64(b.CY))
		draw.Line(img, cu, cv, (px[0]+px[3])/2, (py[0]+py[3])/2, th, c)
		if o.Boxes.Labels {
			right, top := math.Max(math.Max(px[0], px[1]), math.Max(px[2], px[3])), math.Min(math.Min(py[0], py[1]), math.Min(py[2], py[3]))
			if draw.Finite(right, top) && math.Abs(right) < maxSide*4 && math.Abs(top) < maxSide*4 {
				draw.Text(img, int(right)+th+2, int(top), labelText(buf[:0], b, o.Boxes.Scores), max(o.Boxes.LabelScale, 1), c)
			}
		}
	}
	if o.Ego {
		u, v := toPix(0, 0)
		size := o.EgoSize
		if size <= 0 {
			size = 12
		}
		if draw.Finite(u, v) && math.Abs(u) < maxSide*4 && math.Abs(v) < maxSide*4 {
			egoMarker(img, int(math.Floor(u)), int(math.Floor(v)), size, opaque(o.EgoColor))
		}
	}
}

// drawBEVPoints is the hot loop: one division-free mapping and one pixel
// store per point.
func drawBEVPoints(img *image.RGBA, pts []float32, s *PointStyle, l bevLayout, w, h int) {
	stride := s.Stride
	if stride <= 0 {
		stride = 4
	}
	if stride < 3 {
		return
	}
	pc := newPointColorer(s, ColorIntensity)
	iru, irv := 1/l.ru, 1/l.rv
	wf, hf := float64(w), float64(h)
	size := s.Size
	ox, oy := img.Rect.Min.X, img.Rect.Min.Y
	n := len(pts) / stride
	for i := 0; i < n; i++ {
		p := pts[i*stride : i*stride+stride : i*stride+stride]
		u := (l.yMax - float64(p[1])) * iru
		v := (l.xMax - float64(p[0])) * irv
		if !(u >= 0 && u < wf && v >= 0 && v < hf) { // NaN fails too
			continue
		}
		var in float32
		if stride >= 4 {
			in = p[3]
		}
		c := pc.color(p[0], p[1], p[2], in, 0)
		if size <= 1 {
			j := int(v)*img.Stride + int(u)*4 // Pix[0] is Rect.Min
			q := img.Pix[j : j+4 : j+4]
			q[0], q[1], q[2], q[3] = c.R, c.G, c.B, 255
		} else {
			draw.Square(img, int(u)+ox, int(v)+oy, size, c)
		}
	}
}

// egoMarker fills a triangle with its apex size pixels above (x, y),
// pointing up (+x in a BEV), and its base size/2 pixels below.
func egoMarker(img *image.RGBA, x, y, size int, c color.RGBA) {
	top, bottom := y-size, y+size/2
	for row := top; row <= bottom; row++ {
		half := (row - top) * size / (2 * (bottom - top + 1))
		for col := x - half; col <= x+half; col++ {
			draw.Set(img, col, row, c)
		}
	}
}

// labelText appends a box's label: Label (or "#ClassID"), the score when
// scores is set and Score > 0, and "#TrackID" when tracked.
func labelText(b []byte, box *ds3d.Box3D, scores bool) []byte {
	if box.Label != "" {
		b = append(b, box.Label...)
	} else {
		b = append(b, '#')
		b = strconv.AppendInt(b, int64(box.ClassID), 10)
	}
	if scores && box.Score > 0 && !math.IsInf(float64(box.Score), 0) {
		b = append(b, ' ')
		b = strconv.AppendFloat(b, float64(box.Score), 'f', 2, 32)
	}
	if box.TrackID >= 0 {
		b = append(b, " #"...)
		b = strconv.AppendInt(b, box.TrackID, 10)
	}
	return b
}

func opaque(c color.RGBA) color.RGBA {
	c.A = 255
	return c
}
