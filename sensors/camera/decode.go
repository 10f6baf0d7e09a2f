package camera

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // registers PNG with image.Decode
	"io"
	"os"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Decode decodes an encoded image (JPEG, PNG, or any format registered with
// image.RegisterFormat) and returns it with the format's name, which is set
// even when decoding fails so that errors can say which decoder gave up.
//
// This is the single place where a faster decoder (core2d/decode) will plug
// in. The standard library's decoders allocate the returned image on every
// call (image/jpeg has no decode-into API); the frame it is converted into is
// pooled, so that is the only per-frame allocation left.
func Decode(data []byte) (image.Image, string, error) {
	return image.Decode(bytes.NewReader(data))
}

// ReadFile reads a whole file into buf, growing it only when the file is
// larger than any read before, and returns the filled slice. Reusing buf
// keeps a steady loader from allocating a file-sized buffer per frame.
func ReadFile(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return buf[:0], err
	}
	if st.IsDir() {
		return buf[:0], fmt.Errorf("%s is a folder, want an image file", path)
	}
	n := int(st.Size())
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(f, buf); err != nil {
		return buf[:0], fmt.Errorf("%s: %w", path, err)
	}
	return buf, nil
}

// DecodeFile reads and decodes one image file; buf is reused as in ReadFile
// and returned for the next call. Errors name the file and the decoder.
func DecodeFile(path string, buf []byte) (image.Image, []byte, error) {
	buf, err := ReadFile(path, buf)
	if err != nil {
		return nil, buf, err
	}
	img, format, err := Decode(buf)
	if err != nil {
		if format == "" {
			return nil, buf, fmt.Errorf("%s: not a JPEG or PNG image (%w)", path, err)
		}
		return nil, buf, fmt.Errorf("%s: %s decoder: %w", path, format, err)
	}
	return img, buf, nil
}

// MaxPixels bounds the image size a header may claim (16384×16384), so that
// a corrupt or hostile header fails with an error instead of exhausting
// memory when the frame pool is sized from it.
const MaxPixels = 1 << 28

// ImageSize reads only the header of an image file and returns its size.
func ImageSize(path string) (width, height int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		if format == "" {
			return 0, 0, fmt.Errorf("%s: not a JPEG or PNG image (%w)", path, err)
		}
		return 0, 0, fmt.Errorf("%s: %s decoder: %w", path, format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return 0, 0, fmt.Errorf("%s: %s image size %dx%d is not between 1 and %d pixels", path, format, cfg.Width, cfg.Height, MaxPixels)
	}
	return cfg.Width, cfg.Height, nil
}

// NewColorFrame returns an unpooled colour frame of the given size: RGB
// (3 bytes per pixel) unless rgba is set.
func NewColorFrame(width, height int, rgba bool) (*ds3d.Frame, error) {
	ft := ds3d.FrameColorRGB
	if rgba {
		ft = ds3d.FrameColorRGBA
	}
	return ds3d.NewImageFrame(ft, ds3d.DTypeU8, width, height, 0)
}

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
		return fmt.Errorf("camera: frame is %s %s with %d bytes per pixel, want u8 rgb or rgba", f.Type, f.DType, ch)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w != f.Plane.Width || h != f.Plane.Height {
		return fmt.Errorf("camera: image is %dx%d, frame is %dx%d", w, h, f.Plane.Width, f.Plane.Height)
	}
	if len(f.Data) < f.Plane.Pitch*h {
		return fmt.Errorf("camera: frame holds %d bytes, want %d", len(f.Data), f.Plane.Pitch*h)
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
