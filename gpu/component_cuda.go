//go:build cuda

package gpu

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/pointcloud"
	"gorgonia.org/cu"
)

// The pipeline components of the GPU path (registered only in cuda builds):
// to_gpu and to_cpu move frames between host and device; gpu_roi_crop and
// gpu_pillar_scatter_prep are roi_crop and pillar_scatter_prep on the GPU.
// All components with the same gpu_id share one Context (one CUDA context
// and its goroutine, one device pool); it closes with the last of them.

// Stats counts the GPU path's host↔device frame transfers, process-wide.
// Auto counts the uploads a GPU component made itself because it received a
// CPU frame (an automatic transfer), as opposed to a to_gpu.
type Stats struct {
	H2D, D2H, H2DBytes, D2HBytes, Auto uint64
}

var stats struct {
	h2d, d2h, h2dBytes, d2hBytes, auto atomic.Uint64
}

// TransferStats returns the transfer counters so far.
func TransferStats() Stats {
	return Stats{H2D: stats.h2d.Load(), D2H: stats.d2h.Load(), H2DBytes: stats.h2dBytes.Load(),
		D2HBytes: stats.d2hBytes.Load(), Auto: stats.auto.Load()}
}

var shared struct {
	sync.Mutex
	ctx  map[int]*Context
	refs map[int]int
}

// Shared returns the process's Context on device dev, opening it on first
// use; each call must be paired with a ReleaseShared.
func Shared(dev int) (*Context, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.ctx == nil {
		shared.ctx, shared.refs = map[int]*Context{}, map[int]int{}
	}
	c := shared.ctx[dev]
	if c == nil {
		var err error
		if c, err = Open(dev); err != nil {
			return nil, err
		}
		shared.ctx[dev] = c
	}
	shared.refs[dev]++
	return c, nil
}

// ReleaseShared drops one user of the shared Context on dev. The last one
// closes it, unless pinned host frames it made (to_cpu's) are still
// allocated: those may still be read downstream after the component that
// made them has closed (the pipeline closes each component when its input
// ends, not when the whole graph has drained), and destroying the context
// would unmap them. Such a context lives until the process ends.
func ReleaseShared(dev int) error {
	shared.Lock()
	defer shared.Unlock()
	if shared.refs[dev] == 0 {
		return nil
	}
	shared.refs[dev]--
	if shared.refs[dev] > 0 {
		return nil
	}
	c := shared.ctx[dev]
	pinned := 0
	c.do(func() error { pinned = len(c.pinned); return nil })
	if pinned > 0 {
		return nil // kept open (and in shared.ctx) for the frames in flight
	}
	delete(shared.ctx, dev)
	return c.Close()
}

// CopyDevice copies a device frame into dst, a device frame of this
// context (its buffer reused when big enough).
func (c *Context) CopyDevice(dst, src *ds3d.Frame) error {
	if src.Mem != ds3d.MemGPU {
		return fmt.Errorf("gpu: CopyDevice of a %s frame", src.Mem)
	}
	n := src.Bytes()
	return c.do(func() error {
		if err := c.ensureFrame(dst, int64(max(n, 1))); err != nil {
			return err
		}
		dst.DType, dst.Type, dst.Shape, dst.Plane = src.DType, src.Type, src.Shape, src.Plane
		if n == 0 {
			return nil
		}
		if err := cu.MemcpyDtoDAsync(cu.DevicePtr(dst.DevPtr), cu.DevicePtr(src.DevPtr), int64(n), c.stream); err != nil {
			return err
		}
		return c.stream.Synchronize()
	})
}

// upload moves m's frame under k to the device: a frame from pool replaces
// it (the CPU frame is released). Frames already on the device stay.
func upload(ctx context.Context, c *Context, pool *ds3d.FramePool, m *ds3d.DataMap, k ds3d.Key, auto bool) (*ds3d.Frame, error) {
	f, err := m.Frame(k)
	if err != nil || f.Mem == ds3d.MemGPU {
		return f, err
	}
	d, err := pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Upload(d, f); err != nil {
		d.Release()
		return nil, fmt.Errorf("%s: %w", k, err)
	}
	stats.h2d.Add(1)
	stats.h2dBytes.Add(uint64(f.Bytes()))
	if auto {
		stats.auto.Add(1)
	}
	m.SetFrame(k, d)
	return d, nil
}

func deviceFramePool(n int) (*ds3d.FramePool, error) {
	return ds3d.NewFramePool(n, func() *ds3d.Frame { return &ds3d.Frame{Mem: ds3d.MemGPU} })
}

// deviceUser is what every GPU component holds: the shared context.
type deviceUser struct {
	c   *Context
	dev int
	log *slog.Logger
}

func (u *deviceUser) open(dev int, env *ds3d.Env) error {
	c, err := Shared(dev)
	if err != nil {
		return fmt.Errorf("gpu_id %d: %w", dev, err)
	}
	u.c, u.dev, u.log = c, dev, env.Log
	if u.log != nil {
		u.log.Info("gpu", "device", c.Device())
	}
	return nil
}

// Close logs the transfer counters and drops the shared context.
func (u *deviceUser) Close() error {
	if u.c == nil {
		return nil
	}
	if u.log != nil {
		s := TransferStats()
		u.log.Info("gpu transfers", "h2d", s.H2D, "h2d_bytes", s.H2DBytes, "d2h", s.D2H, "d2h_bytes", s.D2HBytes, "auto", s.Auto)
	}
	u.c = nil
	return ReleaseShared(u.dev)
}

// DeviceGroup is gpu_id, the key every GPU component has: the CUDA device
// whose shared context (and stream) the component uses.
type DeviceGroup struct {
	GPUID int `toml:"gpu_id" min:"0" doc:"CUDA device ordinal"`
}

// ---------------------------------------------------------------- to_gpu ---

// ToGPUConfig configures to_gpu.
type ToGPUConfig struct {
	Keys []string `toml:"datamap_keys" nonempty:"true" doc:"keys of the frames to move to the device (frames already there stay)"`
	DeviceGroup
	ds3d.PoolGroup `doc:"device frames per key in flight before the filter waits for one to come back (buffers from the device pool, reused)"`
}

// ToGPU is the to_gpu component.
type ToGPU struct {
	deviceUser
	keys  []ds3d.Key
	pools []*ds3d.FramePool
}

// Process uploads the configured frames.
func (t *ToGPU) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	for i, k := range t.keys {
		if _, err := upload(ctx, t.c, t.pools[i], m, k, false); err != nil {
			return err
		}
	}
	return emit(m)
}

// ---------------------------------------------------------------- to_cpu ---

// ToCPUConfig configures to_cpu.
type ToCPUConfig struct {
	Keys []string `toml:"datamap_keys" doc:"keys of the frames to bring back; empty: every device frame of the datamap"`
	DeviceGroup
	ds3d.PoolGroup `doc:"pinned host frames in flight before the filter waits for one to come back"`
	PinnedBytes    int `toml:"pinned_bytes" min:"0" unit:"bytes" doc:"capacity of each pinned (page-locked) staging frame; a larger frame falls back to ordinary memory"`
}

// ToCPU is the to_cpu component.
type ToCPU struct {
	deviceUser
	keys []ds3d.Key
	pool *ds3d.FramePool
	scan []ds3d.Key
}

// ToHost replaces every device frame of m (or those under keys, when given)
// by a CPU copy taken from pool, and returns how many it moved. It is the
// frame-level transfer a pipeline hook would call before a CPU component
// (the runtime does so through ds3d.ToHost; docs/ARCHITECTURE.md).
func (c *Context) ToHost(ctx context.Context, m *ds3d.DataMap, keys []ds3d.Key, pool *ds3d.FramePool, scan []ds3d.Key) (int, []ds3d.Key, error) {
	if len(keys) == 0 {
		scan = m.Keys(scan[:0])
		keys = scan
	}
	moved := 0
	for _, k := range keys {
		v, ok := m.Value(k)
		f, isFrame := v.(*ds3d.Frame)
		if !ok || !isFrame || f.Mem != ds3d.MemGPU {
			continue
		}
		h, err := pool.Get(ctx)
		if err != nil {
			return moved, scan, err
		}
		if err := c.Download(h, f); err != nil {
			h.Release()
			return moved, scan, fmt.Errorf("%s: %w", k, err)
		}
		stats.d2h.Add(1)
		stats.d2hBytes.Add(uint64(f.Bytes()))
		m.SetFrame(k, h)
		moved++
	}
	return moved, scan, nil
}

// Process downloads the device frames.
func (t *ToCPU) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	var err error
	if _, t.scan, err = t.c.ToHost(ctx, m, t.keys, t.pool, t.scan); err != nil {
		return err
	}
	return emit(m)
}

// ---------------------------------------------------------- gpu_roi_crop ---

// CropConfig configures gpu_roi_crop (roi_crop's box keys; no PassThrough).
type CropConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame to crop (a CPU frame is uploaded first: an automatic transfer)"`
	ds3d.OutputGroup `doc:"key of the cropped device frame (may equal the input key: it is replaced)"`
	XRange           []float64 `toml:"x_range" doc:"[min, max] of x in metres, both inclusive; empty: no limit"`
	YRange           []float64 `toml:"y_range" doc:"[min, max] of y in metres, both inclusive; empty: no limit"`
	ZRange           []float64 `toml:"z_range" doc:"[min, max] of z in metres, both inclusive; empty: no limit"`
	DeviceGroup
	ds3d.PoolGroup `doc:"output device frames in flight before the filter waits for one to come back"`
}

func (c *CropConfig) cpu() *pointcloud.CropConfig {
	return &pointcloud.CropConfig{InputGroup: c.InputGroup, OutputGroup: c.OutputGroup, XRange: c.XRange, YRange: c.YRange,
		ZRange: c.ZRange, PoolGroup: c.PoolGroup}
}

// Validate checks the config as roi_crop's.
func (c *CropConfig) Validate() error {
	return ds3d.CheckConfig(c.cpu())
}

// CropFilter is gpu_roi_crop.
type CropFilter struct {
	deviceUser
	in, out ds3d.Key
	box     pointcloud.Box
	inPool  *ds3d.FramePool
	outPool *ds3d.FramePool
}

// Process crops on the device.
func (f *CropFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := upload(ctx, f.c, f.inPool, m, f.in, true)
	if err != nil {
		return err
	}
	dst, err := f.outPool.Get(ctx)
	if err != nil {
		return err
	}
	if _, err := f.c.Crop(dst, src, f.box); err != nil {
		dst.Release()
		return fmt.Errorf("%s: %w", f.in, err)
	}
	m.SetFrame(f.out, dst)
	return emit(m)
}

// ----------------------------------------------- gpu_pillar_scatter_prep ---

// PillarConfig configures gpu_pillar_scatter_prep: pillar_scatter_prep's
// keys and grid, plus the device.
type PillarConfig struct {
	ds3d.InputGroup `doc:"key of the [N,C] f32 point frame (a CPU frame is uploaded first: an automatic transfer)"`
	FeatureKey      string    `toml:"feature_datamap_key" doc:"output [P, max_points_per_pillar, F] f32 pillar features (device frame)"`
	CoordKey        string    `toml:"coord_datamap_key" doc:"output [P, 4] i32 pillar coordinates (0, 0, y, x) (device frame)"`
	PointNumKey     string    `toml:"point_num_datamap_key" doc:"output [P] i32 points per pillar (device frame)"`
	Range           []float64 `toml:"point_cloud_range" doc:"[x0, y0, z0, x1, y1, z1] metres; points with x0 ≤ x < x1 (likewise y, z) are used"`
	PillarSize      []float64 `toml:"pillar_size" doc:"[x, y] pillar edge in metres; a third value (OpenPCDet VOXEL_SIZE) must equal z1 − z0"`
	MaxPoints       int       `toml:"max_points_per_pillar" min:"1" max:"32" doc:"points kept per pillar, first come (one warp per pillar on the GPU)"`
	MaxPillars      int       `toml:"max_pillars" doc:"pillars kept, first come by their first point"`
	Features        []string  `toml:"features" doc:"per-point features in tensor order: x y z i xc yc zc xp yp zp"`
	PointColumns    []string  `toml:"point_columns" nonempty:"each" len:"<=16" doc:"frame columns the model reads, by name, as pillar_scatter_prep's: x, y, z, then the column of feature i; a frame without one is an error; empty: x y z intensity (column features are CPU only)"`
	DeviceGroup
	ds3d.PoolGroup `doc:"output tensor sets in flight before the filter waits for one to come back"`
}

func (c *PillarConfig) cpu() *pointcloud.PillarConfig {
	return &pointcloud.PillarConfig{InputGroup: c.InputGroup, FeatureKey: c.FeatureKey, CoordKey: c.CoordKey,
		PointNumKey: c.PointNumKey, Range: c.Range, PillarSize: c.PillarSize, MaxPoints: c.MaxPoints,
		MaxPillars: c.MaxPillars, Features: c.Features, PointColumns: c.PointColumns, PoolGroup: c.PoolGroup}
}

// Validate checks the config as pillar_scatter_prep's, and the GPU's caps.
func (c *PillarConfig) Validate() error {
	return validatePillarConfig(c.cpu())
}

// PillarFilter is gpu_pillar_scatter_prep.
type PillarFilter struct {
	deviceUser
	z                   *Pillarizer
	in, fk, ck, nk      ds3d.Key
	inPool              *ds3d.FramePool
	featPool, coordPool *ds3d.FramePool
	numPool             *ds3d.FramePool
	tf, tc, tn          ds3d.Frame // the Pillarizer's device outputs (its own memory)
}

// Process pillarizes on the device; the tensors stay there.
func (f *PillarFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := upload(ctx, f.c, f.inPool, m, f.in, true)
	if err != nil {
		return err
	}
	if _, err := f.z.Pillarize(&f.tf, &f.tc, &f.tn, src); err != nil {
		return fmt.Errorf("%s: %w", f.in, err)
	}
	// The Pillarizer's outputs are overwritten by its next call: frames that
	// travel downstream get their own pooled device buffers.
	var outs [3]*ds3d.Frame
	for i, p := range []*ds3d.FramePool{f.featPool, f.coordPool, f.numPool} {
		o, err := p.Get(ctx)
		if err == nil {
			err = f.c.CopyDevice(o, []*ds3d.Frame{&f.tf, &f.tc, &f.tn}[i])
			if err != nil {
				o.Release()
			}
		}
		if err != nil {
			for _, q := range outs[:i] {
				q.Release()
			}
			return err
		}
		outs[i] = o
	}
	m.SetFrame(f.fk, outs[0])
	m.SetFrame(f.ck, outs[1])
	m.SetFrame(f.nk, outs[2])
	return emit(m)
}

// Close frees the Pillarizer's scratch and drops the context.
func (f *PillarFilter) Close() error {
	if f.z != nil {
		f.z.Close()
		f.z = nil
	}
	return f.deviceUser.Close()
}

func init() {
	ds3d.Register(ds3d.KindFilter, "to_gpu",
		`Moves frames to GPU memory (build tag cuda): each listed CPU frame is copied into a device frame from a pool of mem_pool_size (buffers from the context's device pool, reused), which replaces it in the datamap.`,
		func() *ToGPUConfig {
			return &ToGPUConfig{Keys: []string{string(ds3d.KeyLidarXYZI)}, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *ToGPUConfig, env *ds3d.Env) (any, error) {
			t := &ToGPU{}
			if err := t.open(c.GPUID, env); err != nil {
				return nil, err
			}
			for _, k := range c.Keys {
				p, _ := deviceFramePool(c.MemPoolSize)
				t.keys, t.pools = append(t.keys, ds3d.Key(k)), append(t.pools, p)
			}
			return t, nil
		})
	ds3d.Register(ds3d.KindFilter, "to_cpu",
		`Brings GPU frames back to CPU memory (build tag cuda): each device frame (all, or the listed keys) is copied into a pinned host frame from a pool of mem_pool_size, which replaces it in the datamap.`,
		func() *ToCPUConfig {
			return &ToCPUConfig{PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}, PinnedBytes: 8 << 20}
		},
		func(c *ToCPUConfig, env *ds3d.Env) (any, error) {
			t := &ToCPU{}
			if err := t.open(c.GPUID, env); err != nil {
				return nil, err
			}
			for _, k := range c.Keys {
				t.keys = append(t.keys, ds3d.Key(k))
			}
			ctx := t.c
			t.pool, _ = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame {
				if c.PinnedBytes > 0 {
					if f, err := ctx.NewPinnedFrame(ds3d.DTypeU8, ds3d.FrameCustom, c.PinnedBytes, 0); err == nil {
						return f
					}
				}
				return &ds3d.Frame{}
			})
			return t, nil
		})
	ds3d.Register(ds3d.KindFilter, "gpu_roi_crop",
		`roi_crop on the GPU (build tag cuda), byte-identical to it: keeps the points inside an axis-aligned box (bounds inclusive, NaN/Inf dropped, order kept); the output is a device frame. A CPU input is uploaded first (counted as an automatic transfer).`,
		func() *CropConfig {
			return &CropConfig{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)},
				OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidarXYZI)}, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *CropConfig, env *ds3d.Env) (any, error) {
			f := &CropFilter{in: ds3d.Key(c.InputKey), out: ds3d.Key(c.OutputKey), box: c.cpu().Box()}
			if err := f.open(c.GPUID, env); err != nil {
				return nil, err
			}
			f.inPool, _ = deviceFramePool(c.MemPoolSize)
			f.outPool, _ = deviceFramePool(c.MemPoolSize)
			return f, nil
		})
	ds3d.Register(ds3d.KindFilter, "gpu_pillar_scatter_prep",
		`pillar_scatter_prep on the GPU (build tag cuda), bit-identical to it: PointPillars pillar features [P, max_points, F], coordinates [P, 4] and point counts [P] as device frames. A CPU input is uploaded first (counted as an automatic transfer).`,
		func() *PillarConfig {
			d := pointcloud.DefaultPillarParams
			return &PillarConfig{
				InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, FeatureKey: string(ds3d.KeyLidarFeatureTensor),
				CoordKey: string(ds3d.KeyLidarCoordTensor), PointNumKey: string(ds3d.KeyLidarPointNumTensor),
				Range: d.Range[:], PillarSize: d.PillarSize[:], MaxPoints: d.MaxPointsPerPillar, MaxPillars: d.MaxPillars,
				Features:  []string{"x", "y", "z", "i", "xc", "yc", "zc", "xp", "yp", "zp"},
				PoolGroup: ds3d.PoolGroup{MemPoolSize: 4},
			}
		},
		func(c *PillarConfig, env *ds3d.Env) (any, error) {
			p, err := c.cpu().Params()
			if err != nil {
				return nil, err
			}
			f := &PillarFilter{in: ds3d.Key(c.InputKey), fk: ds3d.Key(c.FeatureKey), ck: ds3d.Key(c.CoordKey), nk: ds3d.Key(c.PointNumKey)}
			if err := f.open(c.GPUID, env); err != nil {
				return nil, err
			}
			if f.z, err = f.c.NewPillarizer(p); err != nil {
				f.deviceUser.Close()
				return nil, err
			}
			f.inPool, _ = deviceFramePool(c.MemPoolSize)
			f.featPool, _ = deviceFramePool(c.MemPoolSize)
			f.coordPool, _ = deviceFramePool(c.MemPoolSize)
			f.numPool, _ = deviceFramePool(c.MemPoolSize)
			return f, nil
		})
}
