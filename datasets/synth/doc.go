// Package synth generates procedural street scenes with exact ground truth:
// a road with lanes, kerbs and sidewalks, buildings, poles, trees, parked
// and moving cars, vans, trucks, walking pedestrians and cyclists, seen by
// an ego vehicle that drives with a constant speed and yaw rate. Every
// surface is triangles in a bounding-volume hierarchy (a binned-SAH BVH
// traversed iteratively without allocation), which a simulated lidar ray
// casts with real beam tables (the HDL-64E S2 of KITTI, VLP-16, VLP-32C, an
// Ouster OS1-128 pattern and a dense mode), per-point ring and time, the
// sweep's motion distortion (with the undistorted points kept as ground
// truth), Gaussian range noise, dropout and a reflectivity × incidence
// intensity; the same scene renders to a KITTI-calibrated camera image and
// depth image. Scenes are deterministic: a seed drives math/rand/v2 PCG
// streams, nothing depends on map order or goroutine timing. WriteKITTI and
// the other writers lay frames out as the KITTI object benchmark, nuScenes
// JSON boxes, PCD and rosbag2 MCAP (docs/SYNTH.md).
package synth
