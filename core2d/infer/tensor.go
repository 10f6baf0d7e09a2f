package infer

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// value is one tensor of the compiled graph: a constant (initializer or
// folded), a graph input, or the output of a kernel.
type value struct {
	name  string
	shape []int
	isInt bool // integer tensor: only as a constant (ints holds it)
	// dtype is the ONNX type of a run-time tensor carried as float32
	// values: an integer type (or Bool) for integer graph inputs and what
	// is computed from them, Undefined for float (intsem.go).
	dtype onnx.DataType
	konst bool // data (or ints) is fixed at compile time
	ints  []int64
	data  []float32 // float data: constant, planned buffer, or bound by Run

	producer int // step index, -1 for inputs and constants
	lastUse  int // last step reading it, -1 when unread
	input    bool
	output   bool
	buf      int // planned buffer, -1 when none
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func (v *value) numel() int { return numel(v.shape) }

func (v *value) String() string { return fmt.Sprintf("%q %v", v.name, v.shape) }

// constFromTensor makes a constant value from an ONNX tensor.
func constFromTensor(t *onnx.Tensor) (*value, error) {
	v := &value{name: t.Name, producer: -1, lastUse: -1, buf: -1, konst: true}
	v.shape = make([]int, len(t.Dims))
	for i, d := range t.Dims {
		v.shape[i] = int(d)
	}
	switch {
	case t.DataType == onnx.Float || t.DataType == onnx.Float16:
		v.data = t.Floats
	case t.DataType == onnx.Double:
		v.data = make([]float32, len(t.Doubles))
		for i, d := range t.Doubles {
			v.data[i] = float32(d)
		}
	case t.DataType.IsInteger():
		v.isInt = true
		v.ints = t.Ints
	default:
		return nil, fmt.Errorf("tensor %q: unsupported data type %s", t.Name, t.DataType)
	}
	if v.data == nil && !v.isInt {
		v.data = []float32{}
	}
	return v, nil
}

// floats returns a constant's values as float64s (ints converted).
func (v *value) floats() []float64 {
	out := make([]float64, 0, v.numel())
	if v.isInt {
		for _, x := range v.ints {
			out = append(out, float64(x))
		}
		return out
	}
	for _, x := range v.data {
		out = append(out, float64(x))
	}
	return out
}

// int64s returns a constant's values as int64s (floats truncated).
func (v *value) int64s() []int64 {
	if v.isInt {
		return v.ints
	}
	out := make([]int64, len(v.data))
	for i, x := range v.data {
		out[i] = int64(x)
	}
	return out
}
