//go:build !(goexperiment.simd && amd64)

package detect

// search is the heading search of FitLShape (see searchScalar).
func (s *lshape) search(x, y []float64, stride int, area bool) float64 {
	return s.searchScalar(x, y, stride, area)
}

// lshapeVec is empty without vector kernels.
type lshapeVec struct{}

func (*lshapeVec) reset() {}
