package decode

import (
	"errors"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// DecodeFrame decodes frame k into dst (a u8 RGB or RGBA frame of the
// video's size) with d, reading the JPEG into buf (grown as needed and
// returned for the next call). In steady state, with the libjpeg-turbo
// build, it allocates nothing. A corrupt frame is a *JPEGError naming the
// file and frame, its offset given in the file.
func (a *AVI) DecodeFrame(k int, d *JPEG, dst *ds3d.Frame, buf []byte) ([]byte, error) {
	b, err := a.FrameJPEG(k, buf)
	if err != nil {
		return buf, err
	}
	if err := d.Decode("", b, dst); err != nil {
		var je *JPEGError
		if errors.As(err, &je) {
			je.Name = fmt.Sprintf("%s frame %d", a.Path, k)
			if je.Offset >= 0 {
				je.Offset += a.frames[k].off
			}
			return b, je
		}
		return b, fmt.Errorf("avi %s: frame %d: %w", a.Path, k, err)
	}
	return b, nil
}
