package foxglove

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// imageEncoder turns u8 RGB or RGBA frames into JPEG CompressedImage
// messages, keeping its RGBA staging image and output buffer between
// frames (the JPEG encoder itself allocates per call).
type imageEncoder struct {
	quality int
	rgba    *image.RGBA
	jpg     bytes.Buffer
}

func (e *imageEncoder) appendCompressed(dst []byte, h ros2.Header, f *ds3d.Frame) ([]byte, error) {
	if f.DType != ds3d.DTypeU8 || (f.Type != ds3d.FrameColorRGB && f.Type != ds3d.FrameColorRGBA) {
		return dst, fmt.Errorf("image frame %s of %s: want u8 RGB or RGBA", f.Type, f.DType)
	}
	pl := f.Plane
	if pl.Width <= 0 || pl.Height <= 0 || pl.Pitch*(pl.Height-1)+pl.Width*pl.BytesPerPixel > len(f.Data) {
		return dst, fmt.Errorf("image frame %dx%d (pitch %d) holds %d bytes", pl.Width, pl.Height, pl.Pitch, len(f.Data))
	}
	if e.rgba == nil || e.rgba.Rect.Dx() != pl.Width || e.rgba.Rect.Dy() != pl.Height {
		e.rgba = image.NewRGBA(image.Rect(0, 0, pl.Width, pl.Height))
	}
	for y := 0; y < pl.Height; y++ {
		src := f.Data[y*pl.Pitch : y*pl.Pitch+pl.Width*pl.BytesPerPixel]
		out := e.rgba.Pix[y*e.rgba.Stride : y*e.rgba.Stride+4*pl.Width]
		if pl.BytesPerPixel == 4 {
			copy(out, src)
			continue
		}
		for x := 0; x < pl.Width; x++ {
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = src[3*x], src[3*x+1], src[3*x+2], 255
		}
	}
	e.jpg.Reset()
	if err := jpeg.Encode(&e.jpg, e.rgba, &jpeg.Options{Quality: e.quality}); err != nil {
		return dst, err
	}
	return ros2.AppendCompressedImage(dst, &ros2.CompressedImage{Header: h, Format: "jpeg", Data: e.jpg.Bytes()}), nil
}
