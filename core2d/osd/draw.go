package osd

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Canvas is a view of an 8-bit RGB or RGBA image (a ds3d image frame) that
// the drawing functions paint in place. Coordinates are pixels, x right,
// y down, pixel (x, y) covering [x, x+1)×[y, y+1); everything is clipped.
type Canvas struct {
	Pix           []byte
	Width, Height int
	Pitch, BPP    int // bytes per row, bytes per pixel (3 or 4)
}

// CanvasOf returns the canvas of an RGB or RGBA u8 CPU image frame.
func CanvasOf(f *ds3d.Frame) (Canvas, error) {
	if f.DType != ds3d.DTypeU8 || (f.Type != ds3d.FrameColorRGB && f.Type != ds3d.FrameColorRGBA) || f.Plane.Pitch == 0 {
		return Canvas{}, fmt.Errorf("want an RGB or RGBA u8 image frame, got %s %s %s", f.Type, f.DType, f.Shape)
	}
	if f.Mem == ds3d.MemGPU {
		return Canvas{}, fmt.Errorf("image frame in GPU memory: the OSD draws on the CPU")
	}
	p := f.Plane
	if len(f.Data) < p.Pitch*p.Height {
		return Canvas{}, fmt.Errorf("image frame of %d bytes is shorter than %d rows of %d", len(f.Data), p.Height, p.Pitch)
	}
	return Canvas{Pix: f.Data, Width: p.Width, Height: p.Height, Pitch: p.Pitch, BPP: p.BytesPerPixel}, nil
}

// At returns pixel (x, y) as RGBA (alpha 255 for RGB canvases).
func (c Canvas) At(x, y int) color.RGBA {
	i := y*c.Pitch + x*c.BPP
	px := color.RGBA{c.Pix[i], c.Pix[i+1], c.Pix[i+2], 255}
	if c.BPP == 4 {
		px.A = c.Pix[i+3]
	}
	return px
}

// FillRect paints the pixels x0 ≤ x < x1, y0 ≤ y < y1 with col; an alpha
// below 255 blends col over the image (out = a·col + (1−a)·in).
func (c Canvas) FillRect(x0, y0, x1, y1 int, col color.RGBA) {
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, c.Width), min(y1, c.Height)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	a := uint32(col.A)
	for y := y0; y < y1; y++ {
		row := c.Pix[y*c.Pitch+x0*c.BPP : y*c.Pitch+x1*c.BPP]
		for i := 0; i < len(row); i += c.BPP {
			if a == 255 {
				row[i], row[i+1], row[i+2] = col.R, col.G, col.B
				continue
			}
			row[i] = blend(row[i], col.R, a)
			row[i+1] = blend(row[i+1], col.G, a)
			row[i+2] = blend(row[i+2], col.B, a)
		}
	}
}

// blend returns a·src + (255−a)·dst over 255, rounded.
func blend(dst, src uint8, a uint32) uint8 {
	return uint8((uint32(src)*a + uint32(dst)*(255-a) + 127) / 255)
}

// BoxPixels returns the pixel rectangle [x0, x1)×[y0, y1) a box covers:
// its edges rounded to the nearest pixel boundary.
func BoxPixels(o ds3d.Object2D) (x0, y0, x1, y1 int) {
	x0 = int(math.Round(float64(o.Left)))
	y0 = int(math.Round(float64(o.Top)))
	x1 = int(math.Round(float64(o.Left + o.Width)))
	y1 = int(math.Round(float64(o.Top + o.Height)))
	return
}

// Rect draws the outline of [x0, x1)×[y0, y1) with the given thickness,
// inside the rectangle (nvdsosd's border_width): the outermost pixels of
// the rectangle carry the colour.
func (c Canvas) Rect(x0, y0, x1, y1, thick int, col color.RGBA) {
	if x1 <= x0 || y1 <= y0 {
		return
	}
	t := max(thick, 1)
	c.FillRect(x0, y0, x1, min(y0+t, y1), col)     // top
	c.FillRect(x0, max(y1-t, y0), x1, y1, col)     // bottom
	c.FillRect(x0, y0+t, min(x0+t, x1), y1-t, col) // left
	c.FillRect(max(x1-t, x0), y0+t, x1, y1-t, col) // right
}

// Line draws a segment between pixel centres (x0, y0) and (x1, y1) with a
// square pen of the given width, along core2d/draw's Bresenham walk.
func (c Canvas) Line(x0, y0, x1, y1, width int, col color.RGBA) {
	w := max(width, 1)
	lo := (w - 1) / 2
	for s := draw.NewSegment(x0, y0, x1, y1); ; {
		c.FillRect(s.X-lo, s.Y-lo, s.X-lo+w, s.Y-lo+w, col)
		if !s.Next() {
			return
		}
	}
}

// TextDrawer draws text with core2d/draw's built-in 5×7 bitmap font.
// The font draws on *image.RGBA, so each label is drawn into a scratch
// image the size of the label and its set pixels are copied onto the
// canvas; the scratch image is kept for the next label.
type TextDrawer struct {
	buf []byte
	img *image.RGBA // one header reused over buf, so drawing allocates nothing
}

// TextSize returns the size in pixels of s at scale.
func TextSize(s string, scale int) (w, h int) {
	return draw.TextWidth(s, scale), draw.CellHeight * max(scale, 1)
}

// Label draws s with its top-left at (x, y) in fg on a filled bg box
// (bg.A == 0: no box), one pixel of margin around the text.
func (t *TextDrawer) Label(c Canvas, x, y int, s string, scale int, fg, bg color.RGBA) {
	w, h := TextSize(s, scale)
	if w == 0 {
		return
	}
	if bg.A > 0 {
		c.FillRect(x, y, x+w+2, y+h+1, bg)
	}
	if len(t.buf) < w*h*4 {
		t.buf = make([]byte, w*h*4*2)
	}
	if t.img == nil {
		t.img = &image.RGBA{}
	}
	scratch := t.img
	*scratch = image.RGBA{Pix: t.buf[:w*h*4], Stride: w * 4, Rect: image.Rect(0, 0, w, h)}
	clear(scratch.Pix)
	draw.Text(scratch, 0, 0, s, scale, color.RGBA{255, 255, 255, 255})
	x++
	y++
	for yy := 0; yy < h; yy++ {
		cy := y + yy
		if cy < 0 || cy >= c.Height {
			continue
		}
		src := scratch.Pix[yy*scratch.Stride:]
		for xx := 0; xx < w; xx++ {
			cx := x + xx
			if src[xx*4+3] == 0 || cx < 0 || cx >= c.Width {
				continue
			}
			i := cy*c.Pitch + cx*c.BPP
			c.Pix[i], c.Pix[i+1], c.Pix[i+2] = fg.R, fg.G, fg.B
		}
	}
}

// BlendMask blends col with opacity alpha (0..255) over every pixel whose
// mask value is non-zero. The mask is mw×mh bytes, row-major, and is
// stretched (nearest neighbour) onto the canvas rectangle
// [x0, x0+w)×[y0, y0+h) — the whole canvas for a full-frame mask, or an
// object's box for an instance mask.
func (c Canvas) BlendMask(mask []byte, mw, mh, x0, y0, w, h int, col color.RGBA, alpha uint8) error {
	if mw <= 0 || mh <= 0 || len(mask) < mw*mh {
		return fmt.Errorf("mask of %d bytes is not %dx%d", len(mask), mw, mh)
	}
	a := uint32(alpha)
	for y := max(y0, 0); y < min(y0+h, c.Height); y++ {
		my := (y - y0) * mh / h
		mrow := mask[my*mw : my*mw+mw]
		for x := max(x0, 0); x < min(x0+w, c.Width); x++ {
			if mrow[(x-x0)*mw/w] == 0 {
				continue
			}
			i := y*c.Pitch + x*c.BPP
			c.Pix[i] = blend(c.Pix[i], col.R, a)
			c.Pix[i+1] = blend(c.Pix[i+1], col.G, a)
			c.Pix[i+2] = blend(c.Pix[i+2], col.B, a)
		}
	}
	return nil
}

// Points draws projected points as size×size squares centred on (u, v)
// pixels, coloured by depth through core2d/draw's colour map over
// [near, far] (near: warm, far: cool); uvd holds u, v, depth per point
// (stride 3) or u, v (stride 2, drawn in col).
func (c Canvas) Points(uvd []float32, stride, size int, near, far float32, col color.RGBA) {
	lo := (size - 1) / 2
	span := far - near
	if span <= 0 {
		span = 1
	}
	for i := 0; i+stride <= len(uvd); i += stride {
		u, v := uvd[i], uvd[i+1]
		if !(u >= 0 && v >= 0 && u < float32(c.Width) && v < float32(c.Height)) {
			continue // also drops NaN
		}
		pc := col
		if stride >= 3 {
			d := uvd[i+2]
			if !(d > 0) {
				continue
			}
			pc = draw.Colormap(1 - float64((d-near)/span))
		}
		x, y := int(u), int(v)
		c.FillRect(x-lo, y-lo, x-lo+size, y-lo+size, pc)
	}
}
