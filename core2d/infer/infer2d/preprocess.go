package infer2d

import "math"

// preprocess is nvinfer's input conversion for one [1, C, H, W] model
// input: resize (letterboxed when keepAspect, the image at the top left or
// centred when symmetric; stretched otherwise) by bilinear interpolation
// with half-pixel centres, each channel rounded to 8 bits, then
// y = scale·(v − offsets[c]) in the model's channel order (RGB, BGR, or one
// GRAY channel = 0.299 R + 0.587 G + 0.114 B of the rounded values).
// Padding pixels hold scale·(pad − offsets[c]). With scale 1, offsets 0,
// BGR, keepAspect, no symmetric padding and pad 114 on a square input this
// is exactly YOLOX's Letterbox (yoloxPreprocess).
type preprocess struct {
	C, H, W    int
	scale      float32
	offsets    [3]float32
	format     int // 0 RGB, 1 BGR, 2 GRAY
	keepAspect bool
	symmetric  bool
	pad        float64
}

// letterboxGeom maps network pixels back to the source: src = (net − d)/r.
type letterboxGeom struct {
	rx, ry, dx, dy float64
}

// yoloxPreprocess is YOLOX's input conversion for a square [1, 3, S, S]
// input (see YOLOX).
func yoloxPreprocess(size int) preprocess {
	return preprocess{C: 3, H: size, W: size, scale: 1, format: 1, keepAspect: true, pad: 114}
}

// run writes the model input for packed 8-bit RGB(A) pixels (rows of pitch
// bytes, bpp bytes per pixel, red first) into dst.
func (p *preprocess) run(dst []float32, pix []byte, w, h, pitch, bpp int) letterboxGeom {
	return p.resample(dst, w, h, func(x, y int) (r, g, b float64) {
		i := y*pitch + x*bpp
		return float64(pix[i]), float64(pix[i+1]), float64(pix[i+2])
	})
}

// resample is run for any w×h pixel source: at returns the 8-bit red,
// green and blue of pixel (x, y). One formula, whatever holds the pixels.
func (p *preprocess) resample(dst []float32, w, h int, at func(x, y int) (r, g, b float64)) letterboxGeom {
	var nw, nh int
	var g letterboxGeom
	if p.keepAspect {
		r := math.Min(float64(p.H)/float64(h), float64(p.W)/float64(w))
		nw, nh = int(math.Floor(float64(w)*r)), int(math.Floor(float64(h)*r))
		g.rx, g.ry = r, r
	} else {
		nw, nh = p.W, p.H
		g.rx, g.ry = float64(p.W)/float64(w), float64(p.H)/float64(h)
	}
	nw, nh = max(nw, 1), max(nh, 1)
	ox, oy := 0, 0
	if p.symmetric {
		ox, oy = (p.W-nw)/2, (p.H-nh)/2
	}
	g.dx, g.dy = float64(ox), float64(oy)
	plane := p.H * p.W
	for c := 0; c < p.C; c++ {
		v := p.scale * (float32(p.pad) - p.offsets[c])
		for i := range dst[c*plane : (c+1)*plane] {
			dst[c*plane+i] = v
		}
	}
	sx, sy := float64(w)/float64(nw), float64(h)/float64(nh)
	for y := 0; y < nh; y++ {
		fy := (float64(y)+0.5)*sy - 0.5
		fy = math.Max(0, math.Min(fy, float64(h-1)))
		y0 := int(fy)
		y1 := min(y0+1, h-1)
		wy := fy - float64(y0)
		for x := 0; x < nw; x++ {
			fx := (float64(x)+0.5)*sx - 0.5
			fx = math.Max(0, math.Min(fx, float64(w-1)))
			x0 := int(fx)
			x1 := min(x0+1, w-1)
			wx := fx - float64(x0)
			var c [4][3]float64
			for k, q := range [4][2]int{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
				c[k][0], c[k][1], c[k][2] = at(q[0], q[1])
			}
			var rgb [3]float64
			for ch := 0; ch < 3; ch++ {
				top := c[0][ch]*(1-wx) + c[1][ch]*wx
				bot := c[2][ch]*(1-wx) + c[3][ch]*wx
				rgb[ch] = math.Round(top*(1-wy) + bot*wy)
			}
			o := (oy+y)*p.W + ox + x
			switch p.format {
			case 0:
				for ch := 0; ch < 3; ch++ {
					dst[ch*plane+o] = p.scale * (float32(rgb[ch]) - p.offsets[ch])
				}
			case 1:
				for ch := 0; ch < 3; ch++ {
					dst[(2-ch)*plane+o] = p.scale * (float32(rgb[ch]) - p.offsets[2-ch])
				}
			default:
				gray := 0.299*rgb[0] + 0.587*rgb[1] + 0.114*rgb[2]
				dst[o] = p.scale * (float32(gray) - p.offsets[0])
			}
		}
	}
	return g
}
