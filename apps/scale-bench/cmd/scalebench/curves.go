package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/fusion/track3d"
)

// Stage is one component measured on clouds of growing size: a registered
// implementation and the [component.config] keys it runs with.
type Stage struct {
	Name string         // label in tables and plots
	Impl string         // registered implementation
	Cfg  map[string]any // its config table, as TOML would decode it
	Note string         // what the stage does, for the docs
}

// kittiROI is lidar-inference's region of interest (the KITTI camera box).
var kittiROI = map[string]any{"x_range": []any{0.0, 70.4}, "y_range": []any{-40.0, 40.0}, "z_range": []any{-3.0, 1.0}}

// Stages are the point-cloud components of the cost curves, with the
// settings the sample apps use. Every output pool holds 2 frames: the
// timing loop hands each output back before the next call.
func Stages() []Stage {
	with := func(base map[string]any, kv ...any) map[string]any {
		m := map[string]any{"mem_pool_size": int64(2)}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	return []Stage{
		{"crop", "roi_crop", with(kittiROI), "axis-aligned box, KITTI camera ROI"},
		{"transform", "point_transform", with(nil, "matrix", []any{0.99, -0.14, 0.0, 1.0, 0.14, 0.99, 0.0, 2.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0, 0.0, 1.0}), "rigid 4×4"},
		{"voxel 0.1 m", "voxel_downsample", with(nil, "leaf_size", []any{0.1}), "PCL VoxelGrid centroids"},
		{"voxel 0.2 m", "voxel_downsample", with(nil, "leaf_size", []any{0.2}), "PCL VoxelGrid centroids"},
		{"subsample random", "subsample", with(nil, "mode", "random", "points", int64(16384)), "16,384-point budget"},
		{"statistical outlier", "statistical_outlier_removal", with(nil, "mean_k", int64(16)), "k = 16, 1 σ, one worker"},
		{"radius outlier", "radius_outlier_removal", with(nil, "radius", 0.5, "min_neighbors", int64(3)), "r = 0.5 m, ≥ 3"},
		{"ground ransac", "ransac_ground_segmentation", with(nil), "200 hypotheses, 4,096-point sample"},
		{"pillarize", "pillar_scatter_prep", with(nil), "PointPillars 432×496, 12,000 pillars"},
		{"voxelize", "voxelize", with(nil, "pad_to_max_voxels", false), "hard voxels 0.2×0.2×8 m, 8,000 voxels"},
		{"sweeps x3", "sweep_accumulator", with(nil, "max_sweeps", int64(3), "missing_pose", "identity"), "3 sweeps, fixed sensor"},
		{"detector", "model_free_detector", map[string]any{"fov_deg": 80.0}, "lidar-inference's settings"},
	}
}

// Point is one measured size. Median is the median CPU time of the
// measuring thread per run (wall time where no thread clock exists): on a
// shared machine it leaves out the waits for a core that wall time counts.
type Point struct {
	N          int       `json:"n"`
	Median     float64   `json:"median_s"`
	MedianWall float64   `json:"median_wall_s"`
	Runs       []float64 `json:"runs_s"`
	RunsWall   []float64 `json:"runs_wall_s"`
}

// sample times fn on the (locked) calling thread: CPU time, or wall time
// where the thread clock is missing, and wall time.
func sample(fn func() error) (cpu, wall time.Duration, err error) {
	c0, t0 := threadCPU(), time.Now()
	err = fn()
	wall = time.Since(t0)
	cpu = threadCPU() - c0
	if c0 == 0 {
		cpu = wall
	}
	return cpu, wall, err
}

// Curve is one stage's cost over the sizes, with the fitted exponent.
type Curve struct {
	Name   string  `json:"name"`
	Impl   string  `json:"impl"`
	Note   string  `json:"note"`
	Unit   string  `json:"unit"` // what n counts: points or boxes
	Points []Point `json:"points"`
	Fit    Fit     `json:"fit"`
}

// build makes a filter from its registered spec and config table, as the
// pipeline does for a file.
func build(impl string, tbl map[string]any) (ds3d.Filter, error) {
	spec, ok := ds3d.Lookup(impl)
	if !ok {
		return nil, fmt.Errorf("no component %q is registered", impl)
	}
	cfg, err := config.DecodeConfig(spec, impl, ".", tbl, true)
	if err != nil {
		return nil, err
	}
	c, err := spec.Build(cfg, &ds3d.Env{Name: impl, Inputs: 1})
	if err != nil {
		return nil, err
	}
	if s, ok := c.(ds3d.Starter); ok {
		if err := s.Start(context.Background()); err != nil {
			return nil, fmt.Errorf("%s: start: %w", impl, err)
		}
	}
	f, ok := c.(ds3d.Filter)
	if !ok {
		return nil, fmt.Errorf("%s is not a filter", impl)
	}
	return f, nil
}

// Timing bounds the runs per size: at least MinRuns, then more until
// Budget is spent or MaxRuns is reached.
type Timing struct {
	MinRuns, MaxRuns int
	Budget           time.Duration
}

// MeasureStage times one stage on a cloud of each size, one Process call
// per run on the calling goroutine. The first call per size is a warm-up
// (it grows the pools and scratch) and is not counted.
func MeasureStage(ctx context.Context, st Stage, pool *Pool, sizes []int, tm Timing) (Curve, error) {
	cv := Curve{Name: st.Name, Impl: st.Impl, Note: st.Note, Unit: "points"}
	runtime.LockOSThread() // the thread clock must follow this goroutine
	defer runtime.UnlockOSThread()
	for _, n := range sizes {
		f, err := build(st.Impl, st.Cfg)
		if err != nil {
			return cv, fmt.Errorf("%s: %w", st.Name, err)
		}
		src := pool.Cloud(n, uint64(n))
		var ts int64
		call := func() (time.Duration, time.Duration, error) {
			m := ds3d.NewDataMap()
			m.SetFrame(ds3d.KeyLidarXYZI, src.Retain())
			ts += int64(100 * time.Millisecond)
			m.SetTimestamp(ts)
			return sample(func() error {
				return f.Process(ctx, m, func(out *ds3d.DataMap) error { out.Release(); return nil })
			})
		}
		if _, _, err := call(); err != nil {
			return cv, fmt.Errorf("%s at %d points: %w", st.Name, n, err)
		}
		var pt Point
		start := time.Now()
		for len(pt.Runs) < tm.MinRuns || (len(pt.Runs) < tm.MaxRuns && time.Since(start) < tm.Budget) {
			c, w, err := call()
			if err != nil {
				return cv, fmt.Errorf("%s at %d points: %w", st.Name, n, err)
			}
			pt.Runs, pt.RunsWall = append(pt.Runs, c.Seconds()), append(pt.RunsWall, w.Seconds())
		}
		pt.N, pt.Median, pt.MedianWall = n, median(pt.Runs), median(pt.RunsWall)
		cv.Points = append(cv.Points, pt)
		if c, ok := f.(interface{ Close() error }); ok {
			c.Close()
		}
		runtime.GC() // the next size starts without this one's garbage
	}
	return cv, fitCurve(&cv)
}

// MeasureTracker times tracker_3d's Update on m boxes per frame for each m:
// the tracker's input is boxes, not points. Boxes sit on a 7 m grid (beyond
// the 3 m gate, so every association is one to one) and drive at 10 m/s;
// the first 10 frames build the tracks and are not counted.
func MeasureTracker(sizes []int, tm Timing) (Curve, error) {
	cv := Curve{Name: "tracker_3d", Impl: "tracker_3d", Note: "CV Kalman + Hungarian per class", Unit: "boxes"}
	cfg := track3d.DefaultConfig()
	if err := ds3d.CheckConfig(cfg); err != nil {
		return cv, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, m := range sizes {
		tr := track3d.New(cfg.Params())
		side := int(math.Ceil(math.Sqrt(float64(m))))
		dets := make([]ds3d.Box3D, m)
		frame := func(k int) []ds3d.Box3D {
			for i := range dets {
				dets[i] = ds3d.Box3D{
					CX: float32(i%side)*7 + float32(k), CY: float32(i/side) * 7, CZ: -0.8,
					DX: 4.2, DY: 1.8, DZ: 1.5, Score: 0.9, Label: "Car",
				}
			}
			return dets
		}
		k := 0
		for ; k < 10; k++ {
			tr.Update(int64(k)*int64(100*time.Millisecond), frame(k))
		}
		var pt Point
		start := time.Now()
		for len(pt.Runs) < tm.MinRuns || (len(pt.Runs) < tm.MaxRuns && time.Since(start) < tm.Budget) {
			d := frame(k)
			c, w, _ := sample(func() error { tr.Update(int64(k)*int64(100*time.Millisecond), d); return nil })
			pt.Runs, pt.RunsWall = append(pt.Runs, c.Seconds()), append(pt.RunsWall, w.Seconds())
			k++
		}
		pt.N, pt.Median, pt.MedianWall = m, median(pt.Runs), median(pt.RunsWall)
		cv.Points = append(cv.Points, pt)
	}
	return cv, fitCurve(&cv)
}

func fitCurve(cv *Curve) error {
	var n, t []float64
	for _, p := range cv.Points {
		n, t = append(n, float64(p.N)), append(t, p.Median)
	}
	f, err := FitPowerLaw(n, t)
	if err != nil {
		return fmt.Errorf("%s: %w", cv.Name, err)
	}
	cv.Fit = f
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
