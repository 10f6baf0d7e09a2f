package kernels

import "math"

// layerNormGeneric normalises one row as the exported LayerNorm graph
// does: d = x − mean(x), y = d / √(mean(d²) + eps) · gamma + beta (gamma
// and beta nil for none), the means summed in float64.
func layerNormGeneric(dst, x, gamma, beta []float32, eps float32) {
	n := len(x)
	dst = dst[:n]
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean := float32(s / float64(n))
	var q float64
	for i, v := range x {
		d := v - mean
		dst[i] = d
		q += float64(d) * float64(d)
	}
	sd := float32(math.Sqrt(float64(float32(q/float64(n)) + eps)))
	for i := range dst {
		y := dst[i] / sd
		if gamma != nil {
			y *= gamma[i]
		}
		if beta != nil {
			y += beta[i]
		}
		dst[i] = y
	}
}

// softmaxGeneric computes the softmax of the row x into dst: e^(x−max)
// in float64, normalised by their float64 sum.
func softmaxGeneric(dst, x []float32) {
	x = x[:len(dst)]
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var s float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		s += e
		dst[i] = float32(e)
	}
	inv := 1 / s
	for i := range dst {
		dst[i] = float32(float64(dst[i]) * inv)
	}
}
