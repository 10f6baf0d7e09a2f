package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	want := "short.bin: 100 float32 values; input images [1 3 416 416] needs 519168 (or 519168 for one batch element)"
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
	// conv MACs 1045106816 (1.045 G), FLOPs 2.125 G
	//   Conv 1x1/1 gemm                  82 ×    0.858 GMAC (82.1%)
	//   Conv 3x3/1 direct                 1 ×    0.150 GMAC (14.3%)
	//   Conv 3x3/1 depthwise             24 ×    0.030 GMAC ( 2.9%)
	//   Conv 3x3/2 depthwise              6 ×    0.007 GMAC ( 0.7%)
	// 1 detections
	// person
}
