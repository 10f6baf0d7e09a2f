//go:build !(goexperiment.simd && amd64)

package detect

// countNear counts the sample points within thr of the plane (a, b, cc, d).
func countNear(sx, sy, sz []float64, a, b, cc, d, thr float64) int {
	return countNearScalar(sx, sy, sz, a, b, cc, d, thr, 0)
}
