// Package imageconv converts decoded images (image.Image from the
// standard decoders) into ds3d colour frames: u8 RGB or RGBA, straight
// alpha, written into a caller-owned (pooled) frame without allocating for
// the image types image/jpeg and image/png return. It sits below both the
// decoders (core2d/decode) and the loaders (sensors/camera, core2d/source),
// so either may use the other without an import cycle.
package imageconv

import (
	"fmt"
	"image"
	"image/color"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ToFrame converts img into f, a u8 RGB or RGBA frame of the same size,
// without allocating for the types the standard decoders return
// (*image.YCbCr, *image.Gray, *image.RGBA, *image.NRGBA, *image.Gray16,
// *image.Paletted); other types go through image.Image.At, pixel by pixel.
//
// Frames hold straight (not premultiplied) colour, as PNG files do: RGBA
// frames carry the image's alpha, RGB frames drop it. YCbCr is converted
// with the same integer arithmetic as color.YCbCrToRGB (JFIF full range), so
// a frame equals what image/draw would produce.
func ToFrame(f *ds3d.Frame, img image.Image) error {
	ch := f.Plane.BytesPerPixel
	if f.DType != ds3d.DTypeU8 || !(f.Type == ds3d.FrameColorRGB && ch == 3 || f.Type == ds3d.FrameColorRGBA && ch == 4) {
		return fmt.Errorf("frame is %s %s with %d bytes per pixel, want u8 rgb or rgba", f.Type, f.DType, ch)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w != f.Plane.Width || h != f.Plane.Height {
		return fmt.Errorf("image is %dx%d, frame is %dx%d", w, h, f.Plane.Width, f.Plane.Height)
	}
	if len(f.Data) < f.Plane.Pitch*h {
		return fmt.Errorf("frame holds %d bytes, want %d", len(f.Data), f.Plane.Pitch*h)
	}
	switch src := img.(type) {
	case *image.YCbCr:
		if fromYCbCr(f, src, ch) {
			return nil
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			in := src.Pix[y*src.Stride : y*src.Stride+w]
			out := f.Data[y*f.Plane.Pitch : y*f.Plane.Pitch+w*ch]
			for x, v := range in {
				o := out[x*ch : x*ch+ch]
				o[0], o[1], o[2] = v, v, v
				if ch == 4 {
					o[3] = 0xff
				}
			}
		}
		return nil
	case *image.Gray16:
		for y := 0; y < h; y++ {
			in := src.Pix[y*src.Stride : y*src.Stride+2*w]
			out := f.Data[y*f.Plane.Pitch : y*f.Plane.Pitch+w*ch]
			for x := 0; x < w; x++ {
				v := in[2*x] // big-endian: the high byte is the 8-bit value
				o := out[x*ch : x*ch+ch]
				o[0], o[1], o[2] = v, v, v
				if ch == 4 {
					o[3] = 0xff
				}
			}
		}
		return nil
	case *image.NRGBA:
		fromRGBA(f, src.Pix, src.Stride, w, h, ch, false)
		return nil
	case *image.RGBA:
		fromRGBA(f, src.Pix, src.Stride, w, h, ch, true)
		return nil
	case *image.Paletted:
		var lut [256][4]uint8
		for i, c := range src.Palette {
			if i == len(lut) {
				break
			}
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			lut[i] = [4]uint8{n.R, n.G, n.B, n.A}
		}
		for y := 0; y < h; y++ {
			in := src.Pix[y*src.Stride : y*src.Stride+w]
			out := f.Data[y*f.Plane.Pitch : y*f.Plane.Pitch+w*ch]
			for x, v := range in {
				copy(out[x*ch:x*ch+ch], lut[v][:ch])
			}
		}
		return nil
	}
	// Any other image type (CMYK JPEGs, 16-bit colour PNGs): slow but exact.
	for y := 0; y < h; y++ {
		out := f.Data[y*f.Plane.Pitch : y*f.Plane.Pitch+w*ch]
		for x := 0; x < w; x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			o := out[x*ch : x*ch+ch]
			o[0], o[1], o[2] = c.R, c.G, c.B
			if ch == 4 {
				o[3] = c.A
			}
		}
	}
	return nil
}

// fromRGBA copies 4-byte pixels, un-premultiplying when premul is set and a
// pixel is not opaque (PNG's *image.RGBA is always opaque, so this is a copy).
func fromRGBA(f *ds3d.Frame, pix []byte, stride, w, h, ch int, premul bool) {
	for y := 0; y < h; y++ {
		in := pix[y*stride : y*stride+4*w]
		out := f.Data[y*f.Plane.Pitch : y*f.Plane.Pitch+w*ch]
		if ch == 4 && !premul {
			copy(out, in)
			continue
		}
		for x := 0; x < w; x++ {
			p := in[4*x : 4*x+4]
			r, g, b, a := p[0], p[1], p[2], p[3]
			if premul && a != 0xff {
				if a == 0 {
					r, g, b = 0, 0, 0
				} else {
					// color.NRGBAModel's rule, on 8-bit values.
					a16 := uint32(a) * 0x101
					r = uint8((uint32(r) * 0x101 * 0xffff / a16) >> 8)
					g = uint8((uint32(g) * 0x101 * 0xffff / a16) >> 8)
					b = uint8((uint32(b) * 0x101 * 0xffff / a16) >> 8)
				}
			}
			o := out[x*ch : x*ch+ch]
			o[0], o[1], o[2] = r, g, b
			if ch == 4 {
				o[3] = a
			}
		}
	}
}

// chromaShift gives log2 of the horizontal and vertical chroma subsampling.
func chromaShift(r image.YCbCrSubsampleRatio) (sx, sy uint, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 0, 0, true
	case image.YCbCrSubsampleRatio422:
		return 1, 0, true
	case image.YCbCrSubsampleRatio420:
		return 1, 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, 1, true
	case image.YCbCrSubsampleRatio411:
		return 2, 0, true
	case image.YCbCrSubsampleRatio410:
		return 2, 1, true
	}
	return 0, 0, false
}

// fromYCbCr converts a JPEG's planes row by row with color.YCbCrToRGB's
// arithmetic (JFIF full range, 16.16 fixed point, clamped), so a frame
// equals what image/draw would produce. The chroma terms are computed once
// per chroma sample rather than per pixel. It reports false for a layout it
// does not handle (an unknown ratio, negative bounds) so that the caller
// falls back to the generic path.
func fromYCbCr(f *ds3d.Frame, src *image.YCbCr, ch int) bool {
	sx, sy, ok := chromaShift(src.SubsampleRatio)
	r := src.Rect
	if !ok || r.Min.X < 0 || r.Min.Y < 0 {
		return false
	}
	w, h := r.Dx(), r.Dy()
	cx0, cy0 := r.Min.X>>sx, r.Min.Y>>sy
	cw := (r.Max.X-1)>>sx - cx0 + 1 // chroma samples per row
	for y := 0; y < h; y++ {
		yrow := src.Y[y*src.YStride : y*src.YStride+w]
		coff := ((r.Min.Y+y)>>sy - cy0) * src.CStride
		cb := src.Cb[coff : coff+cw]
		cr := src.Cr[coff : coff+cw]
		out := f.Data[y*f.Plane.Pitch : y*f.Plane.Pitch+w*ch]
		last := -1
		var tr, tg, tb int32
		for x, yv := range yrow {
			if ci := (r.Min.X+x)>>sx - cx0; ci != last {
				cb1, cr1 := int32(cb[ci])-128, int32(cr[ci])-128
				tr, tg, tb = 91881*cr1, -22554*cb1-46802*cr1, 116130*cb1
				last = ci
			}
			yy1 := int32(yv) * 0x10101
			if ch == 3 {
				o := out[x*3 : x*3+3 : x*3+3]
				o[0], o[1], o[2] = clamp16(yy1+tr), clamp16(yy1+tg), clamp16(yy1+tb)
			} else {
				o := out[x*4 : x*4+4 : x*4+4]
				o[0], o[1], o[2], o[3] = clamp16(yy1+tr), clamp16(yy1+tg), clamp16(yy1+tb), 0xff
			}
		}
	}
	return true
}

// clamp16 turns a 16.16 fixed-point value into a byte, clamping to 0..255
// exactly as color.YCbCrToRGB does.
func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

// ToRGBA is ToFrame's reverse for encoders: it copies a u8 RGB or RGBA
// frame into dst (opaque alpha for RGB), reusing dst when it has the
// frame's size and allocating a new image otherwise, and returns it. An
// RGBA frame's bytes are copied as they are, so a frame with translucent
// pixels (straight alpha) comes out as if premultiplied; camera frames are
// opaque, and image/jpeg's fast path wants *image.RGBA.
func ToRGBA(dst *image.RGBA, f *ds3d.Frame) (*image.RGBA, error) {
	if f.DType != ds3d.DTypeU8 || (f.Type != ds3d.FrameColorRGB && f.Type != ds3d.FrameColorRGBA) {
		return dst, fmt.Errorf("image frame %s of %s: want u8 RGB or RGBA", f.Type, f.DType)
	}
	pl := f.Plane
	if pl.Width <= 0 || pl.Height <= 0 || pl.BytesPerPixel != 3 && pl.BytesPerPixel != 4 ||
		pl.Pitch*(pl.Height-1)+pl.Width*pl.BytesPerPixel > len(f.Data) {
		return dst, fmt.Errorf("image frame %dx%d (pitch %d, %d bytes per pixel) holds %d bytes", pl.Width, pl.Height, pl.Pitch, pl.BytesPerPixel, len(f.Data))
	}
	if dst == nil || dst.Rect.Dx() != pl.Width || dst.Rect.Dy() != pl.Height {
		dst = image.NewRGBA(image.Rect(0, 0, pl.Width, pl.Height))
	}
	for y := 0; y < pl.Height; y++ {
		src := f.Data[y*pl.Pitch : y*pl.Pitch+pl.Width*pl.BytesPerPixel]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+4*pl.Width]
		if pl.BytesPerPixel == 4 {
			copy(out, src)
			continue
		}
		for x := 0; x < pl.Width; x++ {
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = src[3*x], src[3*x+1], src[3*x+2], 255
		}
	}
	return dst, nil
}
