//go:build cuda

package gpu

import (
	"encoding/binary"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/pointcloud"
	"gorgonia.org/cu"
)

// Pillarizer is pointcloud.Pillarizer on the GPU, bit for bit (same pillar
// numbering, point order, caps, features and float32 rounding; see
// pointcloud.Pillarizer for the rules). It keeps its device scratch between
// calls; one per stream of frames. MaxPointsPerPillar must be ≤ 32 (one warp
// per pillar) and there may be at most 16 features, none of them a column
// feature (pointcloud.ColumnFeature). The point columns (PointColumns) are
// found by name in each frame, as on the CPU; see pillarcols.go for how
// frames whose columns are not the leading ones are read.
//
// How the order is kept without depending on the order atomics run in:
// per point cell id → per cell atomicMin of the point index → "first point
// of its cell" flags → their exclusive scan numbers pillars in order of
// first appearance (the CPU's first come) → per pillar point counts give
// each pillar a segment of a scratch array, filled by atomics in any order →
// one warp per pillar sorts its segment (bitonic, 32 at a time) and keeps
// the smallest MaxPointsPerPillar indices, i.e. the first points in input
// order → the warp sums x, y, z in that order and writes the features.
type Pillarizer struct {
	c      *Context
	p      pointcloud.PillarParams
	nx, ny int
	lo, hi [3]float32
	inv    [2]float32
	offx   float64
	offy   float64
	zc     float32
	fmap   uint64
	nfeat  int
	needI  bool
	closed bool
	pcols  []string // the point columns the kernels read: x y z (i)
	idx    []int    // their indices in the current frame
	host   []byte   // a CPU frame's gathered columns

	// device scratch (pooled buffers of the context)
	first, cellPid              cu.DevicePtr // per cell; first self-resets (pil_count)
	pillarKey, cnt, cursor, off cu.DevicePtr // per pillar; cnt, cursor self-reset (pil_features)
	seg                         cu.DevicePtr // csr slots handed out; self-resets (pil_features)
	pts, cell, csr, sums        cu.DevicePtr // per point
	feat, coords, num           cu.DevicePtr // outputs, sized for MaxPillars

	// Timing, when set, records CUDA events around the kernels of each call;
	// KernelMillis then returns the device time of the last call.
	Timing bool
	lastMs float64
	// Profile, when set, queues the launches behind a ~2 ms spin kernel so
	// that the events time GPU work alone (no host launch gaps) and records
	// one event per stage (Stages).
	Profile    bool
	stageNames []string
	stageMs    []float64
	dirty      bool // scratch must be reset before the next call
}

// NewPillarizer checks p as pointcloud.NewPillarizer does and allocates the
// fixed device scratch.
func (c *Context) NewPillarizer(p pointcloud.PillarParams) (*Pillarizer, error) {
	cz, err := pointcloud.NewPillarizer(p)
	if err != nil {
		return nil, err
	}
	p = cz.Params()
	if p.MaxPointsPerPillar > 32 {
		return nil, fmt.Errorf("gpu: max points per pillar %d > 32 (one warp per pillar)", p.MaxPointsPerPillar)
	}
	if len(p.Features) > 16 {
		return nil, fmt.Errorf("gpu: %d features > 16", len(p.Features))
	}
	pcols, err := gpuPillarColumns(p)
	if err != nil {
		return nil, err
	}
	z := &Pillarizer{c: c, p: p, nfeat: len(p.Features), dirty: true, pcols: pcols, idx: make([]int, 0, len(pcols))}
	z.nx, z.ny = cz.GridSize()
	for a := 0; a < 3; a++ {
		z.lo[a], z.hi[a] = float32(p.Range[a]), float32(p.Range[a+3])
	}
	z.inv[0], z.inv[1] = float32(1.0/p.PillarSize[0]), float32(1.0/p.PillarSize[1])
	z.offx = p.PillarSize[0]/2 + p.Range[0]
	z.offy = p.PillarSize[1]/2 + p.Range[1]
	z.zc = float32((p.Range[2] + p.Range[5]) / 2)
	for i, f := range p.Features {
		z.fmap |= uint64(f) << (4 * i)
		if f == pointcloud.FeatI {
			z.needI = true
		}
	}
	cells := int64(z.nx * z.ny * 4)
	mp := int64(p.MaxPillars)
	err = c.do(func() error {
		for _, b := range []struct {
			p *cu.DevicePtr
			n int64
		}{{&z.first, cells}, {&z.cellPid, cells}, {&z.pillarKey, mp * 4}, {&z.cnt, mp * 4},
			{&z.cursor, mp * 4}, {&z.off, mp * 4}, {&z.seg, 4},
			{&z.feat, mp * int64(p.MaxPointsPerPillar*z.nfeat) * 4}, {&z.coords, mp * 16}, {&z.num, mp * 4}} {
			if err := c.ensure(b.p, b.n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		z.Close()
		return nil, err
	}
	return z, nil
}

// Close gives the scratch back to the context's pool.
func (z *Pillarizer) Close() error {
	z.closed = true
	return z.c.do(func() error {
		for _, p := range []*cu.DevicePtr{&z.first, &z.cellPid, &z.pillarKey, &z.cnt, &z.cursor, &z.off, &z.seg,
			&z.pts, &z.cell, &z.csr, &z.sums, &z.feat, &z.coords, &z.num} {
			if *p != 0 {
				z.c.release(*p)
				*p = 0
			}
		}
		return nil
	})
}

// KernelMillis is the device time of the last call's kernels (Timing set).
func (z *Pillarizer) KernelMillis() float64 { return z.lastMs }

// Pillarize fills feat [P, MaxPointsPerPillar, F] f32, coords [P, 4] i32
// (0, 0, iy, ix) and num [P] i32 from src and returns P, exactly as
// pointcloud.Pillarizer.Pillarize does. A CPU (or pinned) src is copied up
// and the outputs come back into CPU frames (pinned ones stay pinned while
// they fit). A device src (MemGPU) keeps everything on the GPU: the outputs
// become device frames whose memory belongs to z and is overwritten by its
// next call (do not Free them).
func (z *Pillarizer) Pillarize(feat, coords, num, src *ds3d.Frame) (int, error) {
	if err := checkCloud(src, 3); err != nil {
		return 0, err
	}
	if z.closed {
		return 0, fmt.Errorf("gpu: Pillarize after Close")
	}
	idx, leading, err := columnPlan(z.idx[:0], src, z.pcols)
	z.idx = idx
	if err != nil {
		return 0, err
	}
	c := z.c
	n, srcCols := src.Shape.D[0], src.Shape.D[1]
	cols := srcCols
	if !leading {
		cols = len(idx) // the kernels read the gathered [N, U] copy
	}
	dev := src.Mem == ds3d.MemGPU
	maxP, maxPts := z.p.MaxPillars, z.p.MaxPointsPerPillar
	P := 0
	err = c.do(func() error {
		for _, b := range []*cu.DevicePtr{&z.cell, &z.csr} {
			if err := c.ensure(b, int64(max(n, 1))*4); err != nil {
				return err
			}
		}
		nb := scanBlocks(n)
		if err := c.ensure(&z.sums, int64(nb+1)*4); err != nil {
			return err
		}
		pts := cu.DevicePtr(src.DevPtr)
		if !dev || !leading {
			if err := c.ensure(&z.pts, int64(max(n*cols*4, 1))); err != nil {
				return err
			}
			pts = z.pts
		}
		switch {
		case !dev && leading:
			if err := c.h2d(pts, src.Data, n*cols*4); err != nil {
				return err
			}
		case !dev:
			z.host = gatherColumns(z.host, src.Data, n, srcCols, idx)
			if err := c.h2d(pts, z.host, n*cols*4); err != nil {
				return err
			}
		case !leading && n > 0:
			// One strided device copy per column: 4 bytes of each row.
			for k, col := range idx {
				if err := cu.Memcpy2DAsync(cu.Memcpy2dParam{
					Height: int64(n), WidthInBytes: 4,
					SrcMemoryType: cu.DeviceMemory, SrcDevice: cu.DevicePtr(src.DevPtr), SrcXInBytes: int64(4 * col), SrcPitch: int64(4 * srcCols),
					DstMemoryType: cu.DeviceMemory, DstDevice: pts, DstXInBytes: int64(4 * k), DstPitch: int64(4 * cols),
				}, c.stream); err != nil {
					return fmt.Errorf("gpu: gathering point column %d: %w", col, err)
				}
			}
		}
		s := c.stream
		if z.dirty { // first call, or the last one failed: reset the self-resetting scratch
			if err := cu.MemsetD32Async(z.first, 0x7fffffff, int64(z.nx*z.ny), s); err != nil {
				return err
			}
			if err := cu.MemsetD32Async(z.cnt, 0, int64(maxP), s); err != nil {
				return err
			}
			if err := cu.MemsetD32Async(z.cursor, 0, int64(maxP), s); err != nil {
				return err
			}
			if err := cu.MemsetD32Async(z.seg, 0, 1, s); err != nil {
				return err
			}
		}
		z.dirty = true
		if z.Profile {
			if err := c.launch("spin", 1, 1, int64(4_000_000)); err != nil { // ~2 ms: the launches queue behind it
				return err
			}
		}
		if z.Timing || z.Profile {
			if err := c.ev0.Record(s); err != nil {
				return err
			}
		}
		stage := 0
		mark := func(name string) error {
			if !z.Profile {
				return nil
			}
			if stage == len(z.stageNames) {
				z.stageNames = append(z.stageNames, name)
			}
			err := c.evs[stage].Record(s)
			stage++
			return err
		}
		total := z.sums + cu.DevicePtr(nb*4)
		if err := c.launch("pil_cells", n, 256, pts, n, cols, z.lo[0], z.lo[1], z.lo[2], z.hi[0], z.hi[1], z.hi[2],
			z.inv[0], z.inv[1], z.nx, z.ny, z.cell, z.first); err != nil {
			return err
		}
		if err := mark("cells+atomicMin"); err != nil {
			return err
		}
		if nb == 0 {
			if err := cu.MemsetD32Async(z.sums, 0, 1, s); err != nil {
				return err
			}
		} else {
			if err := c.launch("pil_flag_reduce", nb*256, 256, z.cell, n, z.first, z.sums); err != nil {
				return err
			}
			if err := c.launch("scan_top", 256, 256, z.sums, nb); err != nil {
				return err
			}
			if err := c.launch("pil_flag_down", nb*256, 256, z.cell, n, z.first, z.sums, maxP, z.cellPid, z.pillarKey); err != nil {
				return err
			}
		}
		if err := mark("number pillars (3 launches)"); err != nil {
			return err
		}
		if err := c.launch("pil_count", n, 256, z.cell, n, z.cellPid, z.cnt, z.first); err != nil {
			return err
		}
		if err := mark("count"); err != nil {
			return err
		}
		if err := c.launch("pil_alloc", maxP, 256, z.cnt, total, maxP, z.off, z.seg); err != nil {
			return err
		}
		if err := mark("segments"); err != nil {
			return err
		}
		if err := c.launch("pil_scatter", n, 256, z.cell, n, z.cellPid, z.off, z.cursor, z.csr); err != nil {
			return err
		}
		if err := mark("scatter"); err != nil {
			return err
		}
		if err := c.launch("pil_features", maxP*32, 256, pts, cols, z.csr, z.off, z.cnt, z.cursor, z.seg, z.pillarKey, total,
			maxP, maxPts, z.nx, z.p.PillarSize[0], z.p.PillarSize[1], z.offx, z.offy, z.zc, z.nfeat, z.fmap,
			z.feat, z.coords, z.num); err != nil {
			return err
		}
		if err := mark("sort+features"); err != nil {
			return err
		}
		if z.Timing || z.Profile {
			if err := c.ev1.Record(s); err != nil {
				return err
			}
		}
		var tot [4]byte
		if err := c.d2h(tot[:], total, 4); err != nil {
			return err
		}
		P = min(int(int32(binary.LittleEndian.Uint32(tot[:]))), maxP)
		if z.Timing || z.Profile {
			ms, err := c.ev0.Elapsed(c.ev1)
			if err != nil {
				return err
			}
			z.lastMs = ms
		}
		if z.Profile {
			z.stageMs = z.stageMs[:0]
			prev := c.ev0
			for i := 0; i < stage; i++ {
				ms, err := prev.Elapsed(c.evs[i])
				if err != nil {
					return err
				}
				z.stageMs = append(z.stageMs, ms)
				prev = c.evs[i]
			}
		}
		set := func(f *ds3d.Frame, dt ds3d.DataType, buf cu.DevicePtr, dims ...int) error {
			f.DType, f.Type = dt, ds3d.FrameTensor
			if dev {
				if f.Mem != ds3d.MemGPU || f.DevPtr != uintptr(buf) {
					f.Mem, f.DevPtr, f.Data = ds3d.MemGPU, uintptr(buf), nil
				}
				f.Shape = ds3d.NewShape(dims...)
				return nil
			}
			if f.Mem == ds3d.MemGPU {
				f.Mem, f.DevPtr, f.Data = ds3d.MemCPU, 0, nil
			}
			f.Resize(dims...)
			if len(f.Data) == 0 {
				return nil
			}
			return cu.MemcpyDtoHAsync(unsafePtr(f.Data), buf, int64(len(f.Data)), c.stream)
		}
		if err := set(feat, ds3d.DTypeF32, z.feat, P, maxPts, z.nfeat); err != nil {
			return err
		}
		if err := set(coords, ds3d.DTypeI32, z.coords, P, 4); err != nil {
			return err
		}
		if err := set(num, ds3d.DTypeI32, z.num, P); err != nil {
			return err
		}
		if err := c.stream.Synchronize(); err != nil {
			return err
		}
		z.dirty = false
		return nil
	})
	return P, err
}

// Stages returns the device time of each stage of the last call made with
// Profile set, in order, with their names.
func (z *Pillarizer) Stages() (names []string, ms []float64) { return z.stageNames, z.stageMs }
