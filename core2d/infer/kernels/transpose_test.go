package kernels

import "testing"

// TestTransposeTile16 checks the register-shuffle 16×16 transpose against
// its definition on strided rows (distinct values everywhere, so any lane
// taken from the wrong place shows).
func TestTransposeTile16(t *testing.T) {
	const lds, ldd = 37, 21
	src := make([]float32, 15*lds+16)
	for i := range src {
		src[i] = float32(i) + 0.5
	}
	dst := make([]float32, 15*ldd+16)
	if !TransposeTile16(dst, ldd, src, lds) {
		t.Skip("no vector transpose on this build/CPU")
	}
	for i := 0; i < 16; i++ {
		for j := 0; j < 16; j++ {
			if got, want := dst[j*ldd+i], src[i*lds+j]; got != want {
				t.Fatalf("dst[%d][%d] = %g, want src[%d][%d] = %g", j, i, got, i, j, want)
			}
		}
	}
}
