package onnxbuild_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
)

// A 1×1 convolution with two output channels and a ReLU, built, encoded,
// and run by the engine: y[m] = relu(w[m]·x + b[m]).
func Example() {
	g := onnxbuild.New("tiny", 13)
	x := g.Input("x", onnx.Float, 1, 2, 1, 2)
	w := g.Float("w", []int64{2, 2, 1, 1}, []float32{1, 2, -1, 0})
	b := g.Float("b", []int64{2}, []float32{0.5, 0})
	y := g.Node("Relu", []string{g.Node("Conv", []string{x, w, b}, onnxbuild.Ints("kernel_shape", 1, 1))})
	g.Output(y, onnx.Float, 1, 2, 1, 2)
	data, err := g.Build()
	if err != nil {
		panic(err)
	}
	m, err := onnx.Decode(data, "")
	if err != nil {
		panic(err)
	}
	s, err := infer.NewSession(m, infer.Options{Threads: 1})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	out := make([]float32, 4)
	// x channel 0 = [1, 2], channel 1 = [3, -4]
	if err := s.Run([][]float32{{1, 2, 3, -4}}, [][]float32{out}); err != nil {
		panic(err)
	}
	fmt.Println(out)
	// Output: [7.5 0 0 0]
}

// TestRoundTrip: the decoded model is the graph that was built, field by
// field, checked against literal expectations.
func TestRoundTrip(t *testing.T) {
	g := onnxbuild.New("rt", 17)
	x := g.Input("x", onnx.Float, -1, 3)
	k := g.Int64("k", nil, []int64{0, 2})
	c := g.Node("Gather", []string{x, k}, onnxbuild.Int("axis", 1))
	g.NodeOut("Split", []string{c}, []string{"a", "b"}, onnxbuild.Int("axis", 1), onnxbuild.Str("note", "two"),
		onnxbuild.Floats("f", 1.5), onnxbuild.F("alpha", 0.25))
	g.Output("a", onnx.Float, -1, 1)
	g.Output("b", onnx.Float, -1, 1)
	data, err := g.Build()
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	gr := &m.Graph
	if m.Opset() != 17 || gr.Name != "rt" || len(gr.Nodes) != 2 || len(gr.Initializers) != 1 {
		t.Fatalf("model %+v", m)
	}
	if s := gr.Inputs[0].String(); s != "x float32 [d0, 3]" {
		t.Errorf("input %q", s)
	}
	if s := gr.Outputs[1].String(); s != "b float32 [d0, 1]" {
		t.Errorf("output %q", s)
	}
	if in := gr.Initializers[0]; in.Name != "k" || in.DataType != onnx.Int64 || !reflect.DeepEqual(in.Ints, []int64{0, 2}) || !reflect.DeepEqual(in.Dims, []int64{2}) {
		t.Errorf("initializer %+v", in)
	}
	n0, n1 := gr.Nodes[0], gr.Nodes[1]
	if n0.OpType != "Gather" || !reflect.DeepEqual(n0.Inputs, []string{"x", "k"}) || n0.Attr("axis").I != 1 {
		t.Errorf("node 0 %+v", n0)
	}
	if n1.OpType != "Split" || !reflect.DeepEqual(n1.Inputs, []string{n0.Outputs[0]}) || !reflect.DeepEqual(n1.Outputs, []string{"a", "b"}) ||
		n1.Attr("note").S != "two" || n1.Attr("alpha").F != 0.25 || !reflect.DeepEqual(n1.Attr("f").Floats, []float32{1.5}) {
		t.Errorf("node 1 %+v", n1)
	}
}

func TestBuildErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		f    func(g *onnxbuild.Graph)
		want string
	}{
		"undefined input": {func(g *onnxbuild.Graph) { g.Output(g.Node("Relu", []string{"nope"}), onnx.Float) }, "not defined"},
		"duplicate":       {func(g *onnxbuild.Graph) { g.Input("x", onnx.Float); g.Float("x", []int64{1}, []float32{1}) }, "twice"},
		"bad size":        {func(g *onnxbuild.Graph) { g.Float("w", []int64{2, 2}, []float32{1}) }, "needs 4 values"},
		"no outputs":      {func(g *onnxbuild.Graph) { g.Input("x", onnx.Float) }, "no outputs"},
		"unknown output":  {func(g *onnxbuild.Graph) { g.Output("y", onnx.Float) }, "not produced"},
	} {
		g := onnxbuild.New("e", 13)
		tc.f(g)
		if _, err := g.Build(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
}
