package deskew

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config configures the deskew component.
type Config struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame with a per-point time column"`
	ds3d.OutputGroup `doc:"key the corrected frame (same columns) is stored under (may equal the input key: it is replaced)"`
	TimeColumn       string    `toml:"time_column" nonempty:"true" doc:"column of the point times: seconds relative to the datamap's DS3D::Timestamp (the lidar drivers' and the synthetic scenes' time)"`
	TwistSource      string    `toml:"twist_source" enum:"config|ego_pose" doc:"where the ego motion comes from: config (linear_velocity and angular_velocity, constant) or ego_pose (the DS3D::EgoPose of this datamap and the previous one: the mean twist over that interval; the first datamap passes unchanged)"`
	Linear           []float64 `toml:"linear_velocity" len:"3" finite:"true" unit:"m/s" doc:"[vx, vy, vz] of the ego in its own frame (x forward), m/s (twist_source = config)"`
	Angular          []float64 `toml:"angular_velocity" len:"3" finite:"true" unit:"rad/s" doc:"[wx, wy, wz] of the ego about its own axes, rad/s; wz is the yaw rate (twist_source = config)"`
	PoseKey          string    `toml:"pose_datamap_key" nonempty:"true" doc:"key of the ego pose, a ds3d.Mat4 world-from-ego (twist_source = ego_pose)"`
	LidarToEgo       []float64 `toml:"lidar_to_ego" len:"12|16" finite:"true" doc:"row-major 4×4 (16) or 3×4 (12) rigid transform from the points' frame to the ego frame the twist is given in; empty = identity (the twist is the lidar's own)"`
	Mode             string    `toml:"mode" enum:"2d|3d" doc:"2d: x, y velocity and yaw rate only (Autoware's default for road vehicles); 3d: the full twist"`
	Reference        string    `toml:"reference" enum:"stamp|start|end" doc:"time the points are moved to: stamp (time 0, the datamap's timestamp; Autoware uses the header stamp), start (the earliest point) or end (the latest point)"`
	MaxError         float64   `toml:"max_error" min:">0" max:"1" unit:"m" doc:"largest position error the time slicing may add to a point within max_range, metres (each slice uses its centre's transform)"`
	MaxRange         float64   `toml:"max_range" min:">0" max:"10000" unit:"m" doc:"range in metres up to which max_error holds (the error of farther points grows with their range)"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// Validate checks the extrinsic is rigid.
func (c *Config) Validate() error {
	if len(c.LidarToEgo) > 0 {
		m, _ := ds3d.Mat4From(c.LidarToEgo)
		if err := checkRigid(m); err != nil {
			return ds3d.ConfigErrorf("lidar_to_ego", "%v", err)
		}
	}
	return nil
}

// Filter is the deskew component.
type Filter struct {
	in, out, pose ds3d.Key
	timeCol       string
	fromPose      bool
	twist         Twist
	c             Corrector
	pool          *ds3d.FramePool
	env           *ds3d.Env

	prev     ds3d.Mat4
	prevT    int64
	havePrev bool
	passed   int // datamaps passed unchanged (no motion known yet)
}

// New builds the deskew component from a validated config.
func New(c *Config, env *ds3d.Env) (*Filter, error) {
	pool, err := ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
	if err != nil {
		return nil, err
	}
	f := &Filter{in: ds3d.Key(c.InputKey), out: ds3d.Key(c.OutputKey), pose: ds3d.Key(c.PoseKey), timeCol: c.TimeColumn,
		fromPose: c.TwistSource == "ego_pose", pool: pool, env: env,
		c: Corrector{MaxError: c.MaxError, MaxRange: c.MaxRange}}
	if c.Mode == "3d" {
		f.c.Mode = Mode3D
	}
	switch c.Reference {
	case "start":
		f.c.Reference = RefStart
	case "end":
		f.c.Reference = RefEnd
	}
	if len(c.LidarToEgo) > 0 {
		f.c.Extrinsic, _ = ds3d.Mat4From(c.LidarToEgo)
	}
	copy(f.twist.V[:], c.Linear)
	copy(f.twist.W[:], c.Angular)
	return f, nil
}

// Process corrects the input frame into a pooled frame.
func (f *Filter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := m.Frame(f.in)
	if err != nil {
		return err
	}
	switch {
	case src.Mem == ds3d.MemGPU:
		return fmt.Errorf("deskew: %s: frame in GPU memory; deskew runs on CPU frames", f.in)
	case src.DType != ds3d.DTypeF32 || src.Shape.NumDims != 2 || src.Shape.D[1] < 4 || len(src.Data) < src.Shape.Elements()*4:
		return fmt.Errorf("deskew: %s: want a [N,C] f32 point frame with a time column, got %s %s", f.in, src.DType, src.Shape)
	}
	tc := src.Column(f.timeCol)
	if tc < 3 {
		return fmt.Errorf("deskew: %s: no %q column (columns: %s); the lidar drivers and lidar_file_loader's extra_fields give one",
			f.in, f.timeCol, strings.Join(src.Columns(), " "))
	}
	tw, moving, err := f.motion(m)
	if err != nil {
		return err
	}
	dst, err := f.pool.Get(ctx)
	if err != nil {
		return err
	}
	n, stride := src.Points(), src.Stride()
	dst.DType, dst.Type = ds3d.DTypeF32, src.Type
	dst.Resize(n, stride)
	dst.CopyColumns(src)
	out, in := ds3d.AsFloat32(dst)[:n*stride], ds3d.AsFloat32(src)[:n*stride]
	if moving {
		if _, err := f.c.Apply(out, in, stride, tc, tw); err != nil {
			dst.Release()
			return fmt.Errorf("%s: %w", f.in, err)
		}
	} else {
		copy(out, in)
	}
	m.SetFrame(f.out, dst)
	return emit(m)
}

// motion returns the twist for this datamap; moving is false when none is
// known yet (the first datamap of an ego_pose sequence).
func (f *Filter) motion(m *ds3d.DataMap) (tw Twist, moving bool, err error) {
	if !f.fromPose {
		return f.twist, true, nil
	}
	t, ok := m.Timestamp()
	if !ok {
		return tw, false, fmt.Errorf("deskew: datamap has no %s (twist_source = ego_pose needs times)", ds3d.KeyTimestamp)
	}
	pose, err := ds3d.Get[ds3d.Mat4](m, f.pose)
	if err != nil {
		return tw, false, fmt.Errorf("deskew: frame at t=%d ns: %w (twist_source = ego_pose)", t, err)
	}
	if err := checkRigid(pose); err != nil {
		return tw, false, fmt.Errorf("deskew: frame at t=%d ns: %s: %w", t, f.pose, err)
	}
	prev, prevT, had := f.prev, f.prevT, f.havePrev
	f.prev, f.prevT, f.havePrev = pose, t, true
	if !had || t <= prevT {
		// No interval to measure the motion over (the first frame, or a
		// restarted stream): pass the points unchanged.
		f.passed++
		if f.env != nil && f.env.Log != nil && (f.passed == 1 || f.passed%100 == 0) {
			f.env.Log.Info("deskew: no previous pose, frame passed unchanged", "t_ns", t, "passed", f.passed)
		}
		return tw, false, nil
	}
	tw, err = Log(prev, pose, float64(t-prevT)*1e-9)
	return tw, err == nil, err
}

// Passed is the number of datamaps passed unchanged for want of a previous
// pose.
func (f *Filter) Passed() int { return f.passed }

// PoolStats reports the output pool under its key (for the metrics).
func (f *Filter) PoolStats() []ds3d.PoolStat { return []ds3d.PoolStat{f.pool.Stat(string(f.out))} }

// checkRigid accepts finite transforms whose rotation is orthonormal
// within 1e-6 and whose last row is 0 0 0 1.
func checkRigid(m ds3d.Mat4) error {
	for i, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("not a rigid transform: entry %d is %v", i, v)
		}
	}
	if m[12] != 0 || m[13] != 0 || m[14] != 0 || m[15] != 1 {
		return fmt.Errorf("not a rigid transform: last row [%v %v %v %v], want [0 0 0 1]", m[12], m[13], m[14], m[15])
	}
	for r := 0; r < 3; r++ {
		for q := 0; q < 3; q++ {
			dot := m[r*4]*m[q*4] + m[r*4+1]*m[q*4+1] + m[r*4+2]*m[q*4+2]
			want := 0.0
			if r == q {
				want = 1
			}
			if math.Abs(dot-want) > 1e-6 {
				return fmt.Errorf("not a rigid transform: rotation rows %d·%d = %v, want %v", r, q, dot, want)
			}
		}
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindFilter, "deskew",
		`Motion-distortion correction (Autoware's distortion_corrector): every point is moved from the lidar pose at its own time (the time column) to the pose at the reference time, with the ego twist from the config or from consecutive DS3D::EgoPose values; 2D (x, y, yaw) or 3D; all columns kept.`,
		func() *Config {
			c := &Config{TimeColumn: ds3d.ColTime, TwistSource: "config", Linear: []float64{0, 0, 0}, Angular: []float64{0, 0, 0},
				PoseKey: string(ds3d.KeyEgoPose), Mode: "2d", Reference: "stamp", MaxError: 0.002, MaxRange: 250}
			c.InputKey, c.OutputKey, c.MemPoolSize = string(ds3d.KeyLidarXYZI), string(ds3d.KeyLidarXYZI), 4
			return c
		},
		func(c *Config, env *ds3d.Env) (any, error) { return New(c, env) })
}
