// Package onnxbuild writes ONNX models from Go: a small graph builder
// (inputs, initializers, nodes with attributes, outputs) that checks the
// wiring as it goes and serializes through the onnx package's encoder. It
// exists so that tests and tools can make real .onnx files — architecture
// test models with seeded random weights (PointPillars), op test graphs —
// without Python or a protobuf code generator.
package onnxbuild

import (
	"fmt"
	"strconv"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Graph collects a model. Methods record the first error and turn into
// no-ops after it; Build reports it. Tensor names are checked as they are
// used: a node input must be a graph input, an initializer or the output
// of an earlier node.
type Graph struct {
	m     onnx.Model
	known map[string]bool
	err   error
	auto  int
}

// New starts a model with the given graph name and default-domain opset.
func New(name string, opset int64) *Graph {
	return &Graph{
		m:     onnx.Model{IRVersion: 8, ProducerName: "ds3d-go onnxbuild", Opsets: map[string]int64{"": opset}, Graph: onnx.Graph{Name: name}},
		known: map[string]bool{},
	}
}

// Err returns the first error recorded, if any.
func (g *Graph) Err() error { return g.err }

func (g *Graph) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf("onnxbuild: "+format, args...)
	}
}

func (g *Graph) define(name string) bool {
	if g.err != nil {
		return false
	}
	if name == "" {
		g.fail("empty tensor name")
		return false
	}
	if g.known[name] {
		g.fail("tensor %q defined twice", name)
		return false
	}
	g.known[name] = true
	return true
}

// dims converts shape values: a negative dim becomes a symbolic one named
// "d<i>" (dynamic).
func dims(shape []int64) []onnx.Dim {
	out := make([]onnx.Dim, len(shape))
	for i, d := range shape {
		if d < 0 {
			out[i] = onnx.Dim{Value: -1, Param: "d" + strconv.Itoa(i)}
		} else {
			out[i] = onnx.Dim{Value: d}
		}
	}
	return out
}

// Input declares a graph input; a negative dim is dynamic. It returns name.
func (g *Graph) Input(name string, dt onnx.DataType, shape ...int64) string {
	if g.define(name) {
		g.m.Graph.Inputs = append(g.m.Graph.Inputs, onnx.ValueInfo{Name: name, ElemType: dt, Dims: dims(shape), HasShape: true})
	}
	return name
}

// Output declares an existing tensor a graph output with its element type
// and shape (a negative dim is dynamic).
func (g *Graph) Output(name string, dt onnx.DataType, shape ...int64) {
	if g.err != nil {
		return
	}
	if !g.known[name] {
		g.fail("output %q is not produced by any node", name)
		return
	}
	g.m.Graph.Outputs = append(g.m.Graph.Outputs, onnx.ValueInfo{Name: name, ElemType: dt, Dims: dims(shape), HasShape: true})
}

func (g *Graph) initializer(t *onnx.Tensor) string {
	if g.err != nil {
		return t.Name
	}
	if int64(t.Len()) != t.NumElements() {
		g.fail("initializer %q: shape %v needs %d values, got %d", t.Name, t.Dims, t.NumElements(), t.Len())
		return t.Name
	}
	if g.define(t.Name) {
		g.m.Graph.Initializers = append(g.m.Graph.Initializers, t)
	}
	return t.Name
}

// Float adds a float32 initializer of the given shape and returns its name.
func (g *Graph) Float(name string, shape []int64, data []float32) string {
	return g.initializer(&onnx.Tensor{Name: name, DataType: onnx.Float, Dims: append([]int64(nil), shape...), Floats: data})
}

// Int64 adds an int64 initializer (shapes, axes, indices) and returns its
// name. A nil shape makes a 1-D tensor of len(data).
func (g *Graph) Int64(name string, shape []int64, data []int64) string {
	if shape == nil {
		shape = []int64{int64(len(data))}
	}
	return g.initializer(&onnx.Tensor{Name: name, DataType: onnx.Int64, Dims: append([]int64(nil), shape...), Ints: data})
}

// Attr is a node attribute; make one with Int, Ints, F, Floats, Str or
// TensorAttr.
type Attr = onnx.Attribute

// Int is an integer attribute.
func Int(name string, v int64) Attr { return Attr{Name: name, Type: onnx.AttrInt, I: v} }

// Ints is an integer-list attribute.
func Ints(name string, v ...int64) Attr { return Attr{Name: name, Type: onnx.AttrInts, Ints: v} }

// F is a float attribute.
func F(name string, v float32) Attr { return Attr{Name: name, Type: onnx.AttrFloat, F: v} }

// Floats is a float-list attribute.
func Floats(name string, v ...float32) Attr {
	return Attr{Name: name, Type: onnx.AttrFloats, Floats: v}
}

// Str is a string attribute.
func Str(name, v string) Attr { return Attr{Name: name, Type: onnx.AttrString, S: v} }

// TensorAttr is a tensor attribute (Constant's value, ConstantOfShape's).
func TensorAttr(name string, t *onnx.Tensor) Attr {
	return Attr{Name: name, Type: onnx.AttrTensor, T: t}
}

// Node adds a node with one output, named after the op and a counter, and
// returns the output's name. An input "" is an omitted optional input.
func (g *Graph) Node(op string, inputs []string, attrs ...Attr) string {
	g.auto++
	out := op + "_" + strconv.Itoa(g.auto)
	g.NodeOut(op, inputs, []string{out}, attrs...)
	return out
}

// NodeOut adds a node with explicitly named outputs.
func (g *Graph) NodeOut(op string, inputs, outputs []string, attrs ...Attr) {
	if g.err != nil {
		return
	}
	for _, in := range inputs {
		if in != "" && !g.known[in] {
			g.fail("node %s: input %q is not defined yet", op, in)
			return
		}
	}
	for _, o := range outputs {
		if !g.define(o) {
			return
		}
	}
	name := op
	if len(outputs) > 0 {
		name = op + "→" + outputs[0]
	}
	g.m.Graph.Nodes = append(g.m.Graph.Nodes, onnx.Node{
		Name: name, OpType: op, Inputs: append([]string(nil), inputs...), Outputs: append([]string(nil), outputs...),
		Attrs: append([]Attr(nil), attrs...),
	})
}

// Model returns the model built so far (shared, not copied) or the first
// error.
func (g *Graph) Model() (*onnx.Model, error) {
	if g.err != nil {
		return nil, g.err
	}
	if len(g.m.Graph.Outputs) == 0 {
		return nil, fmt.Errorf("onnxbuild: graph %q has no outputs", g.m.Graph.Name)
	}
	return &g.m, nil
}

// Build serializes the model as a .onnx file's bytes.
func (g *Graph) Build() ([]byte, error) {
	m, err := g.Model()
	if err != nil {
		return nil, err
	}
	return onnx.Encode(m)
}
