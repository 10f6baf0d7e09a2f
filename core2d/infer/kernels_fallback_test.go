//go:build goexperiment.simd && amd64

package infer

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
)

// TestFallbackKernels runs the op and fusion cases on the AVX2 and scalar
// kernels too, which a CPU with AVX-512 would otherwise never exercise
// (and the 4-row AVX-512 kernel alone, without the 8-row assembly one).
func TestFallbackKernels(t *testing.T) {
	for _, mode := range []struct {
		name               string
		avx2, avx512, pair bool
	}{{"avx512-4row", true, true, false}, {"avx2", true, false, false}, {"scalar", false, false, false}} {
		restore, ok := kernels.Restrict(mode.avx2, mode.avx512, mode.pair)
		if ok {
			t.Run(mode.name+"/ops", runOpCases)
			t.Run(mode.name+"/fusion", runFusionCases)
		}
		restore()
	}
}
