package infer

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// opCase is one case of testdata/ops_golden.json, whose expected outputs
// numpy computed from the ONNX spec (testdata/gen_ops.py).
type opCase struct {
	Name   string         `json:"name"`
	Op     string         `json:"op"`
	Attrs  map[string]any `json:"attrs"`
	Inputs []struct {
		Name  string    `json:"name"`
		Shape []int64   `json:"shape"`
		Data  []float64 `json:"data"`
		Const bool      `json:"const"`
		Int   bool      `json:"int"`
	} `json:"inputs"`
	Outputs []struct {
		Shape []int     `json:"shape"`
		Data  []float64 `json:"data"`
	} `json:"outputs"`
	Tol   float64 `json:"tol"`
	Opset int64   `json:"opset"` // 0: 11
	Nodes []struct {
		Op      string         `json:"op"`
		Inputs  []string       `json:"inputs"`
		Outputs []string       `json:"outputs"`
		Attrs   map[string]any `json:"attrs"`
	} `json:"nodes"`
}

func attrsOf(m map[string]any) []onnx.Attribute {
	var out []onnx.Attribute
	for k, v := range m {
		a := onnx.Attribute{Name: k}
		switch v := v.(type) {
		case float64:
			if v == math.Trunc(v) && !strings.Contains(k, "epsilon") && k != "alpha" {
				a.Type, a.I = onnx.AttrInt, int64(v)
			} else {
				a.Type, a.F = onnx.AttrFloat, float32(v)
			}
		case string:
			a.Type, a.S = onnx.AttrString, v
		case map[string]any: // {"float": 2.0}: a float attribute with an integer value
			a.Type, a.F = onnx.AttrFloat, float32(v["float"].(float64))
		case []any:
			a.Type = onnx.AttrInts
			for _, x := range v {
				a.Ints = append(a.Ints, int64(x.(float64)))
			}
		}
		out = append(out, a)
	}
	return out
}

func toInt64(f float64) int64 {
	if f >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(f)
}

// buildCase turns a case into a model: constant inputs become
// initializers, the rest graph inputs.
func buildCase(c *opCase) *onnx.Model {
	opset := c.Opset
	if opset == 0 {
		opset = 11
	}
	m := &onnx.Model{IRVersion: 7, Opsets: map[string]int64{"": opset}}
	g := &m.Graph
	var names []string
	for _, in := range c.Inputs {
		names = append(names, in.Name)
		if in.Const {
			t := &onnx.Tensor{Name: in.Name, Dims: in.Shape}
			if in.Int {
				t.DataType = onnx.Int64
				t.Ints = []int64{}
				for _, v := range in.Data {
					t.Ints = append(t.Ints, toInt64(v))
				}
			} else {
				t.DataType = onnx.Float
				t.Floats = []float32{}
				for _, v := range in.Data {
					t.Floats = append(t.Floats, float32(v))
				}
			}
			g.Initializers = append(g.Initializers, t)
			continue
		}
		vi := onnx.ValueInfo{Name: in.Name, ElemType: onnx.Float, HasShape: true}
		for _, d := range in.Shape {
			vi.Dims = append(vi.Dims, onnx.Dim{Value: d})
		}
		g.Inputs = append(g.Inputs, vi)
	}
	if c.Nodes != nil {
		for _, n := range c.Nodes {
			g.Nodes = append(g.Nodes, onnx.Node{OpType: n.Op, Inputs: n.Inputs, Outputs: n.Outputs, Attrs: attrsOf(n.Attrs)})
		}
		g.Outputs = []onnx.ValueInfo{{Name: "y"}}
		return m
	}
	var outs []string
	for i := range c.Outputs {
		outs = append(outs, fmt.Sprintf("y%d", i))
		g.Outputs = append(g.Outputs, onnx.ValueInfo{Name: outs[i]})
	}
	g.Nodes = []onnx.Node{{Name: c.Name, OpType: c.Op, Inputs: names, Outputs: outs, Attrs: attrsOf(c.Attrs)}}
	return m
}

func loadOpCases(t *testing.T) []opCase { return loadOpCasesFrom(t, "testdata/ops_golden.json") }

func loadOpCasesFrom(t *testing.T, file string) []opCase {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cases []opCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestOpsGolden runs every op case with 1 and 2 threads, fused and not,
// against numpy's outputs.
func TestOpsGolden(t *testing.T) { runOpCases(t) }

// TestOpsExtraGolden covers what the ONNX node tests do not reach (see
// testdata/gen_ops_extra.py): older and newer opset variants, broadcast
// MatMul, large Gemm, integer indices consumed by later ops.
func TestOpsExtraGolden(t *testing.T) { runOpCasesFrom(t, "testdata/ops_extra_golden.json") }

func runOpCases(t *testing.T) { runOpCasesFrom(t, "testdata/ops_golden.json") }

func runOpCasesFrom(t *testing.T, file string) {
	for _, c := range loadOpCasesFrom(t, file) {
		t.Run(c.Name, func(t *testing.T) {
			for _, opt := range []Options{{Threads: 1}, {Threads: 2}, {Threads: 1, NoFusion: true}} {
				s, err := NewSession(buildCase(&c), opt)
				if err != nil {
					t.Fatal(err)
				}
				var ins, outs [][]float32
				for _, in := range c.Inputs {
					if in.Const {
						continue
					}
					v := make([]float32, len(in.Data))
					for i, x := range in.Data {
						v[i] = float32(x)
					}
					ins = append(ins, v)
				}
				for i, o := range s.Outputs() {
					if !equalShape(o.Shape, c.Outputs[i].Shape) {
						t.Fatalf("%+v: output %d shape %v, want %v", opt, i, o.Shape, c.Outputs[i].Shape)
					}
					outs = append(outs, make([]float32, o.Size()))
				}
				if err := s.Run(ins, outs); err != nil {
					t.Fatal(err)
				}
				s.Close()
				for i, want := range c.Outputs {
					for j, w := range want.Data {
						if d := math.Abs(float64(outs[i][j]) - w); d > c.Tol*math.Max(1, math.Abs(w)) || math.IsNaN(d) {
							t.Fatalf("%+v: output %d element %d: got %g, want %g (tol %g)", opt, i, j, outs[i][j], w, c.Tol)
						}
					}
				}
			}
		})
	}
}

// matmulModel is Y = X·W (+ bias) with a constant W of K×N (Gemm, or
// MatMul without bias), the shape of a detector head's linear layers.
func matmulModel(op string, M, K, N int) *onnx.Model {
	m := &onnx.Model{IRVersion: 7, Opsets: map[string]int64{"": 13}}
	g := &m.Graph
	w := &onnx.Tensor{Name: "w", DataType: onnx.Float, Dims: []int64{int64(K), int64(N)}, Floats: make([]float32, K*N)}
	for i := range w.Floats {
		w.Floats[i] = float32(i%7) - 3
	}
	g.Initializers = []*onnx.Tensor{w}
	g.Inputs = []onnx.ValueInfo{{Name: "x", ElemType: onnx.Float, HasShape: true, Dims: []onnx.Dim{{Value: int64(M)}, {Value: int64(K)}}}}
	ins := []string{"x", "w"}
	if op == "Gemm" {
		bias := &onnx.Tensor{Name: "b", DataType: onnx.Float, Dims: []int64{int64(N)}, Floats: make([]float32, N)}
		g.Initializers = append(g.Initializers, bias)
		ins = append(ins, "b")
	}
	g.Nodes = []onnx.Node{{Name: op, OpType: op, Inputs: ins, Outputs: []string{"y"}}}
	g.Outputs = []onnx.ValueInfo{{Name: "y", ElemType: onnx.Float, HasShape: true, Dims: []onnx.Dim{{Value: int64(M)}, {Value: int64(N)}}}}
	return m
}

func TestMatMulNoAllocs(t *testing.T) {
	for _, op := range []string{"MatMul", "Gemm"} {
		s, err := NewSession(matmulModel(op, 64, 300, 96), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		x, y := make([]float32, 64*300), make([]float32, 64*96)
		ins, outs := [][]float32{x}, [][]float32{y}
		if n := testing.AllocsPerRun(5, func() { _ = s.Run(ins, outs) }); n != 0 {
			t.Errorf("%s: %v allocations per Run", op, n)
		}
		s.Close()
	}
}

// BenchmarkMatMul: X[M×K]·W[K×N], one thread; reports GFLOP/s (2·M·N·K per
// Run). Peers: numpy/OpenBLAS on one thread and onnxruntime (docs/PERF.md,
// "GEMM / MatMul against onnxruntime").
func BenchmarkMatMul(b *testing.B) {
	for _, sz := range [][3]int{{256, 512, 256}, {1, 1024, 1000}, {1024, 64, 64}} {
		M, K, N := sz[0], sz[1], sz[2]
		b.Run(fmt.Sprintf("%dx%dx%d", M, K, N), func(b *testing.B) {
			s, err := NewSession(matmulModel("MatMul", M, K, N), Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ins, outs := [][]float32{make([]float32, M*K)}, [][]float32{make([]float32, M*N)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = s.Run(ins, outs)
			}
			b.ReportMetric(2*float64(M*N*K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestWriteMatMulModels (MATMUL_MODEL_DIR=dir) writes the models of
// BenchmarkMatMul as .onnx files for the onnxruntime peer (docs/PERF.md).
func TestWriteMatMulModels(t *testing.T) {
	dir := os.Getenv("MATMUL_MODEL_DIR")
	if dir == "" {
		t.Skip("set MATMUL_MODEL_DIR")
	}
	for _, sz := range [][3]int{{256, 512, 256}, {1, 1024, 1000}, {1024, 64, 64}} {
		b, err := onnx.Encode(matmulModel("MatMul", sz[0], sz[1], sz[2]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fmt.Sprintf("%s/matmul_%dx%dx%d.onnx", dir, sz[0], sz[1], sz[2]), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
