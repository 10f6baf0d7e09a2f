package kernels

import (
	"math"
	"testing"
)

// ulps is the distance between got and the float64 want in units of the
// float32 spacing at want.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	sp := math.Nextafter32(float32(math.Abs(float64(w))), float32(math.Inf(1))) - float32(math.Abs(float64(w)))
	return math.Abs(float64(got)-want) / float64(sp)
}

// TestErf compares Erf (vector and scalar paths: the tail of a slice is
// scalar) and GELU with math.Erf on a dense grid over [−6, 6] and on
// tiny and huge arguments.
func TestErf(t *testing.T) {
	var xs []float32
	for x := -6.0; x <= 6; x += 1.0 / 4096 {
		xs = append(xs, float32(x))
	}
	for _, x := range []float32{0, 1e-30, -1e-20, 1e-6, 0.999999, 1, 1.0000001, 3.9, 4, 10, 1e30, float32(math.Inf(1)), float32(math.Inf(-1))} {
		xs = append(xs, x, -x)
	}
	xs = append(xs, 0.5) // an odd length leaves a scalar tail
	got := make([]float32, len(xs))
	Erf(got, xs)
	worst, at := 0.0, float32(0)
	for i, x := range xs {
		u := ulps(got[i], math.Erf(float64(x)))
		if u > worst {
			worst, at = u, x
		}
		if s := erff(x); ulps(s, math.Erf(float64(x))) > 3 {
			t.Errorf("erff(%v) = %v, math.Erf %v", x, s, math.Erf(float64(x)))
		}
	}
	t.Logf("Erf: worst %.2f ulp at x = %v", worst, at)
	if worst > 3 {
		t.Errorf("Erf: %.2f ulp at x = %v (got %v, math.Erf %v)", worst, at, got[0], math.Erf(float64(at)))
	}
	GELU(got, xs)
	for i, x := range xs {
		if math.IsInf(float64(x), 0) {
			continue
		}
		want := float64(x) * 0.5 * (1 + math.Erf(float64(x)/math.Sqrt2))
		if d := math.Abs(float64(got[i]) - want); d > 4e-7*(1+math.Abs(want)) {
			t.Fatalf("GELU(%v) = %v, want %v", x, got[i], want)
		}
	}
}

// TestSoftmaxRow compares SoftmaxRow with a float64 softmax for rows
// around the vector width (ViT's 197 tokens included).
func TestSoftmaxRow(t *testing.T) {
	for _, n := range []int{1, 5, 16, 17, 197, 1000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32((i*7919)%4001)/100 - 20
		}
		m := math.Inf(-1)
		for _, v := range x {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range x {
			s += math.Exp(float64(v) - m)
		}
		y := make([]float32, n)
		SoftmaxRow(y, x)
		for i, v := range x {
			want := math.Exp(float64(v)-m) / s
			if d := math.Abs(float64(y[i]) - want); d > 4e-7*want+1e-12 {
				t.Fatalf("n=%d i=%d: got %v, want %v", n, i, y[i], want)
			}
		}
	}
}

// BenchmarkGELU times GELU and Erf on 64 Ki floats (L2-resident).
func BenchmarkGELU(b *testing.B) {
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = float32(i%2000)/250 - 4
	}
	y := make([]float32, len(x))
	b.Run("gelu", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			GELU(y, x)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x)), "ns/elem")
	})
	b.Run("erf", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Erf(y, x)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(x)), "ns/elem")
	})
}

// TestExp compares Exp (vector body, scalar tail) with math.Exp.
func TestExp(t *testing.T) {
	var xs []float32
	for x := -87.0; x <= 88; x += 0.01 {
		xs = append(xs, float32(x))
	}
	got := make([]float32, len(xs))
	Exp(got, xs)
	for i, x := range xs {
		if u := ulps(got[i], math.Exp(float64(x))); u > 2 {
			t.Fatalf("Exp(%v) = %v, math.Exp %v (%.1f ulp)", x, got[i], math.Exp(float64(x)), u)
		}
	}
}
