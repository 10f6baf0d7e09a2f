package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
)

// palette holds distinguishable line colours (Tableau 10 and a few more).
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255}, {0, 0, 128, 255}, {128, 0, 0, 255}, {0, 128, 128, 255},
}

// PlotLogLog draws the curves on log-log axes (decade grid, tick labels,
// axis titles, a legend with each fitted exponent) and writes a PNG.
func PlotLogLog(path, title, xTitle string, curves []Curve) error {
	const w, h = 1180, 720
	const left, right, top, bottom = 90, 410, 50, 70
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Fill(img, color.RGBA{255, 255, 255, 255})
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for _, p := range c.Points {
			xmin, xmax = math.Min(xmin, float64(p.N)), math.Max(xmax, float64(p.N))
			ymin, ymax = math.Min(ymin, p.Median), math.Max(ymax, p.Median)
		}
	}
	if !(xmin > 0) || !(ymin > 0) {
		return fmt.Errorf("plot %s: no positive points", path)
	}
	// x spans the data (with a margin), y whole decades.
	x0, x1 := math.Log10(xmin)-0.08, math.Log10(xmax)+0.08
	y0, y1 := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
	if y1 == y0 {
		y1++
	}
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	px := func(n float64) float64 { return left + (math.Log10(n)-x0)/(x1-x0)*pw }
	py := func(t float64) float64 { return top + (y1-math.Log10(t))/(y1-y0)*ph }
	grid, axis, ink := color.RGBA{225, 225, 225, 255}, color.RGBA{60, 60, 60, 255}, color.RGBA{0, 0, 0, 255}
	// Grid: 1, 2 and 5 per decade, labelled; the 2 and 5 lines fainter.
	for d := math.Floor(x0); d <= x1; d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if l := math.Log10(v); l < x0 || l > x1 {
				continue
			}
			c := grid
			if m != 1 {
				c = color.RGBA{238, 238, 238, 255}
			}
			draw.Line(img, px(v), top, px(v), top+ph, 1, c)
			s := countLabel(v)
			draw.Text(img, int(px(v))-draw.TextWidth(s, 2)/2, int(top+ph)+10, s, 2, ink)
		}
	}
	for d := y0; d <= y1; d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if math.Log10(v) > y1 {
				break
			}
			c := grid
			if m != 1 {
				c = color.RGBA{242, 242, 242, 255}
			}
			draw.Line(img, left, py(v), left+pw, py(v), 1, c)
		}
		s := timeLabel(math.Pow(10, d))
		draw.Text(img, left-10-draw.TextWidth(s, 2), int(py(math.Pow(10, d)))-7, s, 2, ink)
	}
	draw.Line(img, left, top, left, top+ph, 2, axis)
	draw.Line(img, left, top+ph, left+pw, top+ph, 2, axis)
	draw.Text(img, left, 8, title, 2, ink)
	draw.Text(img, int(left+pw/2)-draw.TextWidth(xTitle, 2)/2, h-28, xTitle, 2, ink)
	draw.Text(img, left, 30, "time per frame: median CPU time of one core", 1, ink)
	// Reference slopes through the first curve's first point: k = 1 and 2.
	if len(curves) > 0 && len(curves[0].Points) > 0 {
		p0 := curves[0].Points[0]
		ref := color.RGBA{170, 170, 170, 255}
		for _, k := range []float64{1, 2} {
			xe := math.Pow(10, x1)
			ye := p0.Median * math.Pow(xe/float64(p0.N), k)
			dashed(img, px(float64(p0.N)), py(p0.Median), px(xe), py(ye), ref)
			lx, ly := px(xe), py(ye)
			if ly < top { // the label goes where the line leaves the plot
				lx = px(float64(p0.N) * math.Pow(math.Pow(10, y1)/p0.Median, 1/k))
				ly = top
			}
			draw.Text(img, int(lx)-40, int(ly)+4, fmt.Sprintf("K=%g", k), 1, ref)
		}
	}
	// Curves, each point a small square.
	for i, c := range curves {
		col := palette[i%len(palette)]
		for j, p := range c.Points {
			x, y := px(float64(p.N)), py(p.Median)
			draw.Square(img, int(x)-3, int(y)-3, 7, col)
			if j > 0 {
				q := c.Points[j-1]
				draw.Line(img, px(float64(q.N)), py(q.Median), x, y, 2, col)
			}
		}
	}
	// Legend: name and fitted exponent.
	lx, ly := left+int(pw)+20, top
	draw.Text(img, lx, ly, "K = FITTED SLOPE OF LOG T OVER LOG N", 1, ink)
	ly += 18
	for i, c := range curves {
		col := palette[i%len(palette)]
		draw.Line(img, float64(lx), float64(ly+6), float64(lx+24), float64(ly+6), 3, col)
		draw.Text(img, lx+32, ly, fmt.Sprintf("%s  K=%.2f", ascii(c.Name), c.Fit.K), 2, ink)
		ly += 24
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// dashed draws a dashed segment, clipped like draw.Line.
func dashed(img *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA) {
	l := math.Hypot(x1-x0, y1-y0)
	for s := 0.0; s < l; s += 12 {
		e := math.Min(s+6, l)
		draw.Line(img, x0+(x1-x0)*s/l, y0+(y1-y0)*s/l, x0+(x1-x0)*e/l, y0+(y1-y0)*e/l, 1, c)
	}
}

// ascii maps the characters the built-in font lacks to ones it has.
func ascii(s string) string {
	return strings.NewReplacer("×", "X", "_", "_", ",", ".", "~", "=").Replace(s)
}

func countLabel(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}

func timeLabel(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%gs", s)
	case s >= 1e-3:
		return fmt.Sprintf("%gms", math.Round(s*1e6)/1e3)
	}
	return fmt.Sprintf("%gus", math.Round(s*1e9)/1e3)
}
