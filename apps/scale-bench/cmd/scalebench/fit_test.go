package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// noisy is a power law k over the cost-curve sizes with a fixed ±8 %
// wobble, like a median taken on a busy machine.
func noisy(k float64) (n, t []float64) {
	wobble := []float64{1.05, 0.93, 1.08, 0.97, 1.02, 0.95}
	for i, v := range []float64{1e4, 3e4, 1.2e5, 5e5, 1e6, 2e6} {
		n = append(n, v)
		t = append(t, 2e-8*math.Pow(v, k)*wobble[i])
	}
	return n, t
}

// TestFitExactPowerLaw: on t = a·n^k exactly the fit returns k and a and
// R² = 1 (the defining property of the log-log least squares line).
func TestFitExactPowerLaw(t *testing.T) {
	for _, k := range []float64{0.5, 1, 1.5, 2} {
		var n, ts []float64
		for _, v := range []float64{1e4, 3e4, 1.2e5, 5e5, 1e6, 2e6} {
			n, ts = append(n, v), append(ts, 3e-9*math.Pow(v, k))
		}
		f, err := FitPowerLaw(n, ts)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(f.K-k) > 1e-9 || math.Abs(f.A/3e-9-1) > 1e-6 || f.R2 < 1-1e-12 {
			t.Errorf("k=%v: got %+v", k, f)
		}
	}
}

// TestFitNLogN: n log n over 10k–2M is not a power law; its least-squares
// exponent is the mean slope d(log t)/d(log n) = 1 + 1/ln n over the range,
// between 1 + 1/ln(2M) and 1 + 1/ln(10k), and the fit must land there.
func TestFitNLogN(t *testing.T) {
	var n, ts []float64
	for _, v := range []float64{1e4, 3e4, 1.2e5, 5e5, 1e6, 2e6} {
		n, ts = append(n, v), append(ts, 1e-8*v*math.Log(v))
	}
	f, err := FitPowerLaw(n, ts)
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := 1+1/math.Log(2e6), 1+1/math.Log(1e4); f.K < lo || f.K > hi {
		t.Errorf("n log n: k = %.4f, want within [%.4f, %.4f]", f.K, lo, hi)
	}
}

// TestFitMatchesNumpy checks the fit on noisy data against numpy.polyfit
// of log t on log n, an independent least-squares implementation.
func TestFitMatchesNumpy(t *testing.T) {
	n, ts := noisy(1.3)
	f, err := FitPowerLaw(n, ts)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal([][]float64{n, ts})
	out := testenv.RunPython(t, []string{"numpy"}, "-c", `
import json, sys, numpy as np
n, t = json.loads(sys.argv[1])
k, b = np.polyfit(np.log(n), np.log(t), 1)
print(k, np.exp(b))
`, string(js))
	fields := strings.Fields(string(out))
	if len(fields) != 2 {
		t.Fatalf("numpy printed %q, want two numbers", out)
	}
	k, err1 := strconv.ParseFloat(fields[0], 64)
	a, err2 := strconv.ParseFloat(fields[1], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("numpy printed %q", out)
	}
	if math.Abs(f.K-k) > 1e-9 || math.Abs(f.A/a-1) > 1e-7 {
		t.Errorf("fit k=%.12f a=%.6g, numpy k=%.12f a=%.6g", f.K, f.A, k, a)
	}
	if math.Abs(f.K-1.3) > 0.05 || f.R2 < 0.99 {
		t.Errorf("noisy k=1.3 curve: got %+v", f)
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	for name, c := range map[string][2][]float64{
		"one point":  {{1e4}, {1}},
		"same sizes": {{1e4, 1e4, 1e4}, {1, 2, 3}},
		"zero time":  {{1e4, 1e5}, {0, 1}},
		"NaN time":   {{1e4, 1e5}, {math.NaN(), 1}},
		"lengths":    {{1e4, 1e5}, {1}},
		"inf size":   {{1e4, math.Inf(1)}, {1, 2}},
		"negative n": {{-1, 1e5}, {1, 2}},
	} {
		if f, err := FitPowerLaw(c[0], c[1]); err == nil {
			t.Errorf("%s: got %+v, want an error", name, f)
		}
	}
}
