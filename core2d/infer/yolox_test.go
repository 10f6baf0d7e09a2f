package infer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

const yoloxDir = "models-2d/yolox-nano"

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// compareGolden returns the max abs error and relative L2 error of got vs want.
func compareGolden(got, want []float32) (maxAbs, relL2 float64, worst int) {
	var num, den float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > maxAbs || math.IsNaN(d) {
			maxAbs, worst = d, i
		}
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return maxAbs, math.Sqrt(num / den), worst
}

func openYOLOX(t testing.TB, opt Options) *Session {
	t.Helper()
	dir := sampledata.Shared(t, yoloxDir)
	s, err := Open(filepath.Join(dir, "yolox_nano.onnx"), opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestYOLOXNanoGolden is the acceptance test: the golden input through the
// real model must match onnxruntime's output.
func TestYOLOXNanoGolden(t *testing.T) {
	testenv.SkipUnderRace(t, "the full model is too slow under -race")
	if testing.Short() {
		t.Skip("-short: the full model runs in the shipped-build passes of make test")
	}
	dir := sampledata.Shared(t, yoloxDir)
	in := readF32(t, filepath.Join(dir, "golden/000000000139_input_1x3x416x416_f32le.bin"))
	want := readF32(t, filepath.Join(dir, "golden/000000000139_output_1x3549x85_f32le.bin"))
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"fused-1thread", Options{Threads: 1}},
		{"fused-2threads", Options{Threads: 2}},
		{"unfused", Options{Threads: 1, NoFusion: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openYOLOX(t, tc.opt)
			defer s.Close()
			if got := s.Inputs(); len(got) != 1 || got[0].Name != "images" || got[0].Size() != len(in) {
				t.Fatalf("inputs %v", got)
			}
			if got := s.Outputs(); len(got) != 1 || got[0].Name != "output" || got[0].Size() != len(want) {
				t.Fatalf("outputs %v", got)
			}
			out := make([]float32, len(want))
			if err := s.Run([][]float32{in}, [][]float32{out}); err != nil {
				t.Fatal(err)
			}
			maxAbs, relL2, worst := compareGolden(out, want)
			t.Logf("max abs %.3g (element %d: got %g want %g), relative L2 %.3g", maxAbs, worst, out[worst], want[worst], relL2)
			if maxAbs > 5e-4 || relL2 > 1e-5 || math.IsNaN(relL2) {
				t.Errorf("max abs %.3g (limit 5e-4), relative L2 %.3g (limit 1e-5)", maxAbs, relL2)
			}
		})
	}
}

func TestYOLOXNanoSummary(t *testing.T) {
	dir := sampledata.Shared(t, yoloxDir)
	m, err := onnx.Load(filepath.Join(dir, "yolox_nano.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summary(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + s.String())
	// Expected values from PROVENANCE.md / the peer's RESULTS.md (parsed
	// independently by tools/onnx_info.py and PyTorch).
	want := map[string]int{"Conv": 113, "Sigmoid": 110, "Mul": 104, "Concat": 18, "Slice": 8, "Add": 7, "MaxPool": 3, "Reshape": 3, "Resize": 2, "Transpose": 1}
	if s.Nodes != 369 || len(s.Ops) != len(want) {
		t.Errorf("nodes %d, ops %v", s.Nodes, s.Ops)
	}
	for _, o := range s.Ops {
		if want[o.Op] != o.Count {
			t.Errorf("%s: %d nodes, want %d", o.Op, o.Count, want[o.Op])
		}
	}
	if s.Opset != 11 || s.IRVersion != 7 {
		t.Errorf("opset %d ir %d", s.Opset, s.IRVersion)
	}
	if s.Params < 0.89e6 || s.Params > 0.92e6 {
		t.Errorf("params %d, want ≈0.90 M", s.Params)
	}
	if s.MACs < 0.50e9 || s.MACs > 0.54e9 {
		t.Errorf("MACs %d, want ≈0.52 G", s.MACs)
	}
}

// TestYOLOXNanoAllocs: the full model allocates nothing per Run.
func TestYOLOXNanoAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the full model is too slow under -race")
	if testing.Short() {
		t.Skip("-short: the full model runs in the shipped-build passes of make test")
	}
	for _, threads := range []int{1, 2} {
		s := openYOLOX(t, Options{Threads: threads})
		in := make([]float32, s.Inputs()[0].Size())
		out := make([]float32, s.Outputs()[0].Size())
		ins, outs := [][]float32{in}, [][]float32{out}
		if n := testing.AllocsPerRun(3, func() { s.Run(ins, outs) }); n != 0 {
			t.Errorf("%d threads: %v allocations per Run", threads, n)
		}
		t.Logf("%d kernels, arena %.1f MiB", s.Steps(), float64(s.ArenaBytes())/(1<<20))
		s.Close()
	}
}

// TestYOLOXNanoBatch runs the fixed-batch-1 export at batch 2
// (Options.Batch) on two different images and checks each half of the
// output equals the batch-1 run of that image exactly.
func TestYOLOXNanoBatch(t *testing.T) {
	testenv.SkipUnderRace(t, "the full model is too slow under -race")
	if testing.Short() {
		t.Skip("-short: the full model runs in the shipped-build passes of make test")
	}
	dir := sampledata.Shared(t, yoloxDir)
	img := readF32(t, filepath.Join(dir, "golden/000000000139_input_1x3x416x416_f32le.bin"))
	img2 := make([]float32, len(img)) // the same image mirrored left-right: a different input
	for c := 0; c < 3; c++ {
		for y := 0; y < 416; y++ {
			for x := 0; x < 416; x++ {
				img2[(c*416+y)*416+x] = img[(c*416+y)*416+415-x]
			}
		}
	}
	s1 := openYOLOX(t, Options{Threads: 2})
	defer s1.Close()
	s2 := openYOLOX(t, Options{Threads: 2, Batch: 2})
	defer s2.Close()
	if got := fmt.Sprint(s2.Inputs()[0].Shape, s2.Outputs()[0].Shape); got != "[2 3 416 416] [2 3549 85]" {
		t.Fatalf("batch-2 shapes %s", got)
	}
	per := s1.Outputs()[0].Size()
	want := make([]float32, 2*per)
	for i, in := range [][]float32{img, img2} {
		if err := s1.Run([][]float32{in}, [][]float32{want[i*per : (i+1)*per]}); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]float32, 2*per)
	if err := s2.Run([][]float32{append(append([]float32(nil), img...), img2...)}, [][]float32{got}); err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("element %d (image %d): batch 2 gives %v, batch 1 %v", i, i/per, got[i], want[i])
		}
		if i < per && got[i] == got[i+per] {
			same++
		}
	}
	if same == per {
		t.Fatal("both images gave the same output: the test does not tell them apart")
	}
}
