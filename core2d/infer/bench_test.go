package infer

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

func BenchmarkYOLOXNano(b *testing.B) {
	dir := sampledata.Shared(b, yoloxDir)
	in := readF32(b, filepath.Join(dir, "golden/000000000139_input_1x3x416x416_f32le.bin"))
	for _, threads := range []int{1, 2} {
		b.Run(map[int]string{1: "1thread", 2: "2threads"}[threads], func(b *testing.B) {
			s := openYOLOX(b, Options{Threads: threads})
			defer s.Close()
			flops := 2 * float64(s.stats.macs)
			out := make([]float32, s.Outputs()[0].Size())
			ins, outs := [][]float32{in}, [][]float32{out}
			if err := s.Run(ins, outs); err != nil {
				b.Fatal(err)
			}
			// The machine is shared: report the fastest and the median run as
			// well as the mean, and GFLOP/s from the median.
			times := make([]float64, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := s.Run(ins, outs); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0).Seconds())
			}
			b.StopTimer()
			sort.Float64s(times)
			med := times[len(times)/2]
			b.ReportMetric(times[0]*1e3, "min-ms")
			b.ReportMetric(med*1e3, "median-ms")
			b.ReportMetric(flops/med*1e-9, "GFLOP/s")
			if os.Getenv("INFER_PROFILE") != "" {
				s.EnableProfile()
				const runs = 20
				for i := 0; i < runs; i++ {
					s.Run(ins, outs)
				}
				b.Logf("simd=%v threads=%d\n%s", kernels.SIMD, threads, FormatProfile(s.Profile(), runs))
				if os.Getenv("INFER_PROFILE") == "layers" {
					lp := s.LayerProfile()
					var total time.Duration
					for _, st := range lp {
						total += st.Total
					}
					sort.SliceStable(lp, func(i, j int) bool { return lp[i].Total > lp[j].Total })
					b.Logf("slowest layers\n%s", FormatProfileOf(lp[:min(40, len(lp))], runs, total))
				}
			}
		})
	}
}
