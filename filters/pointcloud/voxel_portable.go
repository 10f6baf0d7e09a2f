//go:build !goexperiment.simd || !amd64

package pointcloud

// voxelBounds has no portable vector kernel: ok false, the caller's scalar
// loop runs.
func voxelBounds(s []float32) (lo, hi [3]float32, finite int, ok bool) { return lo, hi, 0, false }

// voxelIndices has no portable vector kernel: false, the caller's scalar
// loop runs.
func voxelIndices(ids []uint32, s []float32, inv, fmin [3]float32, mx, my uint32) bool { return false }
