package cli

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

var bundledYOLOX = filepath.Join("..", "..", "datasets", "samples", "models", "yolox-nano", "yolox_nano.onnx")

// TestInferBatchProfile runs the bundled fixed-batch-1 YOLOX-Nano at batch 2
// on a COCO image with --profile: the summary shows the batched shapes,
// the profile lists conv kernels with GFLOP/s, and the detections are
// those of the onnxruntime golden file (person 0.886, skis 0.743).
func TestInferBatchProfile(t *testing.T) {
	img := sampledata.Shared(t, "models-2d/yolox-nano/images/000000000785.jpg")
	code, out, errs := runCmd(t, "infer", "--runs", "2", "--batch", "2", "--profile", "--layers", "3", "--input", img, bundledYOLOX)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"input  images [2 3 416 416]", "output output [2 3549 85]", "batch 2, 1 thread(s)",
		"profile by kernel type (per run):", "Conv 1x1/1 gemm+SiLU", "GFLOP/s", "slowest layers (per run, share of the whole run):", "2 detections", "person         0.88", "skis           0.74"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out[strings.Index(out, "slowest layers"):], "\n  Conv_"); n > 3 {
		t.Errorf("--layers 3 listed %d layers", n)
	}
}

// TestInferBinInput feeds the golden input tensor as a .bin file (one
// batch element, replicated to the batch) and rejects a file of the wrong
// size with an error naming the file and the sizes.
func TestInferBinInput(t *testing.T) {
	bin := sampledata.Shared(t, "models-2d/yolox-nano/golden/000000000139_input_1x3x416x416_f32le.bin")
	if code, out, errs := runCmd(t, "infer", "--runs", "1", "--batch", "2", "--input", bin, bundledYOLOX); code != 0 || !strings.Contains(out, "latency:") {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "short.bin")
	if err := os.WriteFile(bad, make([]byte, 400), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, "infer", "--runs", "1", "--input", bad, bundledYOLOX)
	want := "short.bin: 400 bytes; input images [1 3 416 416] needs 2076672 bytes (519168 float32 values), or 2076672 for one batch element"
	if code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errs, want)
	}
}

// Example of `ds3d infer --batch 2 --input IMAGE MODEL.onnx` on the bundled
// YOLOX-Nano and KITTI image 000000, whose label file has one pedestrian
// at (712, 143)–(811, 308); the detection line reads
// "person 0.818 box 711.7 143.2 805.3 301.2". The latency line varies
// from run to run and is left out here.
func Example_infer() {
	img := filepath.Join("..", "..", "datasets", "samples", "kitti", "image_2", "000000.png")
	var out, errb bytes.Buffer
	if code := run([]string{"infer", "--runs", "1", "--batch", "2", "--input", img, bundledYOLOX}, &out, &errb); code != 0 {
		fmt.Println("exit", code, errb.String())
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		switch {
		case strings.HasPrefix(line, "latency"):
		case strings.HasPrefix(line, "person"):
			fmt.Println(strings.Fields(line)[0]) // the score's last digit differs between kernel sets
		case strings.Contains(line, "detections in"):
			fmt.Println(line[:strings.Index(line, " in ")])
		default:
			fmt.Println(line)
		}
	}
	// Output:
	// ir_version 7, opset 11, producer "pytorch 1.10"
	// input  images [2 3 416 416]
	// output output [2 3549 85]
	// 369 nodes: Conv 113 Sigmoid 110 Mul 104 Concat 18 Slice 8 Add 7 MaxPool 3 Reshape 3 Resize 2 Transpose 1
	// parameters 904467 (0.90 M)
	// MACs 1045106816 (1.045 G), FLOPs 2.125 G
	//   Conv 1x1/1 gemm                  82 ×    0.858 GMAC (82.1%)
	//   Conv 3x3/1 direct                 1 ×    0.150 GMAC (14.3%)
	//   Conv 3x3/1 depthwise             24 ×    0.030 GMAC ( 2.9%)
	//   Conv 3x3/2 depthwise              6 ×    0.007 GMAC ( 0.7%)
	// 1 detections
	// person
}

// twoInputModel writes a model with two inputs of dynamic shape [n,3]
// and two outputs, sum = a+b and max/x = max(a, b) (a name with a slash,
// as exporters write; Max is an op the GPU backend lacks).
func twoInputModel(t *testing.T) string {
	t.Helper()
	g := onnxbuild.New("two_inputs", 13)
	a := g.Input("a", onnx.Float, -1, 3)
	b := g.Input("b", onnx.Float, -1, 3)
	g.NodeOut("Add", []string{a, b}, []string{"sum"})
	g.NodeOut("Max", []string{a, b}, []string{"max/x"})
	g.Output("sum", onnx.Float, -1, 3)
	g.Output("max/x", onnx.Float, -1, 3)
	data, err := g.Build()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "two_inputs.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeTestF32(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTestF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// TestInferShapeInputsOutputs fixes the dynamic dims with --shape, feeds
// both inputs by name and checks --output (output 0) and --output-dir
// (every output, names made file-safe) against the sums and maxima.
func TestInferShapeInputsOutputs(t *testing.T) {
	model := twoInputModel(t)
	dir := t.TempDir()
	av := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	bv := []float32{0.5, -1, 2, 0, 3, -2, 1, 1, 1, -4, 0.25, 8}
	writeTestF32(t, filepath.Join(dir, "a.bin"), av)
	writeTestF32(t, filepath.Join(dir, "b.bin"), bv)
	out0, outDir := filepath.Join(dir, "out0.bin"), filepath.Join(dir, "outs")
	code, out, errs := runCmd(t, "infer", "--runs", "1", "--shape", "a=4,3", "--shape", "b=4,3",
		"--input", "b="+filepath.Join(dir, "b.bin"), "--input", "a="+filepath.Join(dir, "a.bin"),
		"--output", out0, "--output-dir", outDir, model)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{"input  a [4 3]", "input  b [4 3]", "output sum [4 3]", "output max/x [4 3]", "cuda backend: no kernel for Max ×1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	sum, mx := make([]float32, len(av)), make([]float32, len(av))
	for i := range av {
		sum[i], mx[i] = av[i]+bv[i], max(av[i], bv[i])
	}
	for _, c := range []struct {
		file string
		want []float32
	}{{out0, sum}, {filepath.Join(outDir, "sum.bin"), sum}, {filepath.Join(outDir, "max_x.bin"), mx}} {
		got := readTestF32(t, c.file)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", filepath.Base(c.file), got, c.want)
		}
	}
	// A bare file is input 0; one batch element is copied to the batch.
	writeTestF32(t, filepath.Join(dir, "a1.bin"), av[:3])
	if code, out, errs := runCmd(t, "infer", "--runs", "1", "--shape", "a=4,3", "--shape", "b=4,3",
		"--input", filepath.Join(dir, "a1.bin"), "--output", out0, model); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	if got := readTestF32(t, out0); fmt.Sprint(got) != fmt.Sprint(append(append(append(av[:3:3], av[:3]...), av[:3]...), av[:3]...)) {
		t.Errorf("bare --input with b zero: sum %v", got)
	}
}

// TestInferFlagErrors: each mistake gives exit 1 or 2 and a message that
// names what is wrong and what was expected.
func TestInferFlagErrors(t *testing.T) {
	model := twoInputModel(t)
	dir := t.TempDir()
	short := filepath.Join(dir, "short.bin")
	writeTestF32(t, short, make([]float32, 5))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{model}, "two_inputs.onnx: input a [d0,3] has dynamic dims: fix them with --shape (e.g. --shape a=1,3); input b [d0,3] has dynamic dims: fix them with --shape (e.g. --shape b=1,3)"},
		{[]string{"--shape", "a=4,3", model}, "input b [d0,3] has dynamic dims"},
		{[]string{"--shape", "a:4,3", model}, `--shape "a:4,3": want NAME=d0,d1,...`},
		{[]string{"--shape", "a=4,x", model}, `--shape "a=4,x": dim "x" is not a positive integer`},
		{[]string{"--shape", "a=4,3", "--shape", "a=2,3", model}, "input a is given twice"},
		{[]string{"--shape", "a=4,3,1", "--shape", "b=4,3", model}, `InputShapes gives [4 3 1], the model's rank is 2`},
		{[]string{"--shape", "a=4,3", "--shape", "b=4,3", "--input", "c=" + short, model}, `the model has no input "c" (inputs: a, b)`},
		{[]string{"--shape", "a=4,3", "--shape", "b=4,3", "--input", "b=" + short, model},
			"short.bin: 20 bytes; input b [4 3] needs 48 bytes (12 float32 values), or 12 for one batch element"},
		{[]string{"--shape", "a=4,3", "--shape", "b=4,3", "--input", short, "--input", "a=" + short, model}, "input a is already given"},
		{[]string{"--shape", "a=4,3", "--shape", "b=4,3", "--output-dir", short, model}, "short.bin"},
	} {
		code, _, errs := runCmd(t, append([]string{"infer", "--runs", "1"}, c.args...)...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, errs, c.want)
		}
	}
}
