package infer

import (
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
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
					found = found && k.act != kernels.ActNone
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
