package kernels

import "math"

// erf on |x| < 1 is x·P(x²), P fitted to erf(x)/x on [0, 1] (least
// squares on Chebyshev nodes, relative weights); beyond, erf(x) =
// 1 − erfc(|x|) with erfc(z) = t·exp(−z² + Q(t)), t = 1/(1 + z/2)
// (Numerical Recipes' erfcc, relative error < 1.2e-7 of erfc, which is
// below 0.16 there, so a fraction of an ulp of the result). Measured
// against math.Erf in TestErf.
const (
	erfP0 = 1.128379225730896
	erfP1 = -0.3761262893676758
	erfP2 = 0.11283612251281738
	erfP3 = -0.026854805648326874
	erfP4 = 0.005190048832446337
	erfP5 = -0.0008024311973713338
	erfP6 = 7.898066542111337e-05

	erfQ0 = -1.26551223
	erfQ1 = 1.00002368
	erfQ2 = 0.37409196
	erfQ3 = 0.09678418
	erfQ4 = -0.18628806
	erfQ5 = 0.27886807
	erfQ6 = -1.13520398
	erfQ7 = 1.48851587
	erfQ8 = -0.82215223
	erfQ9 = 0.17087277
)

// erff is the scalar form of the vector erf: the same formulas, each
// step rounded to float32 (with fused multiply-adds where the vector
// code has them).
func erff(x float32) float32 {
	fma := func(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }
	a := float32(math.Abs(float64(x)))
	if a < 1 {
		x2 := x * x
		p := fma(x2, erfP6, erfP5)
		p = fma(p, x2, erfP4)
		p = fma(p, x2, erfP3)
		p = fma(p, x2, erfP2)
		p = fma(p, x2, erfP1)
		p = fma(p, x2, erfP0)
		return x * p
	}
	if a != a {
		return x
	}
	t := 1 / fma(a, 0.5, 1)
	q := fma(t, erfQ9, erfQ8)
	q = fma(q, t, erfQ7)
	q = fma(q, t, erfQ6)
	q = fma(q, t, erfQ5)
	q = fma(q, t, erfQ4)
	q = fma(q, t, erfQ3)
	q = fma(q, t, erfQ2)
	q = fma(q, t, erfQ1)
	q = fma(q, t, erfQ0)
	r := 1 - t*expf(q-a*a)
	if x < 0 {
		return -r
	}
	return r
}

func erfGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = erff(v)
	}
}

// geluGeneric computes dst = x·½·(1 + erf(x/√2)) (GELU, erf form) with
// the steps of the exported graph: x/√2, erf, +1, ·x, ·½.
func geluGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = v * (erff(v/math.Sqrt2) + 1) * 0.5
	}
}
