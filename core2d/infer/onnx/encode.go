package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// The writer side of the wire format, from the field numbers of
// onnx/onnx.proto: Encode turns a Model back into a ModelProto that Decode
// (and onnxruntime) reads. Tensors are written with raw_data (little
// endian), as exporters do.

// msg is a protobuf message under construction.
type msg []byte

func (m msg) varint(num protowire.Number, v int64) msg {
	m = protowire.AppendTag(m, num, protowire.VarintType)
	return protowire.AppendVarint(m, uint64(v))
}

func (m msg) bytes(num protowire.Number, b []byte) msg {
	m = protowire.AppendTag(m, num, protowire.BytesType)
	return protowire.AppendBytes(m, b)
}

func (m msg) str(num protowire.Number, s string) msg { return m.bytes(num, []byte(s)) }

func (m msg) fixed32(num protowire.Number, f float32) msg {
	m = protowire.AppendTag(m, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(m, math.Float32bits(f))
}

func packedVarints(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = protowire.AppendVarint(b, uint64(x))
	}
	return b
}

func rawF32(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// Encode serializes m as a ModelProto. It fails on what the decoder could
// not have produced faithfully: subgraph attributes (not decoded), string
// tensors, and tensors whose data length disagrees with their dims.
func Encode(m *Model) ([]byte, error) {
	out := msg{}.varint(1, m.IRVersion)
	if m.ProducerName != "" {
		out = out.str(2, m.ProducerName)
	}
	if m.ProducerVersion != "" {
		out = out.str(3, m.ProducerVersion)
	}
	g, err := encodeGraph(&m.Graph)
	if err != nil {
		return nil, err
	}
	out = out.bytes(7, g)
	// Opsets in a stable order: the default domain first, then by name.
	doms := make([]string, 0, len(m.Opsets))
	for d := range m.Opsets {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	for _, d := range doms {
		out = out.bytes(8, msg{}.str(1, d).varint(2, m.Opsets[d]))
	}
	return out, nil
}

func encodeGraph(g *Graph) ([]byte, error) {
	var out msg
	for i := range g.Nodes {
		n, err := encodeNode(&g.Nodes[i])
		if err != nil {
			return nil, fmt.Errorf("onnx: encode node[%d] %s: %w", i, g.Nodes[i].Label(), err)
		}
		out = out.bytes(1, n)
	}
	if g.Name != "" {
		out = out.str(2, g.Name)
	}
	for i, t := range g.Initializers {
		b, err := EncodeTensor(t)
		if err != nil {
			return nil, fmt.Errorf("onnx: encode initializer[%d]: %w", i, err)
		}
		out = out.bytes(5, b)
	}
	for _, v := range g.Inputs {
		out = out.bytes(11, encodeValueInfo(v))
	}
	for _, v := range g.Outputs {
		out = out.bytes(12, encodeValueInfo(v))
	}
	for _, v := range g.ValueInfo {
		out = out.bytes(13, encodeValueInfo(v))
	}
	return out, nil
}

func encodeNode(n *Node) ([]byte, error) {
	var out msg
	for _, s := range n.Inputs {
		out = out.str(1, s)
	}
	for _, s := range n.Outputs {
		out = out.str(2, s)
	}
	if n.Name != "" {
		out = out.str(3, n.Name)
	}
	out = out.str(4, n.OpType)
	for i := range n.Attrs {
		a, err := encodeAttr(&n.Attrs[i])
		if err != nil {
			return nil, err
		}
		out = out.bytes(5, a)
	}
	if n.Domain != "" {
		out = out.str(7, n.Domain)
	}
	return out, nil
}

func encodeAttr(a *Attribute) ([]byte, error) {
	out := msg{}.str(1, a.Name)
	switch a.Type {
	case AttrFloat:
		out = out.fixed32(2, a.F)
	case AttrInt:
		out = out.varint(3, a.I)
	case AttrString:
		out = out.str(4, a.S)
	case AttrTensor:
		if a.T == nil {
			return nil, fmt.Errorf("attribute %q: tensor type without a tensor", a.Name)
		}
		t, err := EncodeTensor(a.T)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
		}
		out = out.bytes(5, t)
	case AttrFloats:
		out = out.bytes(7, rawF32(a.Floats...))
	case AttrInts:
		out = out.bytes(8, packedVarints(a.Ints...))
	case AttrStrings:
		for _, s := range a.Strings {
			out = out.str(9, s)
		}
	case AttrGraph:
		return nil, fmt.Errorf("attribute %q: subgraphs are not supported", a.Name)
	default:
		return nil, fmt.Errorf("attribute %q: undefined type %d", a.Name, a.Type)
	}
	return out.varint(20, int64(a.Type)), nil
}

func encodeValueInfo(v ValueInfo) []byte {
	tt := msg{}.varint(1, int64(v.ElemType))
	if v.HasShape {
		shape := msg{} // present even when empty: a scalar
		for _, d := range v.Dims {
			var dim msg
			switch {
			case d.Value >= 0:
				dim = dim.varint(1, d.Value)
			case d.Param != "":
				dim = dim.str(2, d.Param)
			}
			shape = shape.bytes(1, dim)
		}
		tt = tt.bytes(2, shape)
	}
	return msg{}.str(1, v.Name).bytes(2, msg{}.bytes(1, tt))
}

// EncodeTensor serializes t as a TensorProto with its data in raw_data.
func EncodeTensor(t *Tensor) ([]byte, error) {
	n := t.NumElements()
	if t.Len() != int(n) {
		return nil, fmt.Errorf("tensor %q: dims %v need %d values, it holds %d", t.Name, t.Dims, n, t.Len())
	}
	width, ok := elemWidth[t.DataType]
	if !ok {
		return nil, fmt.Errorf("tensor %q: cannot encode data type %s", t.Name, t.DataType)
	}
	out := msg{}
	if len(t.Dims) > 0 {
		out = out.bytes(1, packedVarints(t.Dims...))
	}
	out = out.varint(2, int64(t.DataType))
	if t.Name != "" {
		out = out.str(8, t.Name)
	}
	raw := make([]byte, int(n)*width)
	switch t.DataType {
	case Float:
		for i, f := range t.Floats {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
	case Float16:
		for i, f := range t.Floats {
			binary.LittleEndian.PutUint16(raw[2*i:], floatToHalf(f))
		}
	case Double:
		for i, f := range t.Doubles {
			binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(f))
		}
	default:
		for i, v := range t.Ints {
			b := raw[i*width:]
			switch width {
			case 1:
				b[0] = byte(v)
			case 2:
				binary.LittleEndian.PutUint16(b, uint16(v))
			case 4:
				binary.LittleEndian.PutUint32(b, uint32(v))
			default:
				binary.LittleEndian.PutUint64(b, uint64(v))
			}
		}
	}
	return out.bytes(9, raw), nil
}

// floatToHalf rounds f to the nearest IEEE 754 binary16 (ties to even),
// the inverse of halfToFloat on values it produced.
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN (keep a NaN a NaN)
		h := sign | 0x7c00
		if mant != 0 {
			h |= 0x200 | uint16(mant>>13)
		}
		return h
	case exp-127+15 >= 0x1f: // overflow
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e <= 0 { // subnormal half (or zero)
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, which is right
	}
	return sign | uint16(h)
}
