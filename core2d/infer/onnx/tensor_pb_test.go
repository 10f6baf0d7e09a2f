package onnx

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

const nodeData = "/usr/share/libonnx-testdata/data/node"

// needNodeData skips, or fails under CI, without Debian's libonnx-testdata.
func needNodeData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(nodeData); err != nil {
		testenv.SkipOrFail(t, "%s missing (apt-get install libonnx-testdata): %v", nodeData, err)
	}
}

// TestDecodeTensor decodes test-data tensors of libonnx-testdata and checks
// them against values printed in the ONNX operator docs (Abs/Gemm inputs are
// random, so it checks their shapes and types; Shape's output is exact).
func TestDecodeTensor(t *testing.T) {
	needNodeData(t)
	read := func(c, f string) *Tensor {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(nodeData, c, "test_data_set_0", f))
		if err != nil {
			t.Fatal(err)
		}
		x, err := DecodeTensor(b)
		if err != nil {
			t.Fatalf("%s/%s: %v", c, f, err)
		}
		return x
	}
	// test_shape_example: x = [[1,2,3],[4,5,6]] (float32), y = [2, 3] (int64).
	x := read("test_shape_example", "input_0.pb")
	if x.DataType != Float || len(x.Dims) != 2 || x.Dims[0] != 2 || x.Dims[1] != 3 {
		t.Fatalf("shape_example input: %s %v", x.DataType, x.Dims)
	}
	for i, v := range x.Floats {
		if v != float32(i+1) {
			t.Fatalf("input[%d] = %g", i, v)
		}
	}
	y := read("test_shape_example", "output_0.pb")
	if y.DataType != Int64 || len(y.Ints) != 2 || y.Ints[0] != 2 || y.Ints[1] != 3 {
		t.Fatalf("shape_example output: %s %v %v", y.DataType, y.Dims, y.Ints)
	}
	// test_gemm_default_no_bias: a [2,10], b [10,3], y [2,3] = a·b.
	a, bm, out := read("test_gemm_default_no_bias", "input_0.pb"), read("test_gemm_default_no_bias", "input_1.pb"), read("test_gemm_default_no_bias", "output_0.pb")
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			var s float64
			for k := 0; k < 10; k++ {
				s += float64(a.Floats[i*10+k]) * float64(bm.Floats[k*3+j])
			}
			if math.Abs(s-float64(out.Floats[i*3+j])) > 1e-5 {
				t.Fatalf("gemm[%d,%d]: %g vs %g", i, j, s, out.Floats[i*3+j])
			}
		}
	}

	var fe *FormatError
	b, _ := os.ReadFile(filepath.Join(nodeData, "test_abs", "test_data_set_0", "input_0.pb"))
	if _, err := DecodeTensor(b[:len(b)-3]); !errors.As(err, &fe) {
		t.Errorf("truncated tensor: got %v, want a FormatError", err)
	}
}

// FuzzDecodeTensor: any bytes decode to a tensor or an error, never a
// panic; seeded with tensors of the ONNX node tests.
func FuzzDecodeTensor(f *testing.F) {
	for _, c := range []string{"test_abs", "test_shape_example", "test_top_k", "test_cast_FLOAT_to_FLOAT16", "test_pow_types_int64_int64"} {
		for _, n := range []string{"input_0.pb", "input_1.pb", "output_0.pb"} {
			if b, err := os.ReadFile(filepath.Join(nodeData, c, "test_data_set_0", n)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := DecodeTensor(data)
		if err == nil && int64(x.Len()) != x.NumElements() {
			t.Fatalf("tensor %v holds %d values", x.Dims, x.Len())
		}
	})
}
