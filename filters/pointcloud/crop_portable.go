//go:build !goexperiment.simd || !amd64

package pointcloud

// cropXYZI is Crop's 4-column loop; it returns the number of values kept.
func cropXYZI(d, s []float32, b *Box) int {
	return cropXYZIScalar(d, s, b, 0, 0)
}
