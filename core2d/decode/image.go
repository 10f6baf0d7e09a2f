package decode

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // registers PNG with image.Decode
	"io"
	"os"

	"github.com/ds3d-go/ds3d-go/core2d/imageconv"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Decode decodes an encoded image (JPEG, PNG, or any format registered with
// image.RegisterFormat) and returns it with the format's name, which is set
// even when decoding fails so that errors can say which decoder gave up.
//
// The standard library's decoders allocate the returned image on every call
// (image/jpeg has no decode-into API); image_file_loader therefore sends
// JPEG files to JPEG (this package), which decodes into the pooled frame.
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

// ToFrame converts img into f, a u8 RGB or RGBA frame of the same size; it
// is imageconv.ToFrame (see there), kept here for existing callers, with
// errors prefixed "camera: " as before.
func ToFrame(f *ds3d.Frame, img image.Image) error {
	if err := imageconv.ToFrame(f, img); err != nil {
		return fmt.Errorf("camera: %w", err)
	}
	return nil
}
