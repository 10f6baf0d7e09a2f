package sweeps

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ErrNoPose is wrapped by the errors for a datamap without a pose or
// timestamp.
var ErrNoPose = errors.New("no ego pose")

// Config configures sweep_accumulator.
type Config struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame of the current sweep"`
	ds3d.OutputGroup `doc:"key the densified [M,C+1] frame (the input's columns, then time_lag = Δt in seconds) is stored under (may equal the input key)"`
	PoseKey          string    `toml:"pose_datamap_key" nonempty:"true" doc:"key of the ego pose: a ds3d.Mat4 world-from-ego (DS3D::EgoPose)"`
	MaxSweeps        int       `toml:"max_sweeps" min:"1" max:"1000" doc:"sweeps per output, the current one included (CenterPoint nsweeps; nuScenes models use 10)"`
	MaxTimeLag       float64   `toml:"max_time_lag" min:"0" max:"1e9" unit:"s" doc:"older sweeps (t_now − t_sweep above this, seconds) are left out; 0 = no limit"`
	SensorToEgo      []float64 `toml:"sensor_to_ego" len:"12|16" finite:"true" doc:"row-major 4×4 (16) or 3×4 (12) transform from the points' frame to the ego frame (nuScenes lidar2ego); empty = identity"`
	MissingPose      string    `toml:"missing_pose" enum:"drop|error|identity" doc:"a datamap without pose or timestamp: drop (not emitted, warning logged), error (the pipeline stops with the error) or identity (a fixed sensor: world = ego)"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// Validate checks that the transform is rigid (its tags, its length).
func (c *Config) Validate() error {
	if len(c.SensorToEgo) > 0 {
		m, _ := ds3d.Mat4From(c.SensorToEgo)
		if err := checkRigid(m); err != nil {
			return ds3d.ConfigErrorf("sensor_to_ego", "%v", err)
		}
	}
	return nil
}

// Filter is the sweep_accumulator component.
type Filter struct {
	in, out, pose ds3d.Key
	missing       string
	acc           Accumulator
	pool          *ds3d.FramePool
	env           *ds3d.Env
	dropped       int
}

// New builds sweep_accumulator from a validated config.
func New(c *Config, env *ds3d.Env) (*Filter, error) {
	pool, err := ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(0, 5)) })
	if err != nil {
		return nil, err
	}
	f := &Filter{in: ds3d.Key(c.InputKey), out: ds3d.Key(c.OutputKey), pose: ds3d.Key(c.PoseKey), missing: c.MissingPose,
		pool: pool, env: env,
		acc: Accumulator{MaxSweeps: c.MaxSweeps, MaxTimeLag: int64(math.Round(c.MaxTimeLag * 1e9))}}
	if len(c.SensorToEgo) > 0 {
		f.acc.SensorToEgo, _ = ds3d.Mat4From(c.SensorToEgo)
	}
	return f, nil
}

// poseOf returns the datamap's pose and timestamp, or an error wrapping
// ErrNoPose that says which is missing.
func (f *Filter) poseOf(m *ds3d.DataMap) (ds3d.Mat4, int64, error) {
	t, ok := m.Timestamp()
	if !ok {
		return ds3d.Mat4{}, 0, fmt.Errorf("datamap has no %s: %w (sweeps need times)", ds3d.KeyTimestamp, ErrNoPose)
	}
	if f.missing == "identity" && !m.Has(f.pose) {
		return ds3d.Identity4, t, nil
	}
	p, err := ds3d.Get[ds3d.Mat4](m, f.pose)
	if err != nil {
		return ds3d.Mat4{}, t, fmt.Errorf("frame at t=%d ns: %w: %v (set missing_pose = \"identity\" for a fixed sensor)", t, ErrNoPose, err)
	}
	return p, t, nil
}

// Process densifies the input sweep into a pooled frame. A datamap without
// pose or timestamp is dropped (missing_pose = drop: a warning is logged
// for the first and then every 100th), fails the pipeline (error), or gets
// the identity pose (identity); its sweep is not kept either way.
func (f *Filter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := m.Frame(f.in)
	if err != nil {
		return err
	}
	pose, t, err := f.poseOf(m)
	if err != nil {
		if f.missing == "error" {
			return err
		}
		if f.dropped%100 == 0 && f.env != nil && f.env.Log != nil {
			f.env.Log.Warn("frame dropped", "err", err, "dropped", f.dropped+1)
		}
		f.dropped++
		return nil
	}
	dst, err := f.pool.Get(ctx)
	if err != nil {
		return err
	}
	if _, err := f.acc.Add(dst, src, pose, t); err != nil {
		dst.Release()
		return fmt.Errorf("%s: %w", f.in, err)
	}
	m.SetFrame(f.out, dst)
	return emit(m)
}

// Dropped is the number of datamaps dropped for a missing pose.
func (f *Filter) Dropped() int { return f.dropped }

func init() {
	ds3d.Register(ds3d.KindFilter, "sweep_accumulator",
		`Multi-sweep densification (nuScenes-style): the last max_sweeps sweeps moved into the current sensor frame with the ego poses (DS3D::EgoPose) and a time-lag column appended (columns: the input's, then time_lag in seconds; a per-point time column is rebased onto the current sweep's timestamp).`,
		func() *Config {
			c := &Config{PoseKey: string(ds3d.KeyEgoPose), MaxSweeps: 10, MaxTimeLag: 0.5, MissingPose: "drop"}
			c.InputKey, c.OutputKey, c.MemPoolSize = string(ds3d.KeyLidarXYZI), string(ds3d.KeyLidarXYZI), 4
			return c
		},
		func(c *Config, env *ds3d.Env) (any, error) { return New(c, env) })
}

// PoolStats reports the accumulated-points pool under its key (for the
// metrics).
func (f *Filter) PoolStats() []ds3d.PoolStat { return []ds3d.PoolStat{f.pool.Stat(string(f.out))} }
