//go:build cgo && turbojpeg

package decode

/*
#cgo LDFLAGS: -lturbojpeg
#include <turbojpeg.h>
#include <stdlib.h>

// Wrappers take the buffers as uintptr-free pointers; the Go side passes
// pointers to Go memory that holds no Go pointers, which cgo allows for
// the duration of the call.
static int ds3d_tj_header(tjhandle h, const unsigned char *buf, unsigned long n, int *w, int *ht) {
	int sub, cs;
	return tjDecompressHeader3(h, buf, n, w, ht, &sub, &cs);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

const jpegBackend = "libjpeg-turbo"

// JPEG decodes JPEG images with libjpeg-turbo (TurboJPEG API) into
// caller-owned RGB or RGBA frames. It holds one decompressor handle, reused
// for every image: steady-state decoding allocates nothing. A JPEG is not
// safe for concurrent use; give each goroutine its own.
type JPEG struct {
	h       C.tjhandle
	dims    *C.int // width, height: C memory, so the header call needs no escaping Go variables
	cleanup runtime.Cleanup
}

// NewJPEG returns a decoder; Close frees its handle (a garbage-collected
// decoder frees it too).
func NewJPEG() (*JPEG, error) {
	h := C.tjInitDecompress()
	if h == nil {
		return nil, fmt.Errorf("jpeg: libjpeg-turbo: tjInitDecompress: %s", C.GoString(C.tjGetErrorStr2(nil)))
	}
	d := &JPEG{h: h, dims: (*C.int)(C.calloc(2, C.size_t(unsafe.Sizeof(C.int(0)))))}
	d.cleanup = runtime.AddCleanup(d, freeJPEG, jpegRes{h, d.dims})
	return d, nil
}

type jpegRes struct {
	h    C.tjhandle
	dims *C.int
}

func freeJPEG(r jpegRes) {
	C.tjDestroy(r.h)
	C.free(unsafe.Pointer(r.dims))
}

// Close frees the decompressor.
func (d *JPEG) Close() error {
	if d.h != nil {
		d.cleanup.Stop()
		freeJPEG(jpegRes{d.h, d.dims})
		d.h, d.dims = nil, nil
	}
	return nil
}

// Size reads the image size from the JPEG header; name is for messages.
func (d *JPEG) Size(name string, data []byte) (width, height int, err error) {
	if err := checkJPEG(name, data); err != nil {
		return 0, 0, err
	}
	wh := unsafe.Slice(d.dims, 2)
	if C.ds3d_tj_header(d.h, (*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), &wh[0], &wh[1]) != 0 {
		return 0, 0, &JPEGError{Name: name, Offset: -1, Msg: "header: " + C.GoString(C.tjGetErrorStr2(d.h))}
	}
	return int(wh[0]), int(wh[1]), nil
}

// Decode decodes data into dst, a u8 RGB or RGBA frame of the image's
// size (RGBA gets alpha 255). name (the file, or file and frame) is for
// messages. libjpeg-turbo's warnings — a premature end of data, corrupt
// entropy data — are errors here: a frame with grey bands is not passed on.
func (d *JPEG) Decode(name string, data []byte, dst *ds3d.Frame) error {
	w, h, err := d.Size(name, data)
	if err != nil {
		return err
	}
	rgba, err := checkFrame(name, dst, w, h)
	if err != nil {
		return err
	}
	pf := C.int(C.TJPF_RGB)
	if rgba {
		pf = C.TJPF_RGBA
	}
	if C.tjDecompress2(d.h, (*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		(*C.uchar)(unsafe.Pointer(&dst.Data[0])), C.int(w), C.int(dst.Plane.Pitch), C.int(h), pf, 0) != 0 {
		kind := "error"
		if C.tjGetErrorCode(d.h) == C.TJERR_WARNING {
			kind = "corrupt data"
		}
		return &JPEGError{Name: name, Offset: -1, Msg: kind + ": " + C.GoString(C.tjGetErrorStr2(d.h))}
	}
	return nil
}
