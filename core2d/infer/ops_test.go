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
	m := &onnx.Model{IRVersion: 7, Opsets: map[string]int64{"": 11}}
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

func loadOpCases(t *testing.T) []opCase {
	b, err := os.ReadFile("testdata/ops_golden.json")
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

func runOpCases(t *testing.T) {
	for _, c := range loadOpCases(t) {
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
