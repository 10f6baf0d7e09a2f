package main

import (
	"fmt"
	"math"
)

// Fit is a power law t = a·n^k fitted by least squares on log n against
// log t, with the coefficient of determination of that line.
type Fit struct {
	K  float64 // the exponent: the slope of log t over log n
	A  float64 // t at n = 1
	R2 float64
}

// FitPowerLaw fits t = a·n^k to the points (n[i], t[i]). It needs at least
// two distinct positive n and positive t; anything else is an error, not a
// NaN, so that a broken measurement cannot print as an exponent.
func FitPowerLaw(n, t []float64) (Fit, error) {
	if len(n) != len(t) {
		return Fit{}, fmt.Errorf("fit: %d sizes but %d times", len(n), len(t))
	}
	if len(n) < 2 {
		return Fit{}, fmt.Errorf("fit: need at least 2 points, got %d", len(n))
	}
	var sx, sy, sxx, sxy float64
	for i := range n {
		if !(n[i] > 0) || !(t[i] > 0) || math.IsInf(n[i], 0) || math.IsInf(t[i], 0) {
			return Fit{}, fmt.Errorf("fit: point %d (n=%v, t=%v): both must be positive and finite", i, n[i], t[i])
		}
		x, y := math.Log(n[i]), math.Log(t[i])
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	m := float64(len(n))
	den := m*sxx - sx*sx
	if den <= 1e-12*m*sxx {
		return Fit{}, fmt.Errorf("fit: all %d sizes are the same", len(n))
	}
	k := (m*sxy - sx*sy) / den
	b := (sy - k*sx) / m
	var ssRes, ssTot float64
	mean := sy / m
	for i := range n {
		y := math.Log(t[i])
		r := y - (b + k*math.Log(n[i]))
		ssRes += r * r
		ssTot += (y - mean) * (y - mean)
	}
	r2 := 1.0
	if ssTot > 0 {
		r2 = 1 - ssRes/ssTot
	}
	return Fit{K: k, A: math.Exp(b), R2: r2}, nil
}
