package infer

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
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
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := s.Run(ins, outs); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0).Seconds())
			}
			b.StopTimer()
			if threads == 1 {
				b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms")
			}
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

// BenchmarkModel times the models named in INFER_BENCH_MODELS (a
// comma-separated list of ONNX paths, e.g. exports of tools/zoo) on 1 and
// 2 threads, with random inputs; INFER_PROFILE works as for YOLOX.
func BenchmarkModel(b *testing.B) {
	paths := os.Getenv("INFER_BENCH_MODELS")
	if paths == "" {
		b.Skip("INFER_BENCH_MODELS is not set")
	}
	for _, path := range strings.Split(paths, ",") {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/%dthread", strings.TrimSuffix(filepath.Base(path), ".onnx"), threads), func(b *testing.B) {
				s, err := Open(path, Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				var ins, outs [][]float32
				for i, in := range s.Inputs() {
					x := make([]float32, in.Size())
					for j := range x {
						x[j] = float32((j*7919+i*31)%2000)/1000 - 1
					}
					ins = append(ins, x)
				}
				for _, o := range s.Outputs() {
					outs = append(outs, make([]float32, o.Size()))
				}
				if err := s.Run(ins, outs); err != nil {
					b.Fatal(err)
				}
				times := make([]float64, 0, b.N)
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					if err := s.Run(ins, outs); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t0).Seconds())
				}
				b.StopTimer()
				if threads == 1 {
					b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms")
				}
				sort.Float64s(times)
				b.ReportMetric(times[0]*1e3, "min-ms")
				b.ReportMetric(times[len(times)/2]*1e3, "median-ms")
				if os.Getenv("INFER_PROFILE") != "" {
					s.EnableProfile()
					const runs = 10
					for i := 0; i < runs; i++ {
						s.Run(ins, outs)
					}
					b.Logf("threads=%d\n%s", threads, FormatProfile(s.Profile(), runs))
				}
			})
		}
	}
}

// dwModel is one depthwise Conv (k×k, stride s, pad k/2) on a C×H×W input
// with weights from a fixed pattern, followed by act ("" for none).
func dwModel(tb testing.TB, C, H, W, k, s int, act string) *onnx.Model {
	g := onnxbuild.New("dw", 13)
	x := g.Input("x", onnx.Float, 1, int64(C), int64(H), int64(W))
	w := make([]float32, C*k*k)
	for i := range w {
		w[i] = float32((i*37)%19)/19 - 0.5
	}
	bias := make([]float32, C)
	for i := range bias {
		bias[i] = float32(i%7) * 0.1
	}
	p := int64(k / 2)
	y := g.Node("Conv", []string{x, g.Float("w", []int64{int64(C), 1, int64(k), int64(k)}, w), g.Float("b", []int64{int64(C)}, bias)},
		onnxbuild.Ints("pads", p, p, p, p), onnxbuild.Ints("strides", int64(s), int64(s)), onnxbuild.Int("group", int64(C)))
	if act != "" {
		y = g.Node(act, []string{y})
	}
	OH, OW := (H+2*int(p)-k)/s+1, (W+2*int(p)-k)/s+1
	g.Output(y, onnx.Float, 1, int64(C), int64(OH), int64(OW))
	m, err := g.Model()
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// BenchmarkDepthwise times depthwise convolutions of MobileNetV3 and
// EfficientNet-B0 shapes on one thread, in GFLOP/s.
func BenchmarkDepthwise(b *testing.B) {
	for _, c := range []struct{ C, H, k, s int }{
		{576, 7, 5, 1}, {288, 14, 5, 2}, {96, 28, 5, 2}, {240, 14, 5, 1}, {72, 56, 3, 2}, {64, 56, 3, 1}, {768, 56, 7, 1}, {480, 14, 5, 1},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d/k%d/s%d", c.C, c.H, c.H, c.k, c.s), func(b *testing.B) {
			s, err := NewSession(dwModel(b, c.C, c.H, c.H, c.k, c.s, "Relu"), Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			x := make([]float32, s.Inputs()[0].Size())
			for i := range x {
				x[i] = float32(i%13) - 6
			}
			y := make([]float32, s.Outputs()[0].Size())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Run([][]float32{x}, [][]float32{y}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(s.stats.macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestModelReference runs the models of INFER_REF_MODELS (comma-separated
// ONNX paths, each with NAME.in.bin and NAME.out.bin beside it: input 0
// and output 0 as little-endian float32 from the exporting framework) and
// compares output 0 with the framework's, relative to its largest value;
// a steady-state Run must not allocate.
func TestModelReference(t *testing.T) {
	paths := os.Getenv("INFER_REF_MODELS")
	if paths == "" {
		t.Skip("INFER_REF_MODELS is not set")
	}
	for _, path := range strings.Split(paths, ",") {
		base := strings.TrimSuffix(path, ".onnx")
		in, want := readF32(t, base+".in.bin"), readF32(t, base+".out.bin")
		for _, opt := range []Options{{Threads: 1}, {Threads: 2}, {Threads: 1, NoFusion: true}} {
			s, err := Open(path, opt)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, s.Outputs()[0].Size())
			if err := s.Run([][]float32{in}, [][]float32{out}); err != nil {
				t.Fatal(err)
			}
			if !testenv.RaceEnabled {
				if a := testing.AllocsPerRun(2, func() { s.Run([][]float32{in}, [][]float32{out}) }); a != 0 {
					t.Errorf("%s %+v: %v allocations per Run", filepath.Base(path), opt, a)
				}
			}
			s.Close()
			var scale, maxd, num, den float64
			for i := range want {
				scale = max(scale, math.Abs(float64(want[i])))
				d := float64(out[i] - want[i])
				maxd = max(maxd, math.Abs(d))
				num += d * d
				den += float64(want[i]) * float64(want[i])
			}
			rel := math.Sqrt(num / den)
			t.Logf("%s %+v: max abs diff %.3g (of max %.3g), relative L2 %.3g", filepath.Base(path), opt, maxd, scale, rel)
			if maxd > 1e-4*scale || rel > 1e-4 {
				t.Errorf("%s %+v: output differs from the reference", filepath.Base(path), opt)
			}
		}
	}
}

// threadCPU is the CPU time of the calling OS thread (RUSAGE_THREAD): on
// a shared machine the CPU time a 1-thread Run takes varies much less
// than its wall time. The caller locks its goroutine to the thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
