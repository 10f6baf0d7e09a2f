//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"gorgonia.org/cu"
)

// ErrClosed is returned by every method of a closed Context.
var ErrClosed = errors.New("gpu: context closed")

// Context owns one CUDA context on one device. A CUDA context is bound to an
// OS thread, so a single goroutine, locked to its thread, owns it and runs
// every CUDA call; the methods hand it work and wait. A Context is safe for
// concurrent use (calls are serialised). Close stops the goroutine and frees
// everything it allocated.
type Context struct {
	mu     sync.RWMutex
	closed bool
	reqs   chan func()
	done   chan struct{}

	name   string
	cc     [2]int
	memMiB int64

	// Owned by the goroutine.
	ctx    cu.CUContext
	fns    map[string]cu.Function
	stream cu.Stream
	free   map[int64][]cu.DevicePtr // device pool: size class → free buffers
	sizes  map[cu.DevicePtr]int64   // every pooled buffer's class
	pinned map[unsafe.Pointer]int   // pinned host buffers → bytes
	ev0    cu.Event
	ev1    cu.Event
	evs    []cu.Event // profiling: one after each stage
	timing bool       // SetTiming
	lastMs float64    // KernelMillis
	l      launcher
}

// Open starts the goroutine owning a context on device dev and loads the
// kernels.
func Open(dev int) (*Context, error) {
	c := &Context{reqs: make(chan func()), done: make(chan struct{})}
	errc := make(chan error)
	go c.loop(dev, errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Context) loop(dev int, errc chan<- error) {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	if err := c.init(dev); err != nil {
		errc <- err
		close(c.done)
		return
	}
	errc <- nil
	for f := range c.reqs {
		f()
	}
	c.teardown()
	close(c.done)
}

func (c *Context) init(dev int) error {
	d, err := cu.GetDevice(dev)
	if err != nil {
		return fmt.Errorf("gpu: device %d: %w", dev, err)
	}
	c.name, _ = d.Name()
	c.cc[0], c.cc[1], _ = d.ComputeCapability()
	mem, _ := d.TotalMem()
	c.memMiB = mem >> 20
	if c.ctx, err = d.MakeContext(cu.SchedAuto); err != nil {
		return fmt.Errorf("gpu: context on %s: %w", c.name, err)
	}
	c.fns = map[string]cu.Function{}
	for _, m := range modules {
		mod, err := cu.LoadData(m.ptx)
		if err != nil {
			c.ctx.Destroy()
			return fmt.Errorf("gpu: loading kernels/%s.ptx: %w", m.name, err)
		}
		for _, n := range m.kernels {
			f, err := mod.Function(n)
			if err != nil {
				c.ctx.Destroy()
				return fmt.Errorf("gpu: kernel %s of %s.ptx: %w", n, m.name, err)
			}
			c.fns[n] = f
		}
	}
	if c.stream, err = cu.MakeStream(cu.NonBlocking); err != nil {
		c.ctx.Destroy()
		return err
	}
	c.ev0, _ = cu.MakeEvent(cu.DefaultEvent)
	c.ev1, _ = cu.MakeEvent(cu.DefaultEvent)
	for i := 0; i < 16; i++ {
		e, _ := cu.MakeEvent(cu.DefaultEvent)
		c.evs = append(c.evs, e)
	}
	c.l = newLauncher()
	c.free = map[int64][]cu.DevicePtr{}
	c.sizes = map[cu.DevicePtr]int64{}
	c.pinned = map[unsafe.Pointer]int{}
	return nil
}

func (c *Context) teardown() {
	c.stream.Synchronize()
	for p := range c.sizes {
		cu.MemFree(p)
	}
	for p := range c.pinned {
		memFreeHost(p)
	}
	cu.DestroyEvent(&c.ev0)
	cu.DestroyEvent(&c.ev1)
	for i := range c.evs {
		cu.DestroyEvent(&c.evs[i])
	}
	c.l.free()
	c.stream.Destroy()
	c.ctx.Destroy()
}

// do runs f on the context's goroutine and returns its error.
func (c *Context) do(f func() error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	errc := make(chan error, 1)
	c.reqs <- func() { errc <- f() }
	return <-errc
}

// Close waits for work in flight, frees all device and pinned memory and
// destroys the CUDA context. Frames still pointing at that memory are dead.
func (c *Context) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.reqs)
	c.mu.Unlock()
	<-c.done
	return nil
}

// Device describes the card: name, compute capability and memory.
func (c *Context) Device() string {
	return fmt.Sprintf("%s (sm_%d%d, %d MiB)", c.name, c.cc[0], c.cc[1], c.memMiB)
}

// sizeClass rounds n up to a power of two of at least 256 bytes.
func sizeClass(n int64) int64 {
	if n <= 256 {
		return 256
	}
	return 1 << bits.Len64(uint64(n-1))
}

// alloc takes a device buffer of at least n bytes from the pool.
func (c *Context) alloc(n int64) (cu.DevicePtr, error) {
	k := sizeClass(n)
	if l := c.free[k]; len(l) > 0 {
		p := l[len(l)-1]
		c.free[k] = l[:len(l)-1]
		return p, nil
	}
	p, err := cu.MemAlloc(k)
	if err != nil {
		return 0, fmt.Errorf("gpu: cuMemAlloc(%d): %w", k, err)
	}
	c.sizes[p] = k
	return p, nil
}

// release returns a pooled device buffer.
func (c *Context) release(p cu.DevicePtr) {
	if k, ok := c.sizes[p]; ok {
		c.free[k] = append(c.free[k], p)
	}
}

// ensure gives buf at least n bytes (keeping it when it is big enough).
func (c *Context) ensure(buf *cu.DevicePtr, n int64) error {
	if *buf != 0 && c.sizes[*buf] >= n {
		return nil
	}
	if *buf != 0 {
		c.release(*buf)
		*buf = 0
	}
	p, err := c.alloc(n)
	*buf = p
	return err
}

// ensureFrame gives a device frame room for n bytes.
func (c *Context) ensureFrame(f *ds3d.Frame, n int64) error {
	p := cu.DevicePtr(f.DevPtr)
	if f.Mem != ds3d.MemGPU {
		p = 0
	}
	if err := c.ensure(&p, n); err != nil {
		return err
	}
	f.Mem, f.DevPtr, f.Data = ds3d.MemGPU, uintptr(p), nil
	return nil
}

// NewDeviceFrame returns a frame in device memory (Mem MemGPU, DevPtr set,
// Data nil) from the context's pool. Give it back with Free.
func (c *Context) NewDeviceFrame(dt ds3d.DataType, ft ds3d.FrameType, dims ...int) (*ds3d.Frame, error) {
	f := &ds3d.Frame{DType: dt, Type: ft, Shape: ds3d.NewShape(dims...)}
	err := c.do(func() error { return c.ensureFrame(f, int64(max(f.Bytes(), 1))) })
	if err != nil {
		return nil, err
	}
	return f, nil
}

// NewPinnedFrame returns a CPU frame whose Data lives in page-locked memory
// (cuMemHostAlloc, Mem MemCPUPinned) with room for capBytes: copies to and
// from it are direct DMA and run at the bus's speed. Resize keeps the memory
// while the frame fits in capBytes. Give it back with Free.
func (c *Context) NewPinnedFrame(dt ds3d.DataType, ft ds3d.FrameType, capBytes int, dims ...int) (*ds3d.Frame, error) {
	f := &ds3d.Frame{DType: dt, Type: ft, Shape: ds3d.NewShape(dims...), Mem: ds3d.MemCPUPinned}
	if n := f.Shape.Elements() * dt.Size(); n > capBytes {
		capBytes = n
	}
	err := c.do(func() error {
		p, err := memHostAlloc(max(capBytes, 1))
		if err != nil {
			return err
		}
		c.pinned[p] = capBytes
		f.Data = unsafe.Slice((*byte)(p), max(capBytes, 1))[:f.Shape.Elements()*dt.Size()]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Free gives a device frame's buffer back to the pool, or a pinned frame's
// memory back to the driver. The frame is left empty.
func (c *Context) Free(f *ds3d.Frame) error {
	return c.do(func() error {
		switch f.Mem {
		case ds3d.MemGPU:
			c.release(cu.DevicePtr(f.DevPtr))
			f.DevPtr = 0
		case ds3d.MemCPUPinned:
			if len(f.Data) > 0 || cap(f.Data) > 0 {
				p := unsafe.Pointer(unsafe.SliceData(f.Data))
				if _, ok := c.pinned[p]; ok {
					delete(c.pinned, p)
					if err := memFreeHost(p); err != nil {
						return err
					}
				}
			}
			f.Data = nil
		}
		return nil
	})
}

// h2d copies n bytes of host memory to the device on the context's stream.
func (c *Context) h2d(dst cu.DevicePtr, src []byte, n int) error {
	if n == 0 {
		return nil
	}
	return cu.MemcpyHtoDAsync(dst, unsafe.Pointer(&src[0]), int64(n), c.stream)
}

// d2h copies n bytes from the device into dst and waits for them.
func (c *Context) d2h(dst []byte, src cu.DevicePtr, n int) error {
	if n == 0 {
		return c.stream.Synchronize()
	}
	if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), src, int64(n), c.stream); err != nil {
		return err
	}
	return c.stream.Synchronize()
}

// Upload copies a CPU frame into a device frame (dst becomes MemGPU with
// src's type and shape; its buffer is reused when big enough).
func (c *Context) Upload(dst, src *ds3d.Frame) error {
	if src.Mem == ds3d.MemGPU {
		return fmt.Errorf("gpu: Upload of a frame already on the GPU")
	}
	n := src.Bytes()
	if len(src.Data) < n {
		return fmt.Errorf("gpu: frame of shape %s holds %d of %d bytes", src.Shape, len(src.Data), n)
	}
	return c.do(func() error {
		if err := c.ensureFrame(dst, int64(max(n, 1))); err != nil {
			return err
		}
		dst.DType, dst.Type, dst.Shape, dst.Plane = src.DType, src.Type, src.Shape, src.Plane
		if err := c.h2d(cu.DevicePtr(dst.DevPtr), src.Data, n); err != nil {
			return err
		}
		return c.stream.Synchronize()
	})
}

// Download copies a device frame into a CPU frame (resized to src's shape;
// a pinned dst stays pinned while it fits).
func (c *Context) Download(dst, src *ds3d.Frame) error {
	if src.Mem != ds3d.MemGPU {
		return fmt.Errorf("gpu: Download of a %s frame", src.Mem)
	}
	dst.DType, dst.Type, dst.Plane = src.DType, src.Type, src.Plane
	if dst.Mem == ds3d.MemGPU {
		dst.Mem, dst.DevPtr, dst.Data = ds3d.MemCPU, 0, nil
	}
	dst.Resize(src.Shape.Dims()...)
	n := src.Bytes()
	return c.do(func() error { return c.d2h(dst.Data, cu.DevicePtr(src.DevPtr), n) })
}

// launch runs kernel name over n threads in blocks of block.
func (c *Context) launch(name string, n, block int, vals ...any) error {
	return c.launchGrid(name, (n+block-1)/block, 1, block, vals...)
}

// launchGrid runs kernel name over gx×gy blocks of block threads.
func (c *Context) launchGrid(name string, gx, gy, block int, vals ...any) error {
	if gx == 0 || gy == 0 {
		return nil
	}
	f, ok := c.fns[name]
	if !ok {
		return fmt.Errorf("gpu: no kernel %q in the loaded modules", name)
	}
	if err := c.l.launch(f, gx, gy, block, c.stream, vals); err != nil {
		return fmt.Errorf("gpu: %s: %w", name, err)
	}
	return nil
}

const scanTile = 1024 // SCAN_TILE of pointcloud.cu

// scanBlocks is how many tiles a scan of n items has (sums needs one more int, the total).
func scanBlocks(n int) int { return (n + scanTile - 1) / scanTile }

// checkCloud checks an [N,C≥minCols] f32 point frame.
func checkCloud(f *ds3d.Frame, minCols int) error {
	switch {
	case f.DType != ds3d.DTypeF32:
		return fmt.Errorf("gpu: frame of %s, want f32", f.DType)
	case f.Shape.NumDims != 2 || f.Shape.D[1] < minCols:
		return fmt.Errorf("gpu: frame shape %s, want [N,C] with C ≥ %d", f.Shape, minCols)
	case f.Mem == ds3d.MemGPU && f.DevPtr == 0 && f.Shape.D[0] > 0:
		return fmt.Errorf("gpu: GPU frame without device memory")
	case f.Mem != ds3d.MemGPU && len(f.Data) < f.Shape.Elements()*4:
		return fmt.Errorf("gpu: frame of shape %s holds only %d bytes", f.Shape, len(f.Data))
	case f.Shape.D[0] > math.MaxInt32/f.Shape.D[1]:
		return fmt.Errorf("gpu: %d points are too many", f.Shape.D[0])
	}
	return nil
}

func unsafePtr(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
