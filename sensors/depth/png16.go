package depth

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngHeader returns a PNG's size, bit depth and colour type from its IHDR
// chunk, which the PNG spec requires to come first.
func pngHeader(data []byte) (w, h int, bitDepth, colorType byte, err error) {
	if len(data) < 33 || !bytes.Equal(data[:8], pngSignature) {
		return 0, 0, 0, 0, fmt.Errorf("not a PNG file (two-column association files list depth first, then colour)")
	}
	if string(data[12:16]) != "IHDR" || binary.BigEndian.Uint32(data[8:12]) != 13 {
		return 0, 0, 0, 0, fmt.Errorf("PNG does not start with an IHDR chunk")
	}
	w, h = int(binary.BigEndian.Uint32(data[16:20])), int(binary.BigEndian.Uint32(data[20:24]))
	return w, h, data[24], data[25], nil
}

var pngColorTypes = map[byte]string{0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}

// checkDepthPNG reads the header and refuses anything but 16-bit grayscale:
// an 8-bit depth PNG would hold units of 1/depth_scale m only up to 255,
// which is a conversion mistake upstream, not a depth map.
func checkDepthPNG(data []byte) (w, h int, err error) {
	w, h, bd, ct, err := pngHeader(data)
	if err != nil {
		return 0, 0, err
	}
	if bd != 16 || ct != 0 {
		name := pngColorTypes[ct]
		if name == "" {
			name = fmt.Sprintf("colour type %d", ct)
		}
		return 0, 0, fmt.Errorf("depth PNG is %d-bit %s; want 16-bit grayscale", bd, name)
	}
	if w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("depth PNG size %dx%d", w, h)
	}
	return w, h, nil
}

// decodeDepth decodes a 16-bit grayscale PNG into f, a u16 [H,W] depth frame
// of the same size. image/png allocates an *image.Gray16 per call; the frame
// is the caller's (pooled) one.
func decodeDepth(f *ds3d.Frame, data []byte) error {
	w, h, err := checkDepthPNG(data)
	if err != nil {
		return err
	}
	if w != f.Plane.Width || h != f.Plane.Height {
		return fmt.Errorf("depth PNG is %dx%d, frame is %dx%d", w, h, f.Plane.Width, f.Plane.Height)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("png decoder: %w", err)
	}
	g, ok := img.(*image.Gray16)
	if !ok {
		// A tRNS chunk makes image/png return NRGBA64: transparency is not depth.
		return fmt.Errorf("depth PNG decodes to %T (transparency?); want plain 16-bit grayscale", img)
	}
	out := ds3d.AsUint16(f)
	pitch := f.Plane.Pitch / 2
	for y := 0; y < h; y++ {
		in := g.Pix[y*g.Stride : y*g.Stride+2*w]
		row := out[y*pitch : y*pitch+w]
		for x := range row {
			row[x] = uint16(in[2*x])<<8 | uint16(in[2*x+1]) // PNG samples are big-endian
		}
	}
	return nil
}
