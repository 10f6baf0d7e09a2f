//go:build cuda

package gpu

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"gorgonia.org/cu"
)

// NMS is postprocess.NMS on the GPU: greedy rotated-BEV non-maximum
// suppression keeping exactly the boxes postprocess keeps, in the same
// (descending score, stable) order. The host sorts by score and builds the
// footprints in float64 as postprocess does (the same code, so the same
// doubles); the GPU computes the suppression bit matrix of every pair with
// postprocess's intersection arithmetic op for op (nms_mask) and runs the
// greedy pass over it in one block (nms_greedy); only the kept indices come
// back. It keeps pinned staging and device buffers between calls; one NMS
// per stream of frames, not safe for concurrent use.
type NMS struct {
	c     *Context
	keys  []uint64
	order []int32
	// pinned staging: N footprints of nmsRect float64, N int32 classes;
	// then (N+1) int32 of kept ranks and their count coming back
	stage    unsafe.Pointer
	stageCap int
	rects    cu.DevicePtr // footprints, then the classes
	mask     cu.DevicePtr
	keep     cu.DevicePtr
	closed   bool
}

const (
	nmsRect     = 12    // float64 per footprint (nms.cu RECT)
	nmsBlock    = 64    // boxes per mask word (nms.cu NMS_BLOCK)
	nmsMaxBoxes = 65536 // nms.cu NMS_MAX_WORDS × 64
)

// NewNMS returns an NMS running on c.
func (c *Context) NewNMS() *NMS { return &NMS{c: c} }

// Close frees the staging and device buffers.
func (n *NMS) Close() error {
	n.closed = true
	return n.c.do(func() error {
		for _, p := range []*cu.DevicePtr{&n.rects, &n.mask, &n.keep} {
			if *p != 0 {
				n.c.release(*p)
				*p = 0
			}
		}
		if n.stage != nil {
			delete(n.c.pinned, n.stage)
			err := memFreeHost(n.stage)
			n.stage, n.stageCap = nil, 0
			return err
		}
		return nil
	})
}

// Run appends to keep the indices into boxes of the boxes greedy NMS keeps,
// in descending score order, exactly as postprocess.NMS.Run(keep, boxes,
// thr, classAware): a box is suppressed by an earlier kept box whose BEV
// IoU with it is strictly greater than thr; with classAware only boxes of
// the same ClassID suppress each other.
func (n *NMS) Run(keep []int32, boxes []ds3d.Box3D, thr float64, classAware bool) ([]int32, error) {
	if n.closed {
		return keep, fmt.Errorf("gpu: NMS.Run after Close")
	}
	N := len(boxes)
	if N == 0 {
		return keep, nil
	}
	if N > nmsMaxBoxes {
		return keep, fmt.Errorf("gpu: NMS of %d boxes, at most %d", N, nmsMaxBoxes)
	}
	if cap(n.keys) < N {
		n.keys, n.order = make([]uint64, N), make([]int32, N)
	}
	keys := n.keys[:N]
	for i := range boxes {
		keys[i] = uint64(scoreKey(boxes[i].Score))<<32 | uint64(i)
	}
	slices.Sort(keys) // as postprocess: the index breaks ties
	order := n.order[:N]
	nw := (N + nmsBlock - 1) / nmsBlock
	rectBytes, clsBytes, keepBytes := N*nmsRect*8, N*4, (N+1)*4
	need := rectBytes + clsBytes + keepBytes
	err := n.c.do(func() error {
		c := n.c
		if n.stageCap < need {
			if n.stage != nil {
				delete(c.pinned, n.stage)
				memFreeHost(n.stage)
				n.stage, n.stageCap = nil, 0
			}
			p, err := memHostAlloc(need)
			if err != nil {
				return err
			}
			n.stage, n.stageCap = p, need
			c.pinned[p] = need
		}
		st := unsafe.Slice((*byte)(n.stage), n.stageCap)
		rects := unsafe.Slice((*float64)(n.stage), N*nmsRect)
		cls := unsafe.Slice((*int32)(unsafe.Pointer(&st[rectBytes])), N)
		back := unsafe.Slice((*int32)(unsafe.Pointer(&st[rectBytes+clsBytes])), N+1)
		for k, key := range keys {
			i := int32(key)
			order[k] = i
			footprint((*[nmsRect]float64)(rects[k*nmsRect:]), &boxes[i])
			cls[k] = int32(boxes[i].ClassID)
		}
		for _, b := range []struct {
			p *cu.DevicePtr
			n int
		}{{&n.rects, rectBytes + clsBytes}, {&n.mask, N * nw * 8}, {&n.keep, keepBytes}} {
			if err := c.ensure(b.p, int64(b.n)); err != nil {
				return err
			}
		}
		if err := cu.MemcpyHtoDAsync(n.rects, n.stage, int64(rectBytes+clsBytes), c.stream); err != nil {
			return err
		}
		// the classes follow the footprints in one copy
		clsDev := n.rects + cu.DevicePtr(rectBytes)
		var clsArg cu.DevicePtr
		if classAware {
			clsArg = clsDev
		}
		if err := c.tic(); err != nil {
			return err
		}
		if err := c.launchGrid("nms_mask", nw, nw, nmsBlock, n.rects, clsArg, N, nw, thr, n.mask); err != nil {
			return err
		}
		if err := c.launchGrid("nms_greedy", 1, 1, 1024, n.mask, N, nw, n.keep, n.keep+cu.DevicePtr(N*4)); err != nil {
			return err
		}
		if err := c.toc(); err != nil {
			return err
		}
		if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&back[0]), n.keep, int64(keepBytes), c.stream); err != nil {
			return err
		}
		if err := c.stream.Synchronize(); err != nil {
			return err
		}
		kn := int(back[N])
		if kn < 0 || kn > N {
			return fmt.Errorf("gpu: NMS kept %d of %d boxes", kn, N)
		}
		for _, r := range back[:kn] {
			if r < 0 || int(r) >= N {
				return fmt.Errorf("gpu: NMS kept rank %d of %d", r, N)
			}
			keep = append(keep, order[r])
		}
		return c.elapsed()
	})
	return keep, err
}

// scoreKey is postprocess.scoreKey: descending float32 scores ascending,
// −0 with +0, NaN last.
func scoreKey(s float32) uint32 {
	if s != s {
		return math.MaxUint32
	}
	if s == 0 {
		s = 0
	}
	b := math.Float32bits(s)
	if b&0x80000000 != 0 {
		b = ^b
	} else {
		b |= 0x80000000
	}
	return ^b
}

// footprint is postprocess.makeRect, written into nms.cu's layout: corners
// (x, y) ×4 counter-clockwise, cx, cy, area, circumscribed radius; area 0
// for a non-finite or zero-area footprint. The same float64 operations in
// the same order, so the same bits.
func footprint(r *[nmsRect]float64, b *ds3d.Box3D) {
	cx, cy := float64(b.CX), float64(b.CY)
	hx, hy := math.Abs(float64(b.DX))/2, math.Abs(float64(b.DY))/2
	s, c := math.Sincos(float64(b.Yaw))
	r[8], r[9] = cx, cy
	r[10] = 4 * hx * hy
	r[11] = math.Hypot(hx, hy)
	if !(r[10] > 0) || math.IsInf(r[10], 0) || math.IsNaN(cx+cy+s+c) || math.IsInf(cx, 0) || math.IsInf(cy, 0) {
		r[10], r[11] = 0, 0
	}
	lx := [4]float64{hx, -hx, -hx, hx}
	ly := [4]float64{hy, hy, -hy, -hy}
	for i := 0; i < 4; i++ {
		r[2*i] = cx + c*lx[i] - s*ly[i]
		r[2*i+1] = cy + s*lx[i] + c*ly[i]
	}
}
