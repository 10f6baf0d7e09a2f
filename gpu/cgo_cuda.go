//go:build cuda

package gpu

// #cgo LDFLAGS: -lcuda
// #include <cuda.h>
// #include <stdlib.h>
// static CUresult launch2d(CUfunction f, unsigned gx, unsigned gy, unsigned block, CUstream s, void **params) {
//   return cuLaunchKernel(f, gx, gy, 1, block, 1, 1, 0, s, params, NULL);
// }
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// cu v0.9.6 has cuMemFreeHost but no cuMemHostAlloc: call it directly.
func memHostAlloc(n int) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	if r := C.cuMemHostAlloc(&p, C.size_t(n), 0); r != C.CUDA_SUCCESS {
		return nil, fmt.Errorf("gpu: cuMemHostAlloc(%d): CUDA error %d", n, int(r))
	}
	return p, nil
}

func memFreeHost(p unsafe.Pointer) error {
	if r := C.cuMemFreeHost(p); r != C.CUDA_SUCCESS {
		return fmt.Errorf("gpu: cuMemFreeHost: CUDA error %d", int(r))
	}
	return nil
}

const maxArgs = 32

// launcher launches kernels with their parameters in one C block allocated
// once (cu's Function.Launch mallocs and frees two blocks per launch). Used
// only by the context's goroutine. cuLaunchKernel copies the parameters, so
// the block is reused at once.
type launcher struct {
	argv *[maxArgs]uint64         // parameter values, 8-byte slots
	argp *[maxArgs]unsafe.Pointer // argp[i] = &argv[i]
}

func newLauncher() launcher {
	l := launcher{
		argv: (*[maxArgs]uint64)(C.calloc(maxArgs, 8)),
		argp: (*[maxArgs]unsafe.Pointer)(C.calloc(maxArgs, C.size_t(unsafe.Sizeof(unsafe.Pointer(nil))))),
	}
	for i := range l.argp {
		l.argp[i] = unsafe.Pointer(&l.argv[i])
	}
	return l
}

func (l launcher) free() {
	C.free(unsafe.Pointer(l.argv))
	C.free(unsafe.Pointer(l.argp))
}

// launch runs f over gx×gy blocks of block threads on stream s. cu.Function
// and cu.Stream each wrap one driver handle (their only field), which is
// read here as the C handle.
func (l launcher) launch(f cu.Function, gx, gy, block int, s cu.Stream, vals []any) error {
	if len(vals) > maxArgs {
		return fmt.Errorf("gpu: %d kernel arguments", len(vals))
	}
	for i, v := range vals {
		p := unsafe.Pointer(&l.argv[i])
		l.argv[i] = 0
		switch x := v.(type) {
		case int:
			*(*int32)(p) = int32(x)
		case int32:
			*(*int32)(p) = x
		case float32:
			*(*float32)(p) = x
		case float64:
			*(*float64)(p) = x
		case int64:
			*(*int64)(p) = x
		case uint64:
			*(*uint64)(p) = x
		case cu.DevicePtr:
			*(*uint64)(p) = uint64(x)
		default:
			return fmt.Errorf("gpu: kernel argument of type %T", v)
		}
	}
	fn := *(*C.CUfunction)(unsafe.Pointer(&f))
	st := *(*C.CUstream)(unsafe.Pointer(&s))
	if r := C.launch2d(fn, C.uint(gx), C.uint(gy), C.uint(block), st, &l.argp[0]); r != C.CUDA_SUCCESS {
		return fmt.Errorf("CUDA error %d", int(r))
	}
	return nil
}
