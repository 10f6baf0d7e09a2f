//go:build cuda

package gpu

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/align"
	"github.com/ds3d-go/ds3d-go/filters/depth2point"
	"gorgonia.org/cu"
)

// scratch collects pooled device buffers that one call borrows and gives
// back when it ends. Used only on the context's goroutine.
type scratch struct {
	c    *Context
	bufs []cu.DevicePtr
}

func (s *scratch) get(n int64) (cu.DevicePtr, error) {
	p, err := s.c.alloc(max(n, 1))
	if err == nil {
		s.bufs = append(s.bufs, p)
	}
	return p, err
}

func (s *scratch) release() {
	for _, p := range s.bufs {
		s.c.release(p)
	}
	s.bufs = s.bufs[:0]
}

// input returns the device address of the first n bytes of src: its own
// for a device frame, else a scratch copy.
func (s *scratch) input(src *ds3d.Frame, n int) (cu.DevicePtr, error) {
	if src.Mem == ds3d.MemGPU {
		return cu.DevicePtr(src.DevPtr), nil
	}
	p, err := s.get(int64(n))
	if err != nil {
		return 0, err
	}
	return p, s.c.h2d(p, src.Data, n)
}

// output returns where a kernel writes n bytes of dst: dst's own device
// buffer (pooled, kept when big enough) when dev, else scratch whose bytes
// finish copies into dst.
func (s *scratch) output(dst *ds3d.Frame, dev bool, n int) (cu.DevicePtr, error) {
	if dev {
		if err := s.c.ensureFrame(dst, int64(max(n, 1))); err != nil {
			return 0, err
		}
		return cu.DevicePtr(dst.DevPtr), nil
	}
	return s.get(int64(n))
}

// finish gives dst its type and shape; for a CPU dst it copies the result
// down from buf (a dst that was a device frame becomes a CPU frame and its
// buffer goes back to the pool) and waits for the stream.
func (s *scratch) finish(dst *ds3d.Frame, dev bool, buf cu.DevicePtr, dt ds3d.DataType, ft ds3d.FrameType, dims ...int) error {
	dst.DType, dst.Type, dst.Plane = dt, ft, ds3d.Plane{}
	if dev {
		dst.Shape = ds3d.NewShape(dims...)
		return nil
	}
	if dst.Mem == ds3d.MemGPU {
		s.c.release(cu.DevicePtr(dst.DevPtr))
		dst.Mem, dst.DevPtr, dst.Data = ds3d.MemCPU, 0, nil
	}
	dst.Resize(dims...)
	if len(dst.Data) == 0 {
		return nil
	}
	return cu.MemcpyDtoHAsync(unsafePtr(dst.Data), buf, int64(len(dst.Data)), s.c.stream)
}

// readInt copies one int32 down and waits for the stream (and so for every
// copy queued before it).
func (c *Context) readInt(p cu.DevicePtr) (int, error) {
	var b [4]byte
	if err := c.d2h(b[:], p, 4); err != nil {
		return 0, err
	}
	return int(int32(binary.LittleEndian.Uint32(b[:]))), nil
}

// SetTiming makes DepthMap, Project, Unproject, Letterbox and NMS.Run record
// CUDA events around their kernels (not the copies); KernelMillis then
// returns the device time of the last such call.
func (c *Context) SetTiming(on bool) { c.do(func() error { c.timing = on; return nil }) }

// KernelMillis is the kernels' device time of the last timed call.
func (c *Context) KernelMillis() float64 {
	var ms float64
	c.do(func() error { ms = c.lastMs; return nil })
	return ms
}

func (c *Context) tic() error {
	if !c.timing {
		return nil
	}
	return c.ev0.Record(c.stream)
}

func (c *Context) toc() error {
	if !c.timing {
		return nil
	}
	return c.ev1.Record(c.stream)
}

// elapsed reads the last tic/toc interval (the stream must have passed toc).
func (c *Context) elapsed() error {
	if !c.timing {
		return nil
	}
	if err := c.ev1.Synchronize(); err != nil {
		return err
	}
	ms, err := c.ev0.Elapsed(c.ev1)
	c.lastMs = ms
	return err
}

func camArgs(cam *align.Camera) []any {
	a := make([]any, 12)
	for i, v := range cam.M {
		a[i] = v
	}
	return a
}

// DepthMap is align.Camera.DepthMap on the GPU: the sparse depth map of
// the [N,C≥3] f32 points src seen by cam, as a [H,W] f32 FrameDepth frame in
// dst (tightly packed; 0 where no point lands; else the smallest depth),
// and the number of points that landed. The per-point arithmetic is the
// CPU's, float32 op for op; the z-buffer is an atomicMin on the depth's
// bits, whose result does not depend on the order the points arrive in, so
// the map is bit-identical to the CPU's. A device src gives a device dst;
// a CPU src is copied up and the map comes back into a CPU dst.
func (c *Context) DepthMap(dst, src *ds3d.Frame, cam *align.Camera) (int, error) {
	if err := checkCloud(src, 3); err != nil {
		return 0, err
	}
	W, H := cam.Intrinsics.Width, cam.Intrinsics.Height
	if W <= 0 || H <= 0 || W*H > math.MaxInt32 {
		return 0, fmt.Errorf("gpu: depth map of %dx%d pixels", W, H)
	}
	n, cols := src.Shape.D[0], src.Shape.D[1]
	dev := src.Mem == ds3d.MemGPU
	fw := float32(W) * (1 + 1e-6) // align.Camera.DepthMap's pre-test bound
	landed := 0
	err := c.do(func() error {
		s := scratch{c: c}
		defer s.release()
		pts, err := s.input(src, n*cols*4)
		if err != nil {
			return err
		}
		out, err := s.output(dst, dev, W*H*4)
		if err != nil {
			return err
		}
		cnt, err := s.get(4)
		if err != nil {
			return err
		}
		if err := c.tic(); err != nil {
			return err
		}
		if err := cu.MemsetD32Async(out, 0xffffffff, int64(W*H), c.stream); err != nil {
			return err
		}
		if err := cu.MemsetD32Async(cnt, 0, 1, c.stream); err != nil {
			return err
		}
		args := append(append([]any{pts, n, cols}, camArgs(cam)...), W, H, fw, out, cnt)
		if err := c.launch("proj_depth", n, 256, args...); err != nil {
			return err
		}
		if err := c.launch("proj_finish", W*H, 256, out, W*H); err != nil {
			return err
		}
		if err := c.toc(); err != nil {
			return err
		}
		if err := s.finish(dst, dev, out, ds3d.DTypeF32, ds3d.FrameDepth, H, W); err != nil {
			return err
		}
		if landed, err = c.readInt(cnt); err != nil {
			return err
		}
		return c.elapsed()
	})
	if err == nil {
		dst.Plane = ds3d.Plane{Width: W, Height: H, Pitch: W * 4, BytesPerPixel: 4}
	}
	return landed, err
}

// Project is align.Camera.Project on the GPU: uvd becomes [N,3] f32 with
// (u/w, v/w, w) for each point that lands in cam's image and (NaN, NaN,
// NaN) for the others, bit-identical to the CPU; it returns how many land.
func (c *Context) Project(uvd, src *ds3d.Frame, cam *align.Camera) (int, error) {
	if err := checkCloud(src, 3); err != nil {
		return 0, err
	}
	W, H := cam.Intrinsics.Width, cam.Intrinsics.Height
	n, cols := src.Shape.D[0], src.Shape.D[1]
	dev := src.Mem == ds3d.MemGPU
	landed := 0
	err := c.do(func() error {
		s := scratch{c: c}
		defer s.release()
		pts, err := s.input(src, n*cols*4)
		if err != nil {
			return err
		}
		out, err := s.output(uvd, dev, n*12)
		if err != nil {
			return err
		}
		cnt, err := s.get(4)
		if err != nil {
			return err
		}
		if err := c.tic(); err != nil {
			return err
		}
		if err := cu.MemsetD32Async(cnt, 0, 1, c.stream); err != nil {
			return err
		}
		args := append(append([]any{pts, n, cols}, camArgs(cam)...), W, H, out, cnt)
		if err := c.launch("proj_uvd", n, 256, args...); err != nil {
			return err
		}
		if err := c.toc(); err != nil {
			return err
		}
		if err := s.finish(uvd, dev, out, ds3d.DTypeF32, ds3d.FramePointCoord, n, 3); err != nil {
			return err
		}
		if landed, err = c.readInt(cnt); err != nil {
			return err
		}
		return c.elapsed()
	})
	return landed, err
}

// Unproject is depth2point.Unproject on the GPU, with the same checks and
// outputs: pts [N,3] f32 camera-frame points and, when uv is not nil, uv
// [N,2] f32 colour coordinates, of the valid pixels in row-major order (the
// first MaxPoints of them when it is set). Each value is computed in
// float64 with the CPU's operations in the CPU's order and rounded to
// float32 once, so the output is bit-identical; the row-major order comes
// from a prefix sum over the valid pixels. A device depth frame gives
// device outputs; a CPU one is copied up and the outputs come back.
func (c *Context) Unproject(pts, uv, depth *ds3d.Frame, p *depth2point.Params) (int, error) {
	if depth.Type != ds3d.FrameDepth || depth.Shape.NumDims != 2 {
		return 0, fmt.Errorf("gpu: want a [H,W] depth frame, got %s %s", depth.Type, depth.Shape)
	}
	if depth.DType != ds3d.DTypeU16 && depth.DType != ds3d.DTypeF32 {
		return 0, fmt.Errorf("gpu: depth elements %s, want u16 or f32", depth.DType)
	}
	h, w := depth.Shape.D[0], depth.Shape.D[1]
	in := p.Intrinsics
	if in.Fx == 0 || in.Fy == 0 {
		return 0, fmt.Errorf("gpu: intrinsics have a zero focal length")
	}
	if in.Width != 0 && (in.Width != w || in.Height != h) {
		return 0, fmt.Errorf("gpu: depth frame is %dx%d but the intrinsics are for %dx%d", w, h, in.Width, in.Height)
	}
	if h*w > math.MaxInt32/4 {
		return 0, fmt.Errorf("gpu: depth frame of %dx%d pixels is too large", w, h)
	}
	pitch := depth.Plane.Pitch
	if pitch == 0 {
		pitch = w * depth.DType.Size()
	}
	nbytes := 0
	if h > 0 && w > 0 {
		nbytes = (h-1)*pitch + w*depth.DType.Size()
	}
	dev := depth.Mem == ds3d.MemGPU
	if dev && depth.DevPtr == 0 && nbytes > 0 {
		return 0, fmt.Errorf("gpu: GPU depth frame without device memory")
	}
	if !dev && len(depth.Data) < nbytes {
		return 0, fmt.Errorf("gpu: depth frame of %dx%d (pitch %d) holds only %d bytes", w, h, pitch, len(depth.Data))
	}
	limit := h * w
	if p.MaxPoints > 0 {
		limit = min(limit, p.MaxPoints)
	}
	// the host-side constants, computed as depth2point.Unproject does
	maxD := p.MaxDepth
	if maxD <= 0 {
		maxD = math.Inf(1)
	}
	ifx, ify := 1/in.Fx, 1/in.Fy
	sx, sy := 1.0, 1.0
	ox, oy := 0.0, 0.0
	if !p.PixelCoord {
		sx, sy, ox, oy = 1/float64(w), 1/float64(h), 0.5/float64(w), 0.5/float64(h)
	}
	isF32 := 0
	if depth.DType == ds3d.DTypeF32 {
		isF32 = 1
	}
	prm := []any{in.Cx, in.Cy, in.Skew, ifx, ify, p.Unit, p.MinDepth, maxD, sx, sy, ox, oy}
	N := 0
	err := c.do(func() error {
		s := scratch{c: c}
		defer s.release()
		img, err := s.input(depth, nbytes)
		if err != nil {
			return err
		}
		xyz, err := s.output(pts, dev, limit*12)
		if err != nil {
			return err
		}
		var tex cu.DevicePtr
		if uv != nil {
			if tex, err = s.output(uv, dev, limit*8); err != nil {
				return err
			}
		}
		n := h * w
		nb := scanBlocks(n)
		sums, err := s.get(int64(nb+1) * 4)
		if err != nil {
			return err
		}
		if err := c.tic(); err != nil {
			return err
		}
		head := []any{img, n, w, pitch, isF32}
		if nb == 0 {
			if err := cu.MemsetD32Async(sums, 0, 1, c.stream); err != nil {
				return err
			}
		} else {
			if err := c.launch("d2p_reduce", nb*256, 256, append(append(append([]any{}, head...), prm...), sums)...); err != nil {
				return err
			}
			if err := c.launch("scan_top", 256, 256, sums, nb); err != nil {
				return err
			}
			if err := c.launch("d2p_down", nb*256, 256, append(append(append([]any{}, head...), prm...), sums, limit, xyz, tex)...); err != nil {
				return err
			}
		}
		if err := c.toc(); err != nil {
			return err
		}
		total, err := c.readInt(sums + cu.DevicePtr(nb*4))
		if err != nil {
			return err
		}
		N = min(total, limit)
		if err := s.finish(pts, dev, xyz, ds3d.DTypeF32, ds3d.FramePointXYZ, N, 3); err != nil {
			return err
		}
		if uv != nil {
			if err := s.finish(uv, dev, tex, ds3d.DTypeF32, ds3d.FramePointCoord, N, 2); err != nil {
				return err
			}
		}
		if err := c.stream.Synchronize(); err != nil {
			return err
		}
		return c.elapsed()
	})
	return N, err
}

// Normalize is the per-channel normalisation of Letterbox's output, in
// tensor channel order (B, G, R): value = float32((v − Mean[c]) · Scale[c]),
// in float32, applied to the padding too (nvdspreprocess's
// net-scale-factor and offsets). Letterbox with a nil *Normalize leaves the
// 0–255 values.
type Normalize struct {
	Mean, Scale [3]float32
}

// Letterbox is infer2d.LetterboxRGB on the GPU, bit for bit (then the
// optional normalisation): the [H,W,3|4] u8 RGB(A) image src goes into dst
// as a [1,3,size,size] f32 NCHW tensor, BGR, at the top left, scaled by
// r = min(size/h, size/w) (returned) to ⌊w·r⌋×⌊h·r⌋ by bilinear
// interpolation with half-pixel centres and clamped edges, each channel
// computed in float64 as the CPU does and rounded half away from zero to an
// integer, the rest 114. A device src gives a device dst; a CPU src is
// copied up and the tensor comes back.
func (c *Context) Letterbox(dst, src *ds3d.Frame, size int, norm *Normalize) (float64, error) {
	if src.DType != ds3d.DTypeU8 || (src.Type != ds3d.FrameColorRGB && src.Type != ds3d.FrameColorRGBA) || src.Shape.NumDims != 3 {
		return 0, fmt.Errorf("gpu: letterbox wants an [H,W,3|4] u8 RGB(A) frame, got %s %s %s", src.Type, src.DType, src.Shape)
	}
	h, w, bpp := src.Shape.D[0], src.Shape.D[1], src.Shape.D[2]
	if bpp != 3 && bpp != 4 || w <= 0 || h <= 0 {
		return 0, fmt.Errorf("gpu: letterbox of a %dx%dx%d image", w, h, bpp)
	}
	if size <= 0 || size*size > math.MaxInt32/3 {
		return 0, fmt.Errorf("gpu: letterbox size %d", size)
	}
	pitch := src.Plane.Pitch
	if pitch == 0 {
		pitch = w * bpp
	}
	nbytes := (h-1)*pitch + w*bpp
	dev := src.Mem == ds3d.MemGPU
	if !dev && len(src.Data) < nbytes {
		return 0, fmt.Errorf("gpu: image of %dx%d (pitch %d) holds only %d bytes", w, h, pitch, len(src.Data))
	}
	// as infer2d.LetterboxRGB
	r := math.Min(float64(size)/float64(h), float64(size)/float64(w))
	nw, nh := int(math.Floor(float64(w)*r)), int(math.Floor(float64(h)*r))
	if nw < 1 || nh < 1 {
		return 0, fmt.Errorf("gpu: a %dx%d image letterboxed to %d is empty", w, h, size)
	}
	sx, sy := float64(w)/float64(nw), float64(h)/float64(nh)
	on := 0
	var nm Normalize
	if norm != nil {
		on, nm = 1, *norm
	}
	err := c.do(func() error {
		s := scratch{c: c}
		defer s.release()
		pix, err := s.input(src, nbytes)
		if err != nil {
			return err
		}
		out, err := s.output(dst, dev, 3*size*size*4)
		if err != nil {
			return err
		}
		if err := c.tic(); err != nil {
			return err
		}
		if err := c.launch("letterbox", size*size, 256, pix, sx, sy, w, h, pitch, bpp, nw, nh, size, on,
			nm.Mean[0], nm.Mean[1], nm.Mean[2], nm.Scale[0], nm.Scale[1], nm.Scale[2], out); err != nil {
			return err
		}
		if err := c.toc(); err != nil {
			return err
		}
		if err := s.finish(dst, dev, out, ds3d.DTypeF32, ds3d.FrameTensor, 1, 3, size, size); err != nil {
			return err
		}
		if err := c.stream.Synchronize(); err != nil {
			return err
		}
		return c.elapsed()
	})
	return r, err
}
