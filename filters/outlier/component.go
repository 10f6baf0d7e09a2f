package outlier

import (
	"context"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// keyed is the plumbing shared by the components: read the [N,C] f32 frame
// under in, fill pooled frames, store them.
type keyed struct {
	in, out ds3d.Key
	pool    *ds3d.FramePool
}

func newKeyed(in, out string, poolSize int) (keyed, error) {
	pool, err := ds3d.NewFramePool(poolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
	if err != nil {
		return keyed{}, err
	}
	return keyed{in: ds3d.Key(in), out: ds3d.Key(out), pool: pool}, nil
}

// source returns the input frame, checked to be a CPU [N,C≥3] f32 frame.
func (k *keyed) source(m *ds3d.DataMap) (*ds3d.Frame, error) {
	f, err := m.Frame(k.in)
	if err != nil {
		return nil, err
	}
	switch {
	case f.Mem == ds3d.MemGPU:
		return nil, fmt.Errorf("%s: frame in GPU memory; these filters run on CPU frames", k.in)
	case f.DType != ds3d.DTypeF32:
		return nil, fmt.Errorf("%s: frame of %s, want f32", k.in, f.DType)
	case f.Shape.NumDims != 2 || f.Shape.D[1] < 3:
		return nil, fmt.Errorf("%s: frame shape %s, want [N,C] with C ≥ 3", k.in, f.Shape)
	case len(f.Data) < f.Shape.Elements()*4:
		return nil, fmt.Errorf("%s: frame of shape %s holds only %d bytes", k.in, f.Shape, len(f.Data))
	}
	return f, nil
}

// pointFilter is an outlier filter working frame to frame (Statistical,
// Radius).
type pointFilter interface {
	Filter(dst, src *ds3d.Frame) int
}

// process runs p on the input frame into a pooled frame stored under the
// output key: the body of the SOR and radius components.
func (k *keyed) process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit, p pointFilter) error {
	src, err := k.source(m)
	if err != nil {
		return err
	}
	dst, err := k.pool.Get(ctx)
	if err != nil {
		return err
	}
	p.Filter(dst, src)
	m.SetFrame(k.out, dst)
	return emit(m)
}

// SORConfig configures statistical_outlier_removal.
type SORConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame"`
	ds3d.OutputGroup `doc:"key the filtered frame is stored under (may equal the input key: it is replaced)"`
	MeanK            int     `toml:"mean_k" min:"1" max:"1024" doc:"neighbours (the point itself excluded) whose mean distance is taken (PCL setMeanK)"`
	StdMul           float64 `toml:"std_dev_mul" finite:"true" doc:"a point is an outlier when its mean distance exceeds mean + std_dev_mul·stddev (PCL setStddevMulThresh)"`
	Negative         bool    `toml:"negative" doc:"keep the outliers instead of the inliers (PCL setNegative)"`
	Workers          int     `toml:"workers" min:"1" max:"256" doc:"goroutines querying the k-d tree; the result does not depend on it"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// SORFilter is the statistical_outlier_removal component.
type SORFilter struct {
	keyed
	s Statistical
}

// Process filters the input frame into a pooled frame.
func (f *SORFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	return f.process(ctx, m, emit, &f.s)
}

// RadiusConfig configures radius_outlier_removal.
type RadiusConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame"`
	ds3d.OutputGroup `doc:"key the filtered frame is stored under (may equal the input key: it is replaced)"`
	Radius           float64 `toml:"radius" min:">0" unit:"m" doc:"search radius in metres (PCL setRadiusSearch)"`
	MinNeighbors     int     `toml:"min_neighbors" min:"0" doc:"a point needs at least this many other points within radius to be kept (PCL setMinNeighborsInRadius)"`
	Negative         bool    `toml:"negative" doc:"keep the outliers instead of the inliers (PCL setNegative)"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// RadiusFilter is the radius_outlier_removal component.
type RadiusFilter struct {
	keyed
	r Radius
}

// Process filters the input frame into a pooled frame.
func (f *RadiusFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	return f.process(ctx, m, emit, &f.r)
}

// GroundConfig configures ransac_ground_segmentation.
type GroundConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame"`
	ds3d.OutputGroup `doc:"key the non-ground points are stored under (may equal the input key: it is replaced)"`
	GroundKey        string  `toml:"ground_datamap_key" doc:"key the ground points are stored under; empty: not stored"`
	Threshold        float64 `toml:"distance_threshold" min:">0" unit:"m" doc:"points within this distance in metres of the plane are ground (PCL setDistanceThreshold)"`
	Iterations       int     `toml:"max_iterations" min:"1" max:"1000000" doc:"RANSAC hypotheses (PCL setMaxIterations)"`
	MaxTiltDeg       float64 `toml:"max_tilt_deg" min:"0" max:"90" unit:"°" doc:"largest angle in degrees between the plane normal and +z (PCL setEpsAngle); 0: any"`
	SampleSize       int     `toml:"sample_size" min:"0" doc:"points scored per hypothesis (a fixed random sample); 0: all"`
	Seed             int64   `toml:"seed" doc:"random seed: the same cloud and seed give the same plane"`
	Refine           bool    `toml:"refine" doc:"refit the plane to its inliers by least squares (PCL setOptimizeCoefficients)"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// Ground returns the configured RANSAC.
func (c *GroundConfig) Ground() Ground {
	return Ground{Threshold: c.Threshold, Iterations: c.Iterations, MaxTiltDeg: c.MaxTiltDeg,
		SampleSize: c.SampleSize, Seed: uint64(c.Seed), Refine: c.Refine}
}

// GroundFilter is the ransac_ground_segmentation component.
type GroundFilter struct {
	keyed
	ground ds3d.Key
	g      Ground
}

// Process fits the plane and splits the cloud. When no plane is found every
// finite point is stored as non-ground.
func (f *GroundFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := f.source(m)
	if err != nil {
		return err
	}
	rest, err := f.pool.Get(ctx)
	if err != nil {
		return err
	}
	var gf *ds3d.Frame
	if f.ground != "" {
		if gf, err = f.pool.Get(ctx); err != nil {
			rest.Release()
			return err
		}
	}
	p, _, ok := f.g.Fit(src)
	if !ok {
		p = Plane{C: 1, D: math.Inf(1)} // nothing is within the threshold
	}
	f.g.Split(gf, rest, src, p)
	m.SetFrame(f.out, rest)
	if gf != nil {
		m.SetFrame(f.ground, gf)
	}
	return emit(m)
}

func init() {
	lidar := string(ds3d.KeyLidarXYZI)
	ds3d.Register(ds3d.KindFilter, "statistical_outlier_removal",
		`PCL StatisticalOutlierRemoval: drops points whose mean distance to their mean_k nearest neighbours exceeds mean + std_dev_mul·stddev over the cloud (exact k-d tree; same kept set as PCL); NaN/Inf points are dropped.`,
		func() *SORConfig {
			return &SORConfig{InputGroup: ds3d.InputGroup{InputKey: lidar}, OutputGroup: ds3d.OutputGroup{OutputKey: lidar}, MeanK: 16, StdMul: 1, Workers: 1, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *SORConfig, _ *ds3d.Env) (any, error) {
			k, err := newKeyed(c.InputKey, c.OutputKey, c.MemPoolSize)
			if err != nil {
				return nil, err
			}
			return &SORFilter{keyed: k, s: Statistical{MeanK: c.MeanK, StdMul: c.StdMul, Negative: c.Negative, Workers: c.Workers}}, nil
		})
	ds3d.Register(ds3d.KindFilter, "radius_outlier_removal",
		`PCL RadiusOutlierRemoval: keeps the points with at least min_neighbors other points within radius; NaN/Inf points are dropped.`,
		func() *RadiusConfig {
			return &RadiusConfig{InputGroup: ds3d.InputGroup{InputKey: lidar}, OutputGroup: ds3d.OutputGroup{OutputKey: lidar}, Radius: 0.5, MinNeighbors: 2, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *RadiusConfig, _ *ds3d.Env) (any, error) {
			k, err := newKeyed(c.InputKey, c.OutputKey, c.MemPoolSize)
			if err != nil {
				return nil, err
			}
			return &RadiusFilter{keyed: k, r: Radius{Radius: c.Radius, MinNeighbors: c.MinNeighbors, Negative: c.Negative}}, nil
		})
	ds3d.Register(ds3d.KindFilter, "ransac_ground_segmentation",
		`RANSAC ground plane (near-horizontal, seeded, optional least-squares refit): stores the non-ground points under output_datamap_key and optionally the ground points under ground_datamap_key.`,
		func() *GroundConfig {
			return &GroundConfig{InputGroup: ds3d.InputGroup{InputKey: lidar}, OutputGroup: ds3d.OutputGroup{OutputKey: lidar}, Threshold: 0.2, Iterations: 200, MaxTiltDeg: 15,
				SampleSize: 4096, Seed: 1, Refine: true, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *GroundConfig, _ *ds3d.Env) (any, error) {
			k, err := newKeyed(c.InputKey, c.OutputKey, c.MemPoolSize)
			if err != nil {
				return nil, err
			}
			return &GroundFilter{keyed: k, ground: ds3d.Key(c.GroundKey), g: c.Ground()}, nil
		})
}

// PoolStats reports the output frame pool under the output key (for the
// metrics; every filter embedding keyed has it).
func (k *keyed) PoolStats() []ds3d.PoolStat { return []ds3d.PoolStat{k.pool.Stat(string(k.out))} }
