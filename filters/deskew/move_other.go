//go:build !(goexperiment.simd && amd64)

package deskew

// move3 applies m (3×4) to the x, y, z of every point of v (portable
// build: the scalar loop).
func move3(v []float32, stride int, m *[12]float32) { move3Scalar(v, stride, m) }

// move2 is move3 for planar transforms (z unchanged).
func move2(v []float32, stride int, m *[12]float32) { move2Scalar(v, stride, m) }
