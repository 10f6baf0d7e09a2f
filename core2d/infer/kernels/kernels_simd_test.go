//go:build goexperiment.simd && amd64

package kernels

import "testing"

// TestFallbackKernels runs the GEMM cases on the AVX2 and scalar kernels
// too, which a CPU with AVX-512 would otherwise never exercise (and the
// 4-row AVX-512 kernel alone, without the 8-row assembly one); the engine's
// test of the same name runs the op cases on each.
func TestFallbackKernels(t *testing.T) {
	for _, mode := range []struct {
		name               string
		avx2, avx512, pair bool
	}{{"avx512-4row", true, true, false}, {"avx2", true, false, false}, {"scalar", false, false, false}} {
		restore, ok := Restrict(mode.avx2, mode.avx512, mode.pair)
		if ok {
			t.Run(mode.name+"/gemm", runGEMMCases)
		}
		restore()
	}
}

// BenchmarkMicroKernel times the register tiles alone on L1-resident
// operands (kc = 256, B row stride 32): the 4×32 archsimd kernel and the
// 8×32 assembly kernel, in GFLOP/s (2 per multiply-add).
func BenchmarkMicroKernel(b *testing.B) {
	if !useAVX512 {
		b.Skip("no AVX-512")
	}
	const kc = 256
	a0, a1 := make([]float32, kc*MR), make([]float32, kc*MR)
	bm := make([]float32, kc*NR)
	for i := range a0 {
		a0[i], a1[i] = float32(i%7)*0.1, float32(i%5)*0.1
	}
	for i := range bm {
		bm[i] = float32(i%11) * 0.01
	}
	c := make([]float32, 8*NR)
	bias := make([]float32, 8)
	b.Run("4x32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			microKernel512(kc, a0, bm, NR, c, NR, bias, false, ActNone)
		}
		b.ReportMetric(2*4*NR*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("8x32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			microKernel8(kc, a0, a1, bm, NR, c, NR, bias, false, ActNone)
		}
		b.ReportMetric(2*8*NR*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
