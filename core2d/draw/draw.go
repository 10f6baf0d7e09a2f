package draw

import (
	"image"
	"image/color"
	"math"
)

// EnsureRGBA returns img when it is w×h, or a new w×h image otherwise; pass
// the previous frame's image to reuse it. A non-positive size returns an
// empty image.
func EnsureRGBA(img *image.RGBA, w, h int) *image.RGBA {
	w, h = max(w, 0), max(h, 0)
	if img != nil && img.Rect.Dx() == w && img.Rect.Dy() == h && img.Rect.Min == (image.Point{}) {
		return img
	}
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

// Fill paints the whole image with c.
func Fill(img *image.RGBA, c color.RGBA) {
	b := img.Rect
	if b.Empty() {
		return
	}
	row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y):]
	n := b.Dx() * 4
	first := row[:n]
	for i := 0; i < n; i += 4 {
		first[i], first[i+1], first[i+2], first[i+3] = c.R, c.G, c.B, c.A
	}
	for y := 1; y < b.Dy(); y++ {
		copy(img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:n], first)
	}
}

// Set paints pixel (x, y) when it lies inside the image.
func Set(img *image.RGBA, x, y int, c color.RGBA) {
	if !(image.Point{x, y}.In(img.Rect)) {
		return
	}
	i := img.PixOffset(x, y)
	p := img.Pix[i : i+4 : i+4]
	p[0], p[1], p[2], p[3] = c.R, c.G, c.B, c.A
}

// Square paints a size×size square whose top-left pixel is (x − (size−1)/2,
// y − (size−1)/2), so that size 1 is the pixel itself and odd sizes are
// centred on it.
func Square(img *image.RGBA, x, y, size int, c color.RGBA) {
	if size <= 1 {
		Set(img, x, y, c)
		return
	}
	x0, y0 := x-(size-1)/2, y-(size-1)/2
	r := image.Rect(x0, y0, x0+size, y0+size).Intersect(img.Rect)
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		p := img.Pix[img.PixOffset(r.Min.X, yy):]
		for i := 0; i < r.Dx()*4; i += 4 {
			p[i], p[i+1], p[i+2], p[i+3] = c.R, c.G, c.B, c.A
		}
	}
}

// Finite reports whether both coordinates are finite numbers.
func Finite(a, b float64) bool {
	return !math.IsNaN(a) && !math.IsNaN(b) && !math.IsInf(a, 0) && !math.IsInf(b, 0)
}

// clipSegment clips the segment (x0,y0)–(x1,y1) to the rectangle
// [xmin, xmax]×[ymin, ymax] (Liang–Barsky); ok is false when nothing is left
// or an end point is not finite.
func clipSegment(x0, y0, x1, y1, xmin, ymin, xmax, ymax float64) (ax, ay, bx, by float64, ok bool) {
	if !Finite(x0, y0) || !Finite(x1, y1) {
		return 0, 0, 0, 0, false
	}
	t0, t1 := 0.0, 1.0
	dx, dy := x1-x0, y1-y0
	clip := func(p, q float64) bool {
		if p == 0 {
			return q >= 0
		}
		r := q / p
		if p < 0 {
			if r > t1 {
				return false
			}
			t0 = max(t0, r)
		} else {
			if r < t0 {
				return false
			}
			t1 = min(t1, r)
		}
		return true
	}
	if !clip(-dx, x0-xmin) || !clip(dx, xmax-x0) || !clip(-dy, y0-ymin) || !clip(dy, ymax-y0) {
		return 0, 0, 0, 0, false
	}
	return x0 + t0*dx, y0 + t0*dy, x0 + t1*dx, y0 + t1*dy, true
}

// Line draws a segment between pixel-space points (x0, y0) and (x1, y1)
// (continuous coordinates; the pixel of a point is (⌊x⌋, ⌊y⌋)) with
// Bresenham's algorithm, width pixels thick (squares along the line). The
// segment is clipped to the image first, so end points far outside (or
// infinite) cost nothing; a NaN end point draws nothing.
func Line(img *image.RGBA, x0, y0, x1, y1 float64, width int, c color.RGBA) {
	b := img.Rect
	if b.Empty() {
		return
	}
	m := float64(width + 1)
	ax, ay, bx, by, ok := clipSegment(x0, y0, x1, y1,
		float64(b.Min.X)-m, float64(b.Min.Y)-m, float64(b.Max.X)+m, float64(b.Max.Y)+m)
	if !ok {
		return
	}
	s := NewSegment(int(math.Floor(ax)), int(math.Floor(ay)), int(math.Floor(bx)), int(math.Floor(by)))
	for {
		Square(img, s.X, s.Y, width, c)
		if !s.Next() {
			return
		}
	}
}

// Segment walks the pixels of a segment between integer points with
// Bresenham's algorithm: (X, Y) is the current pixel, from the first end
// point to the second; Next steps and reports false once past the end.
// Both render/raster's lines and core2d/osd's are drawn along it.
type Segment struct {
	X, Y           int
	x1, y1, dx, dy int
	sx, sy, e      int
}

// NewSegment starts the walk from (x0, y0) to (x1, y1).
func NewSegment(x0, y0, x1, y1 int) Segment {
	s := Segment{X: x0, Y: y0, x1: x1, y1: y1, dx: abs(x1 - x0), dy: -abs(y1 - y0), sx: 1, sy: 1}
	if x0 > x1 {
		s.sx = -1
	}
	if y0 > y1 {
		s.sy = -1
	}
	s.e = s.dx + s.dy
	return s
}

// Next steps to the segment's next pixel; it returns false, staying put,
// when (X, Y) is already the last one.
func (s *Segment) Next() bool {
	if s.X == s.x1 && s.Y == s.y1 {
		return false
	}
	e2 := 2 * s.e
	if e2 >= s.dy {
		s.e += s.dy
		s.X += s.sx
	}
	if e2 <= s.dx {
		s.e += s.dx
		s.Y += s.sy
	}
	return true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Colormap returns the colour of t ∈ [0, 1] on the Turbo colour map (blue →
// green → yellow → red; Mikhailov 2019, polynomial approximation); t is
// clamped and NaN is t = 0.
func Colormap(t float64) color.RGBA {
	if !(t > 0) {
		t = 0
	}
	if t > 1 {
		t = 1
	}
	return colormapLUT[int(t*255+0.5)]
}

var colormapLUT = func() (lut [256]color.RGBA) {
	ch := func(x float64, c [6]float64) uint8 {
		v := c[0] + x*(c[1]+x*(c[2]+x*(c[3]+x*(c[4]+x*c[5]))))
		return uint8(math.Round(255 * min(max(v, 0), 1)))
	}
	for i := range lut {
		x := float64(i) / 255
		lut[i] = color.RGBA{
			ch(x, [6]float64{0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943}),
			ch(x, [6]float64{0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604}),
			ch(x, [6]float64{0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973}),
			255,
		}
	}
	return lut
}()

// DefaultPalette colours classes by ClassID (KITTI order: Car, Van, Truck,
// Pedestrian, Person_sitting, Cyclist, Tram, Misc, then more).
var DefaultPalette = []color.RGBA{
	{0, 200, 0, 255},     // green
	{0, 220, 220, 255},   // cyan
	{255, 140, 0, 255},   // orange
	{255, 40, 40, 255},   // red
	{255, 0, 255, 255},   // magenta
	{255, 230, 0, 255},   // yellow
	{120, 120, 255, 255}, // light blue
	{200, 160, 120, 255}, // tan
	{160, 255, 160, 255},
	{255, 160, 200, 255},
}

// UnknownClassColor draws boxes with ClassID < 0 and no colour of their own.
var UnknownClassColor = color.RGBA{200, 200, 200, 255}

// BoxColor is the colour a box is drawn in: its own Color when any channel
// is non-zero, else palette[ClassID mod len(palette)] (DefaultPalette when
// palette is empty), else UnknownClassColor. Drawing is opaque: the alpha
// channel is ignored and drawn as 255.
func BoxColor(color4 [4]uint8, classID int32, palette []color.RGBA) color.RGBA {
	if color4 != [4]uint8{} {
		return color.RGBA{color4[0], color4[1], color4[2], 255}
	}
	if len(palette) == 0 {
		palette = DefaultPalette
	}
	if classID < 0 {
		return UnknownClassColor
	}
	c := palette[int(classID)%len(palette)]
	c.A = 255
	return c
}
