// Package onnx reads ONNX model files (.onnx, protobuf) into plain Go values
// without generated protobuf code: the wire format is decoded field by field
// with google.golang.org/protobuf/encoding/protowire, following the field
// numbers of onnx/onnx.proto (ModelProto, GraphProto, NodeProto,
// AttributeProto, TensorProto, ValueInfoProto). Initializers are decoded to
// typed slices (raw_data or the typed repeated fields), tensors stored in
// external data files are read relative to the model's folder, and every
// malformed input is reported as an error naming the byte offset and the
// message being read — the loader never panics on bad input.
package onnx

import (
	"fmt"
	"strings"
)

// DataType is TensorProto.DataType.
type DataType int32

// ONNX tensor element types (TensorProto.DataType).
const (
	Undefined DataType = 0
	Float     DataType = 1
	Uint8     DataType = 2
	Int8      DataType = 3
	Uint16    DataType = 4
	Int16     DataType = 5
	Int32     DataType = 6
	Int64     DataType = 7
	String    DataType = 8
	Bool      DataType = 9
	Float16   DataType = 10
	Double    DataType = 11
	Uint32    DataType = 12
	Uint64    DataType = 13
)

var dtypeNames = map[DataType]string{
	Undefined: "undefined", Float: "float32", Uint8: "uint8", Int8: "int8", Uint16: "uint16",
	Int16: "int16", Int32: "int32", Int64: "int64", String: "string", Bool: "bool",
	Float16: "float16", Double: "float64", Uint32: "uint32", Uint64: "uint64",
}

func (d DataType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// IsInteger reports whether d holds integers (bool included), which Tensor
// keeps in Ints.
func (d DataType) IsInteger() bool {
	switch d {
	case Uint8, Int8, Uint16, Int16, Int32, Int64, Bool, Uint32, Uint64:
		return true
	}
	return false
}

// Model is a decoded ModelProto.
type Model struct {
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	// Opsets maps an operator-set domain ("" is the default ai.onnx
	// domain) to its version.
	Opsets map[string]int64
	Graph  Graph
}

// Opset returns the version of the default (ai.onnx) operator set, or 0.
func (m *Model) Opset() int64 {
	if v, ok := m.Opsets[""]; ok {
		return v
	}
	return m.Opsets["ai.onnx"]
}

// Graph is a decoded GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []*Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
	ValueInfo    []ValueInfo
}

// Initializer returns the initializer called name, or nil.
func (g *Graph) Initializer(name string) *Tensor {
	for _, t := range g.Initializers {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Node is a decoded NodeProto.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string // "" marks an omitted optional input
	Outputs []string
	Attrs   []Attribute
}

// Label names the node for error messages: its name, else its op type and
// first output.
func (n *Node) Label() string {
	if n.Name != "" {
		return n.Name
	}
	if len(n.Outputs) > 0 {
		return n.OpType + "→" + n.Outputs[0]
	}
	return n.OpType
}

// Attr returns the attribute called name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for i := range n.Attrs {
		if n.Attrs[i].Name == name {
			return &n.Attrs[i]
		}
	}
	return nil
}

// AttrType is AttributeProto.AttributeType.
type AttrType int32

// Attribute types.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
)

// Attribute is a decoded AttributeProto. Type says which field is set;
// files from old exporters that leave Type unset get it inferred from the
// fields present.
type Attribute struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
	HasG    bool // a subgraph was present (not decoded)
}

// Dim is one dimension of a ValueInfo shape: Value ≥ 0 when known, else
// Param names the symbolic dimension ("batch") or is empty for an unknown one
// (Value is then -1).
type Dim struct {
	Value int64
	Param string
}

func (d Dim) String() string {
	if d.Value >= 0 {
		return fmt.Sprint(d.Value)
	}
	if d.Param != "" {
		return d.Param
	}
	return "?"
}

// ValueInfo is a decoded ValueInfoProto for a tensor type. HasShape is false
// when the type carries no shape at all (rank unknown).
type ValueInfo struct {
	Name     string
	ElemType DataType
	Dims     []Dim
	HasShape bool
}

func (v ValueInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", v.Name, v.ElemType)
	if v.HasShape {
		b.WriteString(" [")
		for i, d := range v.Dims {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.String())
		}
		b.WriteString("]")
	}
	return b.String()
}

// Tensor is a decoded TensorProto. Exactly one of the data slices is set,
// chosen by DataType: Floats for float32 and float16 (widened), Doubles for
// float64, Ints for every integer type and bool. Raw holds the bytes of a
// string tensor's first element, if any, and is otherwise nil.
type Tensor struct {
	Name     string
	DataType DataType
	Dims     []int64
	Floats   []float32
	Doubles  []float64
	Ints     []int64
	External bool // the data came from an external file
}

// NumElements is the product of Dims (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Len is the number of decoded elements.
func (t *Tensor) Len() int {
	switch {
	case t.Floats != nil:
		return len(t.Floats)
	case t.Doubles != nil:
		return len(t.Doubles)
	default:
		return len(t.Ints)
	}
}
