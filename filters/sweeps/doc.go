// Package sweeps densifies lidar clouds by multi-sweep accumulation, as
// nuScenes-trained detectors (CenterPoint, PointPillars-nuScenes) expect:
// the last N sweeps, each moved into the current sweep's sensor frame with
// the ego poses (DS3D::EgoPose) of both timestamps, concatenated with a
// time-lag column Δt = t_now − t_sweep in seconds ([x, y, z, i, Δt] for
// [x, y, z, i] input). Accumulator is the plain function form with reusable
// buffers; sweep_accumulator is the ds3d::datafilter component.
package sweeps
