package source

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// decodeOther decodes a non-JPEG image (PNG) with the standard library
// and converts it into f.
func decodeOther(path string, data []byte, f *ds3d.Frame) error {
	img, format, err := decode.Decode(data)
	if err != nil {
		if format == "" {
			return fmt.Errorf("%s: not a JPEG or PNG image (%w)", path, err)
		}
		return fmt.Errorf("%s: %s decoder: %w", path, format, err)
	}
	b := img.Bounds()
	if b.Dx() != f.Plane.Width || b.Dy() != f.Plane.Height {
		return fmt.Errorf("%s is %dx%d but the sequence's images are %dx%d; the size must not change mid-sequence", path, b.Dx(), b.Dy(), f.Plane.Width, f.Plane.Height)
	}
	if err := decode.ToFrame(f, img); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
