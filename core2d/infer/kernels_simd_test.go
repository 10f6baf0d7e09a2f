//go:build goexperiment.simd && amd64

package infer

import "testing"

// TestFallbackKernels runs the GEMM and op cases on the AVX2 and scalar
// kernels too, which a CPU with AVX-512 would otherwise never exercise.
func TestFallbackKernels(t *testing.T) {
	saveSIMD, save512, saveFuse := useSIMD, useAVX512, kernelFusesAct
	defer func() { useSIMD, useAVX512, kernelFusesAct = saveSIMD, save512, saveFuse }()
	for _, mode := range []struct {
		name         string
		simd, avx512 bool
	}{{"avx2", true, false}, {"scalar", false, false}} {
		if mode.simd && !saveSIMD {
			continue
		}
		useSIMD, useAVX512, kernelFusesAct = mode.simd, mode.avx512, mode.avx512
		t.Run(mode.name+"/gemm", runGEMMCases)
		t.Run(mode.name+"/ops", runOpCases)
	}
}
