package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmRef is a float64 triple loop.
func gemmRef(M, N, K int, w, b, bias []float32) []float32 {
	c := make([]float32, M*N)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var s float64
			for k := 0; k < K; k++ {
				s += float64(w[i*K+k]) * float64(b[k*N+j])
			}
			if bias != nil {
				s += float64(bias[i])
			}
			c[i*N+j] = float32(s)
		}
	}
	return c
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestGEMM checks the packed GEMM (edges in M, N and K blocks) against a
// float64 triple loop.
func TestGEMM(t *testing.T) { runGEMMCases(t) }

func runGEMMCases(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pack := make([]float32, PackSize)
	for _, sz := range [][3]int{{1, 1, 1}, {6, 16, 8}, {7, 17, 3}, {13, 300, 5}, {16, 35, 300}, {5, 600, 513}} {
		M, N, K := sz[0], sz[1], sz[2]
		t.Run(fmt.Sprintf("%dx%dx%d", M, N, K), func(t *testing.T) {
			w, b, bias := randSlice(r, M*K), randSlice(r, K*N), randSlice(r, M)
			want := gemmRef(M, N, K, w, b, bias)
			g := GEMM{M: M, N: N, K: K, A: PackA(w, M, K), B: b, LDB: N, C: make([]float32, M*N), LDC: N, Bias: bias}
			g.Run(0, N/2, pack)
			g.Run(N/2, N, pack)
			for i := range want {
				if d := math.Abs(float64(g.C[i] - want[i])); d > 1e-4*math.Sqrt(float64(K)) {
					t.Fatalf("element %d: got %g want %g", i, g.C[i], want[i])
				}
			}
		})
	}
}

func BenchmarkGEMM(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	pack := make([]float32, PackSize)
	for _, sz := range [][3]int{{64, 2704, 64}, {32, 10816, 32}, {128, 676, 128}, {256, 169, 256}} {
		M, N, K := sz[0], sz[1], sz[2]
		b.Run(fmt.Sprintf("%dx%dx%d", M, N, K), func(b *testing.B) {
			w, x := randSlice(r, M*K), randSlice(r, K*N)
			g := GEMM{M: M, N: N, K: K, A: PackA(w, M, K), B: x, LDB: N, C: make([]float32, M*N), LDC: N}
			for i := 0; i < b.N; i++ {
				g.Run(0, N, pack)
			}
			b.ReportMetric(2*float64(M*N*K)*float64(b.N)/b.Elapsed().Seconds()*1e-9, "GFLOP/s")
		})
	}
}
