package onnx

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Hand-made test models, written with the low-level msg writer straight
// from the field numbers of onnx.proto (not through Encode), so that the
// decoder tests do not depend on the encoder under test.

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

// roundTrip checks Decode(Encode(m)) == m.
func roundTrip(t *testing.T, m *Model) {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b, "")
	if err != nil {
		t.Fatalf("decode of the encoding: %v", err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", back.Graph, m.Graph)
	}
}

func TestEncodeRoundTripSmall(t *testing.T) {
	m, err := Decode(smallModel(), "")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, m)
}

// TestEncodeEveryType covers every attribute type, every numeric tensor
// type, dynamic and unknown dims, a scalar and an input without shape.
func TestEncodeEveryType(t *testing.T) {
	tensors := []*Tensor{
		{Name: "f", DataType: Float, Dims: []int64{2, 2}, Floats: []float32{1, -2.5, float32(math.Inf(1)), 1e-30}},
		{Name: "h", DataType: Float16, Dims: []int64{3}, Floats: []float32{1, -0.000061035156, 65504}},
		{Name: "d", DataType: Double, Dims: []int64{2}, Doubles: []float64{math.Pi, -1e300}},
		{Name: "scalar", DataType: Int64, Ints: []int64{-1 << 40}},
		{Name: "empty", DataType: Float, Dims: []int64{0, 3}, Floats: []float32{}},
	}
	for dt, v := range map[DataType][]int64{Uint8: {0, 255}, Int8: {-128, 127}, Uint16: {0, 65535}, Int16: {-32768, 5},
		Int32: {-1 << 31, 1<<31 - 1}, Uint32: {0, 1<<32 - 1}, Bool: {0, 1}, Uint64: {1, 1 << 62}} {
		tensors = append(tensors, &Tensor{Name: dt.String(), DataType: dt, Dims: []int64{2}, Ints: v})
	}
	sortTensors(tensors)
	m := &Model{IRVersion: 8, ProducerName: "p", ProducerVersion: "1.0", Opsets: map[string]int64{"": 17, "com.example": 2},
		Graph: Graph{
			Name:         "g",
			Initializers: tensors,
			Inputs: []ValueInfo{
				{Name: "x", ElemType: Float, HasShape: true, Dims: []Dim{{Value: -1, Param: "batch"}, {Value: 3}, {Value: -1}}},
				{Name: "noshape", ElemType: Int64},
				{Name: "s", ElemType: Float, HasShape: true},
			},
			Outputs:   []ValueInfo{{Name: "y", ElemType: Float, HasShape: true, Dims: []Dim{{Value: 0}}}},
			ValueInfo: []ValueInfo{{Name: "t", ElemType: Double}},
			Nodes: []Node{{
				Name: "n", OpType: "Custom", Domain: "com.example", Inputs: []string{"x", "", "f"}, Outputs: []string{"y", "z"},
				Attrs: []Attribute{
					{Name: "f", Type: AttrFloat, F: -0.25},
					{Name: "i", Type: AttrInt, I: -7},
					{Name: "s", Type: AttrString, S: "héllo"},
					{Name: "t", Type: AttrTensor, T: &Tensor{DataType: Float, Dims: []int64{1}, Floats: []float32{4}}},
					{Name: "fs", Type: AttrFloats, Floats: []float32{1, 2}},
					{Name: "is", Type: AttrInts, Ints: []int64{-1, 0, 1 << 50}},
					{Name: "ss", Type: AttrStrings, Strings: []string{"a", ""}},
				},
			}},
		}}
	roundTrip(t, m)
}

func sortTensors(ts []*Tensor) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Name < ts[j-1].Name; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

func TestEncodeRoundTripYOLOX(t *testing.T) {
	m, err := Load(yoloxPath(t))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, m)
}

// TestEncodeRoundTripNodeTests re-encodes every model of Debian's
// libonnx-testdata node tests: each comes back equal, or Encode refuses
// it for a documented reason (subgraphs, string tensors).
func TestEncodeRoundTripNodeTests(t *testing.T) {
	needNodeData(t)
	paths, _ := filepath.Glob(filepath.Join(nodeData, "*", "model.onnx"))
	if len(paths) == 0 {
		t.Fatalf("no model.onnx under %s", nodeData)
	}
	ok := 0
	for _, p := range paths {
		m, err := Load(p)
		if err != nil {
			continue // the decoder's own limits (e.g. string tensors) are tested elsewhere
		}
		b, err := Encode(m)
		if err != nil {
			if !strings.Contains(err.Error(), "subgraph") && !strings.Contains(err.Error(), "cannot encode") {
				t.Errorf("%s: %v", p, err)
			}
			continue
		}
		back, err := Decode(b, "")
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Errorf("%s: round trip differs (err %v)", p, err)
			continue
		}
		ok++
	}
	if ok < len(paths)/2 {
		t.Errorf("only %d of %d node test models round-tripped", ok, len(paths))
	}
	t.Logf("%d of %d node test models round-tripped", ok, len(paths))
}

func TestEncodeErrors(t *testing.T) {
	for _, m := range []*Model{
		{Graph: Graph{Initializers: []*Tensor{{Name: "w", DataType: Float, Dims: []int64{3}, Floats: []float32{1}}}}},
		{Graph: Graph{Initializers: []*Tensor{{Name: "w", DataType: String, Dims: []int64{1}, Ints: []int64{0}}}}},
		{Graph: Graph{Nodes: []Node{{OpType: "If", Attrs: []Attribute{{Name: "then_branch", Type: AttrGraph, HasG: true}}}}}},
		{Graph: Graph{Nodes: []Node{{OpType: "X", Attrs: []Attribute{{Name: "a"}}}}}},
	} {
		if _, err := Encode(m); err == nil {
			t.Errorf("Encode(%+v) succeeded", m.Graph)
		}
	}
}

// TestFloatToHalf: every finite half survives half → float → half, and
// rounding between halves is to nearest, ties to even (hand-computed
// neighbours of 1: 1 + 2⁻¹¹ is the tie between 1 and 1 + 2⁻¹⁰).
func TestFloatToHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN payloads
		}
		if got := floatToHalf(halfToFloat(uint16(h))); got != uint16(h) {
			t.Fatalf("half %#04x → %v → %#04x", h, halfToFloat(uint16(h)), got)
		}
	}
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{1 + 1.0/2048, 0x3c00},             // tie, even is 1
		{1 + 3.0/2048, 0x3c02},             // tie, even is 1 + 2⁻⁹
		{1 + 1.0/2048 + 1.0/65536, 0x3c01}, // above the tie
		{65520, 0x7c00},                    // rounds to Inf
		{1e-8, 0},                          // underflows to +0
		{-5.9604645e-8, 0x8001},            // smallest negative subnormal
	} {
		if got := floatToHalf(c.f); got != c.h {
			t.Errorf("floatToHalf(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if h := floatToHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN → %#04x", h)
	}
}

// TestEncodeWire pins the bytes of one tensor to hand-written protobuf.
func TestEncodeWire(t *testing.T) {
	got, err := EncodeTensor(&Tensor{Name: "w", DataType: Int16, Dims: []int64{2}, Ints: []int64{-2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		byte(1<<3 | protowire.BytesType), 1, 2, // dims packed [2]
		byte(2<<3 | protowire.VarintType), 5, // data_type INT16
		byte(8<<3 | protowire.BytesType), 1, 'w', // name
		byte(9<<3 | protowire.BytesType), 4, 0xfe, 0xff, 3, 0, // raw_data
	}
	if string(got) != string(want) {
		t.Errorf("got % x\nwant % x", got, want)
	}
}
