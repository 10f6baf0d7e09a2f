//go:build !goexperiment.simd || !amd64

package outlier

// scanGroup compares every candidate point of ranges with the group's
// queries and keeps, per lane j, the k smallest squared distances below
// w[j] in d[j·ls:] (ascending); w[j] becomes lane j's k-th. ranges[0:2]
// is the group itself, where lane j skips its own point. It returns the
// number of candidates.
func scanGroup(pts []float32, ranges []int32, q *[3][groupSize]float32, d []float32, ls, k int, w *[groupSize]float32) int {
	return scanGroupScalar(pts, ranges, q, d, ls, k, w)
}

// laneMeans sets out[j], j < m, to PCL's mean neighbour distance of lane
// j: the float32 square roots of its k squared distances summed in
// float64 in ascending order, divided by k, rounded to float32.
func laneMeans(d []float32, ls, k, m int, out *[groupSize]float32) {
	laneMeansScalar(d, ls, k, m, out)
}
