package depth2point

import (
	"context"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Params are the unprojection settings.
type Params struct {
	Intrinsics ds3d.Intrinsics
	Unit       float64 // metres per raw depth unit
	MinDepth   float64 // metres; points nearer are skipped
	MaxDepth   float64 // metres; points farther are skipped (0: no limit)
	MaxPoints  int     // at most this many points (0: no limit); row-major order decides which
	PixelCoord bool    // colour coordinates in pixels instead of normalised [0, 1]
}

// Unproject converts a depth frame ([H,W] u16 or f32, raw units) into
// points (dst, resized to [N,3]) and colour coordinates (uv, [N,2]; nil to
// skip) and returns N. The output frames' buffers are reused, so a steady
// stream allocates nothing.
func Unproject(pts, uv *ds3d.Frame, depth *ds3d.Frame, p *Params) (int, error) {
	if depth.Type != ds3d.FrameDepth || depth.Shape.NumDims != 2 {
		return 0, fmt.Errorf("depth2point: want a [H,W] depth frame, got %s %s", depth.Type, depth.Shape)
	}
	h, w := depth.Shape.D[0], depth.Shape.D[1]
	in := p.Intrinsics
	if in.Fx == 0 || in.Fy == 0 {
		return 0, fmt.Errorf("depth2point: intrinsics have a zero focal length")
	}
	if in.Width != 0 && (in.Width != w || in.Height != h) {
		return 0, fmt.Errorf("depth2point: depth frame is %dx%d but the intrinsics are for %dx%d", w, h, in.Width, in.Height)
	}
	pitch := depth.Plane.Pitch
	if pitch == 0 {
		pitch = w * depth.DType.Size()
	}
	limit := h * w
	if p.MaxPoints > 0 {
		limit = min(limit, p.MaxPoints)
	}
	pts.Resize(limit, 3)
	xyz := ds3d.AsFloat32(pts)
	var tex []float32
	if uv != nil {
		uv.Resize(limit, 2)
		tex = ds3d.AsFloat32(uv)
	}
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
	n := 0
	for v := 0; v < h && n < limit; v++ {
		yn := (float64(v) - in.Cy) * ify
		row := depth.Data[v*pitch : v*pitch+w*depth.DType.Size()]
		for u := 0; u < w && n < limit; u++ {
			var raw float64
			switch depth.DType {
			case ds3d.DTypeU16:
				raw = float64(uint16(row[2*u]) | uint16(row[2*u+1])<<8)
			case ds3d.DTypeF32:
				raw = float64(math.Float32frombits(uint32(row[4*u]) | uint32(row[4*u+1])<<8 | uint32(row[4*u+2])<<16 | uint32(row[4*u+3])<<24))
			default:
				return 0, fmt.Errorf("depth2point: depth elements %s, want u16 or f32", depth.DType)
			}
			if raw == 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
				continue
			}
			z := raw * p.Unit
			if z < p.MinDepth || z > maxD || z <= 0 {
				continue
			}
			xyz[3*n] = float32((float64(u) - in.Cx - in.Skew*yn) * ifx * z)
			xyz[3*n+1] = float32(yn * z)
			xyz[3*n+2] = float32(z)
			if tex != nil {
				tex[2*n] = float32(float64(u)*sx + ox)
				tex[2*n+1] = float32(float64(v)*sy + oy)
			}
			n++
		}
	}
	pts.Resize(n, 3)
	if uv != nil {
		uv.Resize(n, 2)
	}
	return n, nil
}

// Config configures the depth2point component.
type Config struct {
	DepthKey       string  `toml:"depth_datamap_key" nonempty:"true" doc:"key of the [H,W] u16/f32 depth frame"`
	IntrinsicsKey  string  `toml:"intrinsics_datamap_key" doc:"key of the depth camera's ds3d.Intrinsics"`
	ScaleKey       string  `toml:"depth_scale_datamap_key" doc:"key of the float64 metres-per-unit value; used unless depth_unit is set"`
	DepthUnit      float64 `toml:"depth_unit" min:"0" unit:"m" doc:"metres per raw depth unit, overriding the datamap's (0: take the datamap's)"`
	PointsKey      string  `toml:"points_datamap_key" nonempty:"true" doc:"key of the [N,3] f32 output points (camera frame)"`
	CoordKey       string  `toml:"color_coord_datamap_key" doc:"key of the [N,2] f32 colour coordinates; empty skips them"`
	CoordUnits     string  `toml:"color_coord_units" enum:"normalized|pixels" doc:"colour coordinates as \"normalized\" texture coordinates (pixel centres) or \"pixels\""`
	MinDepth       float64 `toml:"min_depth" min:"0" unit:"m" doc:"nearest depth kept, metres"`
	MaxDepth       float64 `toml:"max_depth" min:"0" unit:"m" doc:"farthest depth kept, metres; 0 keeps all"`
	MaxPoints      int     `toml:"max_points" min:"0" doc:"cap on points per frame (ds3d's max_points); 0: width × height"`
	ds3d.PoolGroup `doc:"output frames in flight before the filter waits for one to come back"`
}

// Validate checks the config.
func (c *Config) Validate() error {
	if c.MaxDepth > 0 && c.MaxDepth < c.MinDepth {
		return ds3d.ConfigErrorf("max_depth", "want 0 ≤ min_depth ≤ max_depth (or max_depth = 0), got %v, %v", c.MinDepth, c.MaxDepth)
	}
	return nil
}

// Filter is the depth2point component.
type Filter struct {
	cfg    Config
	pts    *ds3d.FramePool
	uv     *ds3d.FramePool
	params Params
}

// New builds the filter.
func New(c *Config) (*Filter, error) {
	f := &Filter{cfg: *c}
	f.params = Params{MinDepth: c.MinDepth, MaxDepth: c.MaxDepth, MaxPoints: c.MaxPoints, PixelCoord: c.CoordUnits == "pixels"}
	var err error
	if f.pts, err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewPointFrame(0) }); err != nil {
		return nil, err
	}
	if c.CoordKey != "" {
		f.uv, err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame {
			return ds3d.NewFrame(ds3d.DTypeF32, ds3d.FramePointCoord, ds3d.NewShape(0, 2))
		})
	}
	return f, err
}

// Process unprojects the datamap's depth frame and adds the point frames.
func (f *Filter) Process(ctx context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	depth, err := in.Frame(ds3d.Key(f.cfg.DepthKey))
	if err != nil {
		return err
	}
	f.params.Intrinsics, err = ds3d.Get[ds3d.Intrinsics](in, ds3d.Key(f.cfg.IntrinsicsKey))
	if err != nil {
		return err
	}
	f.params.Unit = f.cfg.DepthUnit
	if f.params.Unit == 0 {
		if f.params.Unit, err = ds3d.Get[float64](in, ds3d.Key(f.cfg.ScaleKey)); err != nil {
			return fmt.Errorf("%w (or set depth_unit)", err)
		}
	}
	pts, err := f.pts.Get(ctx)
	if err != nil {
		return err
	}
	var uv *ds3d.Frame
	if f.uv != nil {
		if uv, err = f.uv.Get(ctx); err != nil {
			pts.Release()
			return err
		}
	}
	if _, err := Unproject(pts, uv, depth, &f.params); err != nil {
		pts.Release()
		if uv != nil {
			uv.Release()
		}
		return err
	}
	in.SetFrame(ds3d.Key(f.cfg.PointsKey), pts)
	if uv != nil {
		in.SetFrame(ds3d.Key(f.cfg.CoordKey), uv)
	}
	return emit(in)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "depth2point",
		`Unprojects a depth image with its intrinsics and depth scale into camera-frame points (DS3D::PointXYZ) and their colour-image coordinates (DS3D::PointColorCoord), as DeepStream-3D's depth2point filter; depth clipped to [min_depth, max_depth].`,
		func() *Config {
			return &Config{
				DepthKey: string(ds3d.KeyDepthFrame), IntrinsicsKey: string(ds3d.KeyCamIntrinsicMatrix.Sensor(0)),
				ScaleKey: string(ds3d.KeyDepthScaleUnit), PointsKey: string(ds3d.KeyPointXYZ),
				CoordKey: string(ds3d.KeyPointColorCoord), CoordUnits: "normalized", PoolGroup: ds3d.PoolGroup{MemPoolSize: 4},
			}
		},
		func(c *Config, _ *ds3d.Env) (any, error) { return New(c) })
}

// PoolStats reports the point pool and, when made, the UV pool (for the
// metrics).
func (f *Filter) PoolStats() []ds3d.PoolStat {
	out := []ds3d.PoolStat{f.pts.Stat("points")}
	if f.uv != nil {
		out = append(out, f.uv.Stat("uv"))
	}
	return out
}
