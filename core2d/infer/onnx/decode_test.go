package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

func yoloxPath(t testing.TB) string {
	return sampledata.Shared(t, "models-2d/yolox-nano/yolox_nano.onnx")
}

// TestLoadYOLOXNano checks the real model against facts read independently
// (PROVENANCE.md, tools/onnx_info.py and a Python dump of the protobuf).
func TestLoadYOLOXNano(t *testing.T) {
	m, err := Load(yoloxPath(t))
	if err != nil {
		t.Fatal(err)
	}
	g := &m.Graph
	if m.IRVersion != 7 || m.Opset() != 11 || m.ProducerName != "pytorch" || m.ProducerVersion != "1.10" {
		t.Errorf("header: ir %d opset %d producer %q %q", m.IRVersion, m.Opset(), m.ProducerName, m.ProducerVersion)
	}
	if len(g.Nodes) != 369 || len(g.Initializers) != 236 {
		t.Errorf("%d nodes, %d initializers; want 369, 236", len(g.Nodes), len(g.Initializers))
	}
	if len(g.Inputs) != 1 || g.Inputs[0].String() != "images float32 [1, 3, 416, 416]" {
		t.Errorf("inputs %v", g.Inputs)
	}
	if len(g.Outputs) != 1 || g.Outputs[0].String() != "output float32 [1, 3549, 85]" {
		t.Errorf("outputs %v", g.Outputs)
	}
	if v := g.Initializer("1157"); v == nil || v.DataType != Int64 || !reflect.DeepEqual(v.Ints, []int64{1, 85, -1}) {
		t.Errorf("reshape target 1157: %+v", v)
	}
	if v := g.Initializer("645"); v == nil || v.Ints[0] != 1<<63-1 {
		t.Errorf("slice end 645: %+v", v)
	}
	w := g.Initializer("head.cls_preds.0.weight")
	// raw_data starts fd 39 5f bc: struct.unpack("<f", b"\xfd9_\xbc") = -0.013624665327370167
	if w == nil || !reflect.DeepEqual(w.Dims, []int64{80, 64, 1, 1}) || len(w.Floats) != 5120 || w.Floats[0] != -0.013624665327370167 {
		t.Errorf("head.cls_preds.0.weight: dims %v, %d floats, first %v", w.Dims, len(w.Floats), w.Floats[:1])
	}
	if v := g.Initializer("894"); v == nil || len(v.Dims) != 1 || v.Dims[0] != 0 || v.Len() != 0 {
		t.Errorf("empty roi 894: %+v", v)
	}
	var conv44, resize *Node
	for i := range g.Nodes {
		switch g.Nodes[i].Name {
		case "Conv_44":
			conv44 = &g.Nodes[i]
		case "Resize_201":
			resize = &g.Nodes[i]
		}
	}
	if conv44 == nil || conv44.Attr("group").I != 16 || !reflect.DeepEqual(conv44.Attr("strides").Ints, []int64{2, 2}) ||
		conv44.Attr("pads").Type != AttrInts {
		t.Errorf("Conv_44: %+v", conv44)
	}
	if resize == nil || resize.Attr("mode").S != "nearest" || resize.Attr("nearest_mode").S != "floor" ||
		resize.Attr("cubic_coeff_a").F != -0.75 || !reflect.DeepEqual(resize.Inputs, []string{"890", "894", "1489"}) {
		t.Errorf("Resize_201: %+v", resize)
	}
}

func TestDecodeSmall(t *testing.T) {
	m, err := Decode(smallModel(), "")
	if err != nil {
		t.Fatal(err)
	}
	g := &m.Graph
	if m.Opset() != 13 || g.Name != "g" || len(g.Nodes) != 2 {
		t.Fatalf("%+v", m)
	}
	if got := g.Inputs[0].String(); got != "x float32 [1, 2, N]" {
		t.Errorf("input %q", got)
	}
	if b := g.Initializer("bias"); !reflect.DeepEqual(b.Floats, []float32{0.5, -1.5}) || !reflect.DeepEqual(b.Dims, []int64{2, 1}) {
		t.Errorf("bias %+v", b)
	}
	if s := g.Initializer("scale"); !reflect.DeepEqual(s.Floats, []float32{3}) {
		t.Errorf("scale %+v", s)
	}
	if a := g.Nodes[1].Attr("note"); a == nil || a.S != "hello" || a.Type != AttrString {
		t.Errorf("attr %+v", a)
	}
}

// TestDecodeTypedFields covers the typed data fields, packed and not.
func TestDecodeTypedFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tensor msg
		check  func(*Tensor) bool
	}{
		{"int64 packed", msg{}.varint(1, 3).varint(2, 7).bytes(7, packedVarints(1, -2, 1<<40)),
			func(t *Tensor) bool { return reflect.DeepEqual(t.Ints, []int64{1, -2, 1 << 40}) }},
		{"int32 unpacked negative", msg{}.varint(1, 2).varint(2, 6).varint(5, -5).varint(5, 7),
			func(t *Tensor) bool { return reflect.DeepEqual(t.Ints, []int64{-5, 7}) }},
		{"float packed", msg{}.varint(1, 2).varint(2, 1).bytes(4, rawF32(1.25, -2)),
			func(t *Tensor) bool { return reflect.DeepEqual(t.Floats, []float32{1.25, -2}) }},
		{"double", msg{}.varint(1, 1).varint(2, 11).bytes(10, []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f}),
			func(t *Tensor) bool { return reflect.DeepEqual(t.Doubles, []float64{1.5}) }},
		{"raw int8", msg{}.varint(1, 3).varint(2, 3).bytes(9, []byte{0xff, 2, 0x80}),
			func(t *Tensor) bool { return reflect.DeepEqual(t.Ints, []int64{-1, 2, -128}) }},
		{"raw float16", msg{}.varint(1, 3).varint(2, 10).bytes(9, []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}),
			func(t *Tensor) bool { return t.Floats[0] == 1 && t.Floats[1] == -2 && t.Floats[2] == 5.9604645e-08 }},
		{"scalar", msg{}.varint(2, 7).bytes(9, []byte{9, 0, 0, 0, 0, 0, 0, 0}),
			func(t *Tensor) bool { return len(t.Dims) == 0 && reflect.DeepEqual(t.Ints, []int64{9}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decoder{}
			got, err := d.tensor(tc.tensor, 0, "test")
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	data := append([]byte("HEADER.."), rawF32(1, 2, 3, 4)...)
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	kv := func(k, v string) []byte { return msg{}.str(1, k).str(2, v) }
	ext := func(loc, off, length string) msg {
		m := msg{}.bytes(1, packedVarints(2, 2)).varint(2, 1).str(8, "w").varint(14, 1).bytes(13, kv("location", loc))
		if off != "" {
			m = m.bytes(13, kv("offset", off))
		}
		if length != "" {
			m = m.bytes(13, kv("length", length))
		}
		return m
	}
	mk := func(t msg) []byte {
		return model(13, msg{}.bytes(5, t).bytes(11, valueInfo("x", 1, 2)).bytes(12, valueInfo("x", 1, 2)))
	}
	path := filepath.Join(dir, "m.onnx")
	os.WriteFile(path, mk(ext("weights.bin", "8", "16")), 0o644)
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if w := m.Graph.Initializer("w"); !w.External || !reflect.DeepEqual(w.Floats, []float32{1, 2, 3, 4}) {
		t.Errorf("external w: %+v", w)
	}
	for _, tc := range []struct {
		t    msg
		want string
	}{
		{ext("missing.bin", "", ""), "missing.bin"},
		{ext("weights.bin", "8", "12"), "need 16 bytes of float32, raw_data holds 12"},
		{ext("weights.bin", "100", "16"), "beyond its size"},
		{ext("../etc/passwd", "", ""), "must be relative and inside"},
	} {
		os.WriteFile(path, mk(tc.t), 0o644)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error containing %q, got %v", tc.want, err)
		}
	}
	if _, err := Decode(mk(ext("weights.bin", "", "")), ""); err == nil || !strings.Contains(err.Error(), "decoded from memory") {
		t.Errorf("external data without a folder: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := smallModel()
	// Every truncation is an error (never a panic) naming a byte offset.
	for n := 1; n < len(good); n++ {
		_, err := Decode(good[:n], "")
		if err == nil {
			continue // a prefix can be a valid message (ends between fields)
		}
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Offset < 0 || fe.Offset > n || !strings.Contains(err.Error(), "byte ") {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
	if _, err := Decode(good[:len(good)-3], ""); err == nil {
		t.Error("truncated graph: no error")
	}
	bad := model(13, msg{}.bytes(5, msg{}.bytes(1, packedVarints(3)).varint(2, 1).str(8, "w").bytes(9, rawF32(1, 2))))
	if _, err := Decode(bad, ""); err == nil || !strings.Contains(err.Error(), `"w": dims [3] need 12 bytes of float32, raw_data holds 8`) {
		t.Errorf("short raw_data: %v", err)
	}
	wrongType := model(13, msg{}.bytes(1, msg{}.varint(4, 5)))
	if _, err := Decode(wrongType, ""); err == nil || !strings.Contains(err.Error(), "GraphProto.node[0]: field 4 has wire type 0") {
		t.Errorf("wrong wire type: %v", err)
	}
	if _, err := Decode([]byte{0x0a}, ""); err == nil {
		t.Error("bare tag: no error")
	}
	if _, err := Decode(msg{}.varint(1, 7), ""); err == nil || !strings.Contains(err.Error(), "no graph") {
		t.Errorf("no graph: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(smallModel())
	f.Add(model(11, msg{}.bytes(5, msg{}.bytes(1, packedVarints(2)).varint(2, 7).bytes(7, packedVarints(1, 2)))))
	f.Add(model(11, msg{}.bytes(1, node("n", "Conv", []string{"x", "w"}, []string{"y"}, msg{}.str(1, "pads").bytes(8, packedVarints(1, 1, 1, 1)).varint(20, 7)))))
	if b, err := os.ReadFile(filepath.Join(sampledata.SharedDir(f), "models-2d/yolox-nano/yolox_nano.onnx")); err == nil {
		f.Add(b[:64<<10])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, "")
		if err == nil && m == nil {
			t.Fatal("nil model without error")
		}
	})
}
