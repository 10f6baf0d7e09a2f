// Package sweeps densifies lidar clouds by multi-sweep accumulation, as
// nuScenes-trained detectors (CenterPoint, PointPillars-nuScenes) expect:
// the last N sweeps, each moved into the current sweep's sensor frame with
// the ego poses (DS3D::EgoPose) of both timestamps, concatenated with a
// time-lag column time_lag = t_now − t_sweep in seconds ([x, y, z,
// intensity, time_lag] for [x, y, z, intensity] input). Every input column
// travels with its point and keeps its name; a per-point time column is
// rebased onto the current sweep's timestamp. Accumulator is the plain
// function form with reusable buffers; sweep_accumulator is the
// ds3d::datafilter component.
package sweeps
