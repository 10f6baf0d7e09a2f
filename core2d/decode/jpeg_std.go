//go:build !(cgo && turbojpeg)

package decode

import (
	"bytes"
	"image/jpeg"

	"github.com/ds3d-go/ds3d-go/core2d/imageconv"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

const jpegBackend = "image/jpeg"

// JPEG decodes JPEG images into caller-owned RGB or RGBA frames. This
// build uses the standard library's image/jpeg (build with cgo and
// -tags turbojpeg for libjpeg-turbo, about 5× faster): it has no
// decode-into API, so each image allocates its YCbCr planes once; the
// conversion into the frame allocates nothing. A JPEG is not safe for
// concurrent use; give each goroutine its own.
type JPEG struct {
	r bytes.Reader
}

// NewJPEG returns a decoder.
func NewJPEG() (*JPEG, error) { return &JPEG{}, nil }

// Close does nothing in this build; it exists for the libjpeg-turbo one.
func (d *JPEG) Close() error { return nil }

// Size reads the image size from the JPEG header; name is for messages.
func (d *JPEG) Size(name string, data []byte) (width, height int, err error) {
	if err := checkJPEG(name, data); err != nil {
		return 0, 0, err
	}
	d.r.Reset(data)
	c, err := jpeg.DecodeConfig(&d.r)
	if err != nil {
		return 0, 0, &JPEGError{Name: name, Offset: -1, Msg: "header: " + err.Error()}
	}
	return c.Width, c.Height, nil
}

// Decode decodes data into dst, a u8 RGB or RGBA frame of the image's
// size (RGBA gets alpha 255). name (the file, or file and frame) is for
// messages.
func (d *JPEG) Decode(name string, data []byte, dst *ds3d.Frame) error {
	if err := checkJPEG(name, data); err != nil {
		return err
	}
	d.r.Reset(data)
	img, err := jpeg.Decode(&d.r)
	if err != nil {
		return &JPEGError{Name: name, Offset: -1, Msg: err.Error()}
	}
	b := img.Bounds()
	if _, err := checkFrame(name, dst, b.Dx(), b.Dy()); err != nil {
		return err
	}
	if err := imageconv.ToFrame(dst, img); err != nil {
		return &JPEGError{Name: name, Offset: -1, Msg: err.Error()}
	}
	return nil
}
