package foxglove

import (
	"bytes"
	"image"
	"image/jpeg"

	"github.com/ds3d-go/ds3d-go/core2d/imageconv"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// imageEncoder turns u8 RGB or RGBA frames into JPEG, keeping its RGBA
// staging image and output buffer between frames (the JPEG encoder itself
// allocates per call).
type imageEncoder struct {
	quality int
	rgba    *image.RGBA
	jpg     bytes.Buffer
}

// encode returns f as JPEG, valid until the next call.
func (e *imageEncoder) encode(f *ds3d.Frame) ([]byte, error) {
	var err error
	if e.rgba, err = imageconv.ToRGBA(e.rgba, f); err != nil {
		return nil, err
	}
	e.jpg.Reset()
	if err := jpeg.Encode(&e.jpg, e.rgba, &jpeg.Options{Quality: e.quality}); err != nil {
		return nil, err
	}
	return e.jpg.Bytes(), nil
}
