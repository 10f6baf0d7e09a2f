package decode

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// JPEGError is a JPEG that could not be decoded: the image's name (file,
// or file and frame), the byte offset the problem was found at (-1 when the
// decoder does not say) and what was wrong.
type JPEGError struct {
	Name   string
	Offset int64
	Msg    string
}

func (e *JPEGError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("jpeg %s: %s", e.Name, e.Msg)
	}
	return fmt.Sprintf("jpeg %s: offset %d: %s", e.Name, e.Offset, e.Msg)
}

// JPEGBackend names the decoder this build uses: "libjpeg-turbo" (cgo and
// the turbojpeg build tag) or "image/jpeg".
const JPEGBackend = jpegBackend

// checkJPEG walks the marker segments of data up to the first scan and
// checks that the data ends with an EOI marker, so that a truncated or
// mangled file is reported with the offset where it goes wrong — neither
// decoder says where. It does not allocate unless it fails.
func checkJPEG(name string, data []byte) error {
	bad := func(off int, format string, args ...any) error {
		return &JPEGError{Name: name, Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) < 4 {
		return bad(0, "%d bytes is too short for a JPEG", len(data))
	}
	if data[0] != 0xff || data[1] != 0xd8 {
		return bad(0, "no SOI marker: starts % x, want ff d8", data[:2])
	}
	off := 2
	for {
		// Markers may be preceded by fill bytes 0xff.
		for off < len(data) && data[off] == 0xff && off+1 < len(data) && data[off+1] == 0xff {
			off++
		}
		if off+4 > len(data) {
			return bad(off, "truncated: data ends (at byte %d) before the first scan", len(data))
		}
		if data[off] != 0xff {
			return bad(off, "want a marker (ff xx) before the first scan, got % x", data[off:off+2])
		}
		m := data[off+1]
		n := int(data[off+2])<<8 | int(data[off+3])
		if n < 2 {
			return bad(off, "marker ff %02x has segment length %d, want ≥ 2", m, n)
		}
		if off+2+n > len(data) {
			return bad(off, "truncated: marker ff %02x segment of %d bytes runs past the end of the data (%d bytes)", m, n, len(data))
		}
		off += 2 + n
		if m == 0xda { // SOS: entropy-coded data follows
			break
		}
	}
	// EOI, possibly followed by padding (MJPEG chunks are word-aligned and
	// some cameras pad frames with zeros).
	end := len(data)
	for end > off && end > len(data)-64 && (data[end-1] == 0 || data[end-1] == 0xff && !(end >= 2 && data[end-2] == 0xff)) {
		end--
	}
	if end-off < 2 || data[end-2] != 0xff || data[end-1] != 0xd9 {
		return bad(len(data), "truncated: no EOI marker (ff d9) at the end of the data; the scan starts at byte %d", off)
	}
	return nil
}

// checkFrame checks that dst is a CPU u8 RGB or RGBA frame of w×h.
func checkFrame(name string, dst *ds3d.Frame, w, h int) (rgba bool, err error) {
	ch := dst.Plane.BytesPerPixel
	switch {
	case dst.DType != ds3d.DTypeU8 || !(dst.Type == ds3d.FrameColorRGB && ch == 3 || dst.Type == ds3d.FrameColorRGBA && ch == 4):
		return false, fmt.Errorf("jpeg %s: frame is %s %s with %d bytes per pixel, want u8 rgb or rgba", name, dst.Type, dst.DType, ch)
	case dst.Mem == ds3d.MemGPU:
		return false, fmt.Errorf("jpeg %s: frame is in %s memory, want CPU", name, dst.Mem)
	case dst.Plane.Width != w || dst.Plane.Height != h:
		return false, fmt.Errorf("jpeg %s: image is %dx%d, frame is %dx%d", name, w, h, dst.Plane.Width, dst.Plane.Height)
	case len(dst.Data) < dst.Plane.Pitch*(h-1)+w*ch:
		return false, fmt.Errorf("jpeg %s: frame holds %d bytes, want %d", name, len(dst.Data), dst.Plane.Pitch*h)
	}
	return ch == 4, nil
}
