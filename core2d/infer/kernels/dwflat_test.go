package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestDwFlat compares DwFlat with a float64 sum for lengths around the
// vector widths and blocks (the tails included).
func TestDwFlat(t *testing.T) {
	offs := []int{0, 1, 2, 9, 10, 11, 20, 21, 22, 40, 43}
	w := make([]float32, len(offs))
	for i := range w {
		w[i] = float32(i%5)*0.3 - 0.6
	}
	for _, n := range []int{1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 80, 129, 200} {
		buf := make([]float32, offs[len(offs)-1]+n)
		for i := range buf {
			buf[i] = float32((i*7919)%1000)/500 - 1
		}
		dst := make([]float32, n)
		DwFlat(dst, buf, offs, w, 0.25)
		for j := range dst {
			want := 0.25
			for tp, o := range offs {
				want += float64(w[tp]) * float64(buf[o+j])
			}
			if d := math.Abs(float64(dst[j]) - want); d > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("n=%d j=%d: got %v, want %v", n, j, dst[j], want)
			}
		}
	}
}

// BenchmarkDwFlat times a 5×5 stencil over flat planes of 14 and 56 rows.
func BenchmarkDwFlat(b *testing.B) {
	for _, h := range []int{14, 56} {
		b.Run(fmt.Sprint(h), func(b *testing.B) {
			row := h + 4
			var offs []int
			for ky := 0; ky < 5; ky++ {
				for kx := 0; kx < 5; kx++ {
					offs = append(offs, ky*row+kx)
				}
			}
			w := make([]float32, 25)
			n := h * row &^ 15
			buf := make([]float32, offs[24]+n)
			dst := make([]float32, n)
			for i := 0; i < b.N; i++ {
				DwFlat(dst, buf, offs, w, 0)
			}
			b.ReportMetric(2*25*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestAxpyBin checks Dot, Axpy, BinVV and BinVS (vector bodies and scalar
// tails) against float64 arithmetic.
func TestAxpyBin(t *testing.T) {
	for _, n := range []int{3, 16, 35, 100} {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(i%7)-3.25, float32(i%5)+0.5
		}
		var dot float64
		for i := range x {
			dot += float64(x[i]) * float64(y[i])
		}
		if got := Dot(x, y); math.Abs(float64(got)-dot) > 1e-6*(1+math.Abs(dot)) {
			t.Fatalf("Dot n=%d: got %v, want %v", n, got, dot)
		}
		d := append([]float32(nil), y...)
		Axpy(d, x, 1.5)
		for i := range d {
			if want := 1.5*float64(x[i]) + float64(y[i]); math.Abs(float64(d[i])-want) > 1e-6*math.Abs(want) {
				t.Fatalf("Axpy n=%d i=%d: got %v, want %v", n, i, d[i], want)
			}
		}
		for op := BinAdd; op <= BinDiv; op++ {
			BinVV(op, d, x, y)
			for i := range d {
				if want := op.f(x[i], y[i]); d[i] != want {
					t.Fatalf("BinVV %d n=%d i=%d: got %v, want %v", op, n, i, d[i], want)
				}
			}
			for _, swap := range []bool{false, true} {
				BinVS(op, d, y, 0.75, swap)
				for i := range d {
					want := op.f(y[i], 0.75)
					if swap {
						want = op.f(0.75, y[i])
					}
					if d[i] != want {
						t.Fatalf("BinVS %d swap %v n=%d i=%d: got %v, want %v", op, swap, n, i, d[i], want)
					}
				}
			}
		}
	}
}
