package foxglove

import (
	"bytes"
	"image"
	"image/jpeg"

	"github.com/ds3d-go/ds3d-go/core2d/imageconv"
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
	var err error
	if e.rgba, err = imageconv.ToRGBA(e.rgba, f); err != nil {
		return dst, err
	}
	e.jpg.Reset()
	if err := jpeg.Encode(&e.jpg, e.rgba, &jpeg.Options{Quality: e.quality}); err != nil {
		return dst, err
	}
	return ros2.AppendCompressedImage(dst, &ros2.CompressedImage{Header: h, Format: "jpeg", Data: e.jpg.Bytes()}), nil
}
