//go:build cuda

package gpuinfer

// The CUDA driver API through cgo, against the CUDA 11.8 header and link
// stub (gpu/fetch-cuda-stub.sh). gorgonia.org/cu v0.9.6 has no stream
// capture, cuGraphInstantiate or cuGraphLaunch, so this package calls the
// driver directly for everything; it does not import cu.

// #cgo LDFLAGS: -lcuda
// #include <cuda.h>
// #include <stdlib.h>
// #include <string.h>
// static CUresult launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned block, CUstream s, void **params) {
//   return cuLaunchKernel(f, gx, gy, gz, block, 1, 1, 0, s, params, NULL);
// }
// static CUresult load_module(CUmodule *m, const char *ptx, char *log, size_t logSize) {
//   CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
//   void *vals[2] = {log, (void *)logSize};
//   return cuModuleLoadDataEx(m, ptx, 2, opts, vals);
// }
// static CUresult graph_instantiate(CUgraphExec *e, CUgraph g) { return cuGraphInstantiateWithFlags(e, g, 0); }
import "C"

import (
	"fmt"
	"unsafe"
)

func check(what string, r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	var name, desc *C.char
	C.cuGetErrorName(r, &name)
	C.cuGetErrorString(r, &desc)
	n, d := "?", "?"
	if name != nil {
		n = C.GoString(name)
	}
	if desc != nil {
		d = C.GoString(desc)
	}
	return fmt.Errorf("gpuinfer: %s: %s (%d): %s", what, n, int(r), d)
}

// device is the driver state of one Session: the device's primary context
// (shared with other users of the device in the process), the module, one
// stream and two events.
type device struct {
	dev    C.CUdevice
	ctx    C.CUcontext
	mod    C.CUmodule
	stream C.CUstream
	ev0    C.CUevent
	ev1    C.CUevent
	name   string
	cc     [2]int
}

func openDevice(ordinal int, ptx string) (*device, error) {
	d := &device{}
	if err := check("cuInit", C.cuInit(0)); err != nil {
		return nil, err
	}
	if err := check("cuDeviceGet", C.cuDeviceGet(&d.dev, C.int(ordinal))); err != nil {
		return nil, err
	}
	var buf [256]C.char
	C.cuDeviceGetName(&buf[0], 256, d.dev)
	d.name = C.GoString(&buf[0])
	var maj, mnr C.int
	C.cuDeviceGetAttribute(&maj, C.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d.dev)
	C.cuDeviceGetAttribute(&mnr, C.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d.dev)
	d.cc = [2]int{int(maj), int(mnr)}
	if d.cc[0] < 8 {
		return nil, fmt.Errorf("gpuinfer: %s is sm_%d%d; the kernels need sm_80 or newer (mma.sync TF32/FP16)", d.name, d.cc[0], d.cc[1])
	}
	if err := check("cuDevicePrimaryCtxRetain", C.cuDevicePrimaryCtxRetain(&d.ctx, d.dev)); err != nil {
		return nil, err
	}
	if err := d.current(); err != nil {
		C.cuDevicePrimaryCtxRelease(d.dev)
		return nil, err
	}
	cptx := C.CString(ptx)
	defer C.free(unsafe.Pointer(cptx))
	log := (*C.char)(C.calloc(8192, 1))
	defer C.free(unsafe.Pointer(log))
	if r := C.load_module(&d.mod, cptx, log, 8192); r != C.CUDA_SUCCESS {
		err := check("loading kernels/gpuinfer.ptx", r)
		C.cuDevicePrimaryCtxRelease(d.dev)
		return nil, fmt.Errorf("%w: %s", err, C.GoString(log))
	}
	if err := check("cuStreamCreate", C.cuStreamCreate(&d.stream, C.CU_STREAM_NON_BLOCKING)); err != nil {
		d.close()
		return nil, err
	}
	C.cuEventCreate(&d.ev0, C.CU_EVENT_DEFAULT)
	C.cuEventCreate(&d.ev1, C.CU_EVENT_DEFAULT)
	return d, nil
}

// current makes the context current on the calling OS thread (callers
// hold runtime.LockOSThread for the whole CUDA sequence).
func (d *device) current() error { return check("cuCtxSetCurrent", C.cuCtxSetCurrent(d.ctx)) }

func (d *device) close() {
	if d.stream != nil {
		C.cuStreamSynchronize(d.stream)
		C.cuStreamDestroy(d.stream)
	}
	if d.ev0 != nil {
		C.cuEventDestroy(d.ev0)
		C.cuEventDestroy(d.ev1)
	}
	if d.mod != nil {
		C.cuModuleUnload(d.mod)
	}
	C.cuDevicePrimaryCtxRelease(d.dev)
}

func (d *device) function(name string) (C.CUfunction, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var f C.CUfunction
	if err := check("kernel "+name, C.cuModuleGetFunction(&f, d.mod, cn)); err != nil {
		return nil, err
	}
	return f, nil
}

func memAlloc(n int64) (C.CUdeviceptr, error) {
	var p C.CUdeviceptr
	err := check(fmt.Sprintf("cuMemAlloc(%d)", n), C.cuMemAlloc(&p, C.size_t(max(n, 256))))
	return p, err
}

func memFree(p C.CUdeviceptr) {
	if p != 0 {
		C.cuMemFree(p)
	}
}

func hostAlloc(n int) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := check(fmt.Sprintf("cuMemHostAlloc(%d)", n), C.cuMemHostAlloc(&p, C.size_t(max(n, 4)), 0))
	return p, err
}

func hostFree(p unsafe.Pointer) {
	if p != nil {
		C.cuMemFreeHost(p)
	}
}

func upload(dst C.CUdeviceptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return check("cuMemcpyHtoD", C.cuMemcpyHtoD(dst, unsafe.Pointer(&src[0]), C.size_t(len(src))))
}

// cLaunch is one launch with its parameters in C memory (slots of 8 bytes
// and the pointer array cuLaunchKernel reads).
type cLaunch struct {
	f     C.CUfunction
	grid  [3]C.uint
	block C.uint
	vals  *C.uint64_t
	ptrs  *unsafe.Pointer
}

func newCLaunch(f C.CUfunction, grid [3]int, block int, slots []uint64) cLaunch {
	n := max(len(slots), 1)
	l := cLaunch{f: f, grid: [3]C.uint{C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2])}, block: C.uint(block)}
	l.vals = (*C.uint64_t)(C.calloc(C.size_t(n), 8))
	l.ptrs = (*unsafe.Pointer)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(unsafe.Pointer(nil)))))
	vs := unsafe.Slice(l.vals, n)
	ps := unsafe.Slice(l.ptrs, n)
	for i, v := range slots {
		vs[i] = C.uint64_t(v)
		ps[i] = unsafe.Pointer(&vs[i])
	}
	return l
}

func (l *cLaunch) free() {
	C.free(unsafe.Pointer(l.vals))
	C.free(unsafe.Pointer(l.ptrs))
}

func (l *cLaunch) run(s C.CUstream) C.CUresult {
	return C.launch(l.f, l.grid[0], l.grid[1], l.grid[2], l.block, s, l.ptrs)
}

// graph is an instantiated CUDA graph of the launches.
type graph struct {
	g    C.CUgraph
	exec C.CUgraphExec
}

func (d *device) capture(ls []cLaunch) (*graph, error) {
	if err := check("cuStreamBeginCapture", C.cuStreamBeginCapture(d.stream, C.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)); err != nil {
		return nil, err
	}
	var first error
	for i := range ls {
		if r := ls[i].run(d.stream); r != C.CUDA_SUCCESS && first == nil {
			first = check(fmt.Sprintf("launch %d during capture", i), r)
		}
	}
	g := &graph{}
	if err := check("cuStreamEndCapture", C.cuStreamEndCapture(d.stream, &g.g)); err != nil {
		return nil, err
	}
	if first != nil {
		C.cuGraphDestroy(g.g)
		return nil, first
	}
	if err := check("cuGraphInstantiate", C.graph_instantiate(&g.exec, g.g)); err != nil {
		C.cuGraphDestroy(g.g)
		return nil, err
	}
	return g, nil
}

func (g *graph) destroy() {
	if g == nil {
		return
	}
	C.cuGraphExecDestroy(g.exec)
	C.cuGraphDestroy(g.g)
}
