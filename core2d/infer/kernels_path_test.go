package infer

import (
	"strings"
	"testing"
)

// TestKernelPaths checks that the kernel-path cases of ops_golden.json
// (which TestOpsGolden and TestFallbackKernels check against numpy) reach
// the kernels they were written for: the direct 16×16 tile for the
// conv3x3-direct-* cases (assembly with AVX-512, convTile16Scalar
// otherwise), and the depthwise kernel for the depthwise ones.
func TestKernelPaths(t *testing.T) {
	n := 0
	for _, c := range loadOpCases(t) {
		want := ""
		switch {
		case strings.HasPrefix(c.Name, "conv3x3-direct-"):
			want = "direct"
		case strings.HasPrefix(c.Name, "conv-depthwise-"):
			want = "depthwise"
		default:
			continue
		}
		s, err := NewSession(buildCase(&c), Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, st := range s.steps {
			if k, ok := st.k.(*convKernel); ok {
				found = strings.Contains(k.kind(), want)
				if strings.Contains(c.Name, "-silu") || strings.Contains(c.Name, "-sigmoid") || strings.Contains(c.Name, "-relu") {
					found = found && k.act != actNone
				}
			}
		}
		s.Close()
		if !found {
			t.Errorf("%s: no fused %s Conv kernel", c.Name, want)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no kernel-path cases in ops_golden.json")
	}
}

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
	if !transposeTile16(dst, ldd, src, lds) {
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
