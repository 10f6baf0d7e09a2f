package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// A tiny protobuf writer for hand-made test models, written from the
// field numbers of onnx.proto (independently of the decoder's tables).

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

// valueInfo encodes ValueInfoProto{name, type{tensor_type{elem_type, shape}}};
// a dim < 0 is written as dim_param "N".
func valueInfo(name string, elem int64, dims ...int64) []byte {
	var shape msg
	for _, d := range dims {
		var dim msg
		if d < 0 {
			dim = dim.str(2, "N")
		} else {
			dim = dim.varint(1, d)
		}
		shape = shape.bytes(1, dim)
	}
	tt := msg{}.varint(1, elem).bytes(2, shape)
	return msg{}.str(1, name).bytes(2, msg{}.bytes(1, tt))
}

func node(name, op string, ins, outs []string, attrs ...[]byte) []byte {
	var m msg
	for _, i := range ins {
		m = m.str(1, i)
	}
	for _, o := range outs {
		m = m.str(2, o)
	}
	m = m.str(3, name).str(4, op)
	for _, a := range attrs {
		m = m.bytes(5, a)
	}
	return m
}

func model(opset int64, graph []byte) []byte {
	return msg{}.varint(1, 8).str(2, "test").bytes(8, msg{}.str(1, "").varint(2, opset)).bytes(7, graph)
}

// smallModel is x[1,2,N] → Conv-free Add(x, bias) → y, with an
// initializer in raw_data and one in float_data.
func smallModel() []byte {
	bias := msg{}.bytes(1, packedVarints(2, 1)).varint(2, 1).str(8, "bias").bytes(9, rawF32(0.5, -1.5))
	scale := msg{}.varint(1, 1).varint(2, 1).str(8, "scale").fixed32(4, 3)
	g := msg{}.
		bytes(1, node("add", "Add", []string{"x", "bias"}, []string{"t"})).
		bytes(1, node("mul", "Mul", []string{"t", "scale"}, []string{"y"},
			msg{}.str(1, "note").str(4, "hello").varint(20, 3))).
		str(2, "g").
		bytes(5, bias).bytes(5, scale).
		bytes(11, valueInfo("x", 1, 1, 2, -1)).
		bytes(12, valueInfo("y", 1, 1, 2, -1))
	return model(13, g)
}
