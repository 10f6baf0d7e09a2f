package infer

import (
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"go.uber.org/goleak"
)

func vi(name string, dims ...int64) onnx.ValueInfo {
	v := onnx.ValueInfo{Name: name, ElemType: onnx.Float, HasShape: true}
	for _, d := range dims {
		v.Dims = append(v.Dims, onnx.Dim{Value: d})
	}
	return v
}

func ints(name string, v ...int64) *onnx.Tensor {
	return &onnx.Tensor{Name: name, DataType: onnx.Int64, Dims: []int64{int64(len(v))}, Ints: v}
}

func floats(name string, dims []int64, v ...float32) *onnx.Tensor {
	return &onnx.Tensor{Name: name, DataType: onnx.Float, Dims: dims, Floats: v}
}

func attrI(name string, v int64) onnx.Attribute {
	return onnx.Attribute{Name: name, Type: onnx.AttrInt, I: v}
}

func attrIs(name string, v ...int64) onnx.Attribute {
	return onnx.Attribute{Name: name, Type: onnx.AttrInts, Ints: v}
}

// TestFoldShapeSubgraph: the PyTorch flatten idiom
// Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) folds to one
// Reshape kernel, and the Add of two folded constants folds away.
func TestFoldShapeSubgraph(t *testing.T) {
	m := &onnx.Model{Opsets: map[string]int64{"": 11}}
	g := &m.Graph
	g.Inputs = []onnx.ValueInfo{vi("x", 2, 3, 2, 2)}
	zero := &onnx.Tensor{Name: "zero", DataType: onnx.Int64, Dims: []int64{}, Ints: []int64{0}} // a scalar index
	g.Initializers = []*onnx.Tensor{zero, ints("minus1", -1), floats("c1", []int64{1}, 1.5)}
	g.Nodes = []onnx.Node{
		{Name: "shape", OpType: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
		{Name: "gather", OpType: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"n"}, Attrs: []onnx.Attribute{attrI("axis", 0)}},
		{Name: "unsq", OpType: "Unsqueeze", Inputs: []string{"n"}, Outputs: []string{"n1"}, Attrs: []onnx.Attribute{attrIs("axes", 0)}},
		{Name: "concat", OpType: "Concat", Inputs: []string{"n1", "minus1"}, Outputs: []string{"target"}, Attrs: []onnx.Attribute{attrI("axis", 0)}},
		{Name: "reshape", OpType: "Reshape", Inputs: []string{"x", "target"}, Outputs: []string{"flat"}},
		{Name: "const", OpType: "Constant", Outputs: []string{"c2"}, Attrs: []onnx.Attribute{{Name: "value", Type: onnx.AttrTensor, T: floats("", []int64{1}, 2)}}},
		{Name: "addc", OpType: "Add", Inputs: []string{"c1", "c2"}, Outputs: []string{"c3"}},
		{Name: "add", OpType: "Add", Inputs: []string{"flat", "c3"}, Outputs: []string{"y"}},
	}
	g.Outputs = []onnx.ValueInfo{{Name: "y"}}
	s, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Outputs()[0].Shape; !equalShape(got, []int{2, 12}) {
		t.Fatalf("output shape %v, want [2 12]", got)
	}
	if s.Steps() != 2 {
		t.Errorf("%d kernels run, want 2 (Reshape, Add): the rest folds", s.Steps())
	}
	x := make([]float32, 24)
	for i := range x {
		x[i] = float32(i)
	}
	y := make([]float32, 24)
	if err := s.Run([][]float32{x}, [][]float32{y}); err != nil {
		t.Fatal(err)
	}
	for i := range y {
		if y[i] != float32(i)+3.5 {
			t.Fatalf("y[%d] = %g, want %g", i, y[i], float32(i)+3.5)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	base := func() *onnx.Model {
		m := &onnx.Model{Opsets: map[string]int64{"": 11}}
		m.Graph.Inputs = []onnx.ValueInfo{vi("x", 1, 2, 4, 4)}
		m.Graph.Outputs = []onnx.ValueInfo{{Name: "y"}}
		return m
	}
	for _, tc := range []struct {
		name  string
		edit  func(m *onnx.Model)
		wants []string
	}{
		{"unsupported ops listed together", func(m *onnx.Model) {
			m.Graph.Nodes = []onnx.Node{
				{Name: "n1", OpType: "FooOp", Inputs: []string{"x"}, Outputs: []string{"a"}},
				{Name: "n2", OpType: "BarOp", Inputs: []string{"a"}, Outputs: []string{"b"}},
				{Name: "n3", OpType: "FooOp", Inputs: []string{"b"}, Outputs: []string{"y"}},
			}
		}, []string{"unsupported ops", "BarOp (1: n2)", "FooOp (2: n1, n3)"}},
		{"missing initializer", func(m *onnx.Model) {
			m.Graph.Nodes = []onnx.Node{{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}}
		}, []string{`node conv: input "w" is not an initializer`}},
		{"bad conv weights", func(m *onnx.Model) {
			m.Graph.Initializers = []*onnx.Tensor{floats("w", []int64{1, 3, 1, 1}, 1, 2, 3)}
			m.Graph.Nodes = []onnx.Node{{Name: "conv", OpType: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}}}
		}, []string{"conv (Conv)", "W dim 1 must be C/group"}},
		{"bad reshape", func(m *onnx.Model) {
			m.Graph.Initializers = []*onnx.Tensor{ints("s", 3, -1)}
			m.Graph.Nodes = []onnx.Node{{Name: "r", OpType: "Reshape", Inputs: []string{"x", "s"}, Outputs: []string{"y"}}}
		}, []string{"r (Reshape)", "cannot reshape [1 2 4 4]"}},
		{"cycle", func(m *onnx.Model) {
			m.Graph.Nodes = []onnx.Node{
				{Name: "a", OpType: "Add", Inputs: []string{"x", "q"}, Outputs: []string{"p"}},
				{Name: "b", OpType: "Relu", Inputs: []string{"p"}, Outputs: []string{"q"}},
				{Name: "c", OpType: "Relu", Inputs: []string{"q"}, Outputs: []string{"y"}},
			}
		}, []string{"cycle through a, b"}},
		{"dynamic input", func(m *onnx.Model) {
			m.Graph.Inputs[0].Dims[0] = onnx.Dim{Value: -1, Param: "batch"}
			m.Graph.Nodes = []onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}
		}, []string{`input "x" has dynamic dim 0 (batch)`, "InputShapes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			_, err := NewSession(m, Options{Threads: 1})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDynamicInputFixed(t *testing.T) {
	m := &onnx.Model{Opsets: map[string]int64{"": 11}}
	m.Graph.Inputs = []onnx.ValueInfo{vi("x", 1, 3)}
	m.Graph.Inputs[0].Dims[0] = onnx.Dim{Value: -1, Param: "batch"}
	m.Graph.Nodes = []onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}
	m.Graph.Outputs = []onnx.ValueInfo{{Name: "y"}}
	s, err := NewSession(m, Options{Threads: 1, InputShapes: map[string][]int{"x": {4, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Outputs()[0].Shape; !equalShape(got, []int{4, 3}) {
		t.Fatalf("shape %v", got)
	}
}

func TestRunErrors(t *testing.T) {
	m := &onnx.Model{Opsets: map[string]int64{"": 11}}
	m.Graph.Inputs = []onnx.ValueInfo{vi("x", 2, 3)}
	m.Graph.Nodes = []onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}
	m.Graph.Outputs = []onnx.ValueInfo{{Name: "y"}}
	s, err := NewSession(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run([][]float32{make([]float32, 5)}, [][]float32{make([]float32, 6)}); err == nil || !strings.Contains(err.Error(), `input "x": got 5 values`) {
		t.Errorf("short input: %v", err)
	}
	if err := s.Run(nil, nil); err == nil {
		t.Error("no inputs: no error")
	}
	s.Close()
	if err := s.Run([][]float32{make([]float32, 6)}, [][]float32{make([]float32, 6)}); err != ErrClosed {
		t.Errorf("after Close: %v", err)
	}
}

// TestCloseStopsWorkers: a session's worker goroutines end with Close.
func TestCloseStopsWorkers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := loadOpCases(t)[0]
	s, err := NewSession(buildCase(&c), Options{Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestRunAllocs: steady-state Runs allocate nothing, with and without
// workers.
func TestRunAllocs(t *testing.T) {
	for _, c := range loadOpCases(t) {
		for _, threads := range []int{1, 2} {
			s, err := NewSession(buildCase(&c), Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			var ins, outs [][]float32
			for _, in := range s.Inputs() {
				ins = append(ins, make([]float32, in.Size()))
			}
			for _, o := range s.Outputs() {
				outs = append(outs, make([]float32, o.Size()))
			}
			if n := testing.AllocsPerRun(20, func() { s.Run(ins, outs) }); n != 0 {
				t.Errorf("%s, %d threads: %v allocations per Run", c.Name, threads, n)
			}
			s.Close()
		}
	}
}
