//go:build goexperiment.simd && amd64

package infer

import "testing"

// TestFallbackKernels runs the GEMM and op cases on the AVX2 and scalar
// kernels too, which a CPU with AVX-512 would otherwise never exercise
// (and the 4-row AVX-512 kernel alone, without the 8-row assembly one).
func TestFallbackKernels(t *testing.T) {
	saveSIMD, save512, saveFuse, savePair := useSIMD, useAVX512, kernelFusesAct, pair8
	defer func() { useSIMD, useAVX512, kernelFusesAct, pair8 = saveSIMD, save512, saveFuse, savePair }()
	for _, mode := range []struct {
		name         string
		simd, avx512 bool
		pair         bool
	}{{"avx512-4row", true, true, false}, {"avx2", true, false, false}, {"scalar", false, false, false}} {
		if mode.simd && !saveSIMD || mode.avx512 && !save512 {
			continue
		}
		useSIMD, useAVX512, kernelFusesAct, pair8 = mode.simd, mode.avx512, mode.avx512, mode.pair
		t.Run(mode.name+"/gemm", runGEMMCases)
		t.Run(mode.name+"/ops", runOpCases)
		t.Run(mode.name+"/fusion", runFusionCases)
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
	a0, a1 := make([]float32, kc*mr), make([]float32, kc*mr)
	bm := make([]float32, kc*nr)
	for i := range a0 {
		a0[i], a1[i] = float32(i%7)*0.1, float32(i%5)*0.1
	}
	for i := range bm {
		bm[i] = float32(i%11) * 0.01
	}
	c := make([]float32, 8*nr)
	bias := make([]float32, 8)
	b.Run("4x32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			microKernel512(kc, a0, bm, nr, c, nr, bias, false, actNone)
		}
		b.ReportMetric(2*4*nr*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("8x32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			microKernel8(kc, a0, a1, bm, nr, c, nr, bias, false, actNone)
		}
		b.ReportMetric(2*8*nr*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
