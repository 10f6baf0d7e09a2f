package infer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
)

// TestIntegerSemantics runs ops on integer graph inputs (carried as
// float32) and checks integer results computed by hand: wrap-around of
// the narrow types, truncating division, both Mod conventions, casts.
func TestIntegerSemantics(t *testing.T) {
	type tc struct {
		name  string
		op    string
		dt    onnx.DataType
		attrs []onnxbuild.Attr
		a, b  []float32 // b nil: a unary op
		outDT onnx.DataType
		want  []float32
	}
	cases := []tc{
		// 200+100 = 300 ≡ 44 (mod 256); 10−20 = −10 ≡ 246
		{"uint8 add wraps", "Add", onnx.Uint8, nil, []float32{200, 255, 1}, []float32{100, 1, 2}, onnx.Uint8, []float32{44, 0, 3}},
		{"uint8 sub wraps", "Sub", onnx.Uint8, nil, []float32{10, 0}, []float32{20, 1}, onnx.Uint8, []float32{246, 255}},
		// 100·3 = 300 ≡ 44; −128·−1 = 128 ≡ −128 in int8
		{"int8 mul wraps", "Mul", onnx.Int8, nil, []float32{100, -128, -5}, []float32{3, -1, 7}, onnx.Int8, []float32{44, -128, -35}},
		// (2^16−1)² = 2^32 − 2^17 + 1 ≡ 1 (mod 2^16): exact only in integers
		{"uint16 mul wraps", "Mul", onnx.Uint16, nil, []float32{65535, 300}, []float32{65535, 300}, onnx.Uint16, []float32{1, 24464}},
		// test_div_uint8's failure: 16/11 is 1, not 1.4545
		{"uint8 div floors", "Div", onnx.Uint8, nil, []float32{16, 255, 3}, []float32{11, 16, 4}, onnx.Uint8, []float32{1, 15, 0}},
		{"int32 div truncates", "Div", onnx.Int32, nil, []float32{-7, 7, -7, 9}, []float32{2, -2, -2, 0}, onnx.Int32, []float32{-3, -3, 3, 0}},
		{"int32 mod python", "Mod", onnx.Int32, nil, []float32{-7, 7, -7, 6}, []float32{2, -2, -2, 3}, onnx.Int32, []float32{1, -1, -1, 0}},
		{"int32 mod fmod", "Mod", onnx.Int32, []onnxbuild.Attr{onnxbuild.Int("fmod", 1)}, []float32{-7, 7, -7}, []float32{2, -2, -2}, onnx.Int32, []float32{-1, 1, -1}},
		// 3^5 = 243; 3^6 = 729 ≡ 217; 2^0 = 1
		{"uint8 pow wraps", "Pow", onnx.Uint8, nil, []float32{3, 3, 2}, []float32{5, 6, 0}, onnx.Uint8, []float32{243, 217, 1}},
		{"int8 neg wraps", "Neg", onnx.Int8, nil, []float32{-128, 5, 0}, nil, onnx.Int8, []float32{-128, -5, 0}},
		{"int8 abs wraps", "Abs", onnx.Int8, nil, []float32{-128, -5}, nil, onnx.Int8, []float32{-128, 5}},
		{"int32 to uint8 cast wraps", "Cast", onnx.Int32, []onnxbuild.Attr{onnxbuild.Int("to", int64(onnx.Uint8))}, []float32{300, -1, 255}, nil, onnx.Uint8, []float32{44, 255, 255}},
		{"float to int8 cast truncates", "Cast", onnx.Float, []onnxbuild.Attr{onnxbuild.Int("to", int64(onnx.Int8))}, []float32{-2.7, 2.7, 130}, nil, onnx.Int8, []float32{-2, 2, -126}},
		{"int32 to float cast", "Cast", onnx.Int32, []onnxbuild.Attr{onnxbuild.Int("to", int64(onnx.Float))}, []float32{-3, 7}, nil, onnx.Float, []float32{-3, 7}},
		{"int16 compare", "Greater", onnx.Int16, nil, []float32{-3, 7}, []float32{-4, 7}, onnx.Bool, []float32{1, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := int64(len(c.a))
			g := onnxbuild.New("int", 13)
			ins := []string{g.Input("a", c.dt, n)}
			feed := [][]float32{c.a}
			if c.b != nil {
				ins = append(ins, g.Input("b", c.dt, n))
				feed = append(feed, c.b)
			}
			y := g.Node(c.op, ins, c.attrs...)
			g.Output(y, c.outDT, n)
			m, err := g.Model()
			if err != nil {
				t.Fatal(err)
			}
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, Options{Threads: th})
				if err != nil {
					t.Fatal(err)
				}
				out := make([]float32, n)
				if err := s.Run(feed, [][]float32{out}); err != nil {
					t.Fatal(err)
				}
				s.Close()
				if fmt.Sprint(out) != fmt.Sprint(c.want) {
					t.Fatalf("%s %v %v = %v, want %v", c.op, c.a, c.b, out, c.want)
				}
			}
		})
	}
}

// TestIntegerTypePropagates checks that the integer type survives data
// movement and that integer results of float ops (ArgMax) divide as
// integers: Div(Reshape(uint8)) wraps, ArgMax/2 truncates.
func TestIntegerTypePropagates(t *testing.T) {
	g := onnxbuild.New("prop", 13)
	a := g.Input("a", onnx.Uint8, 2, 2)
	x := g.Input("x", onnx.Float, 1, 6)
	r := g.Node("Reshape", []string{a, g.Int64("shape", []int64{1}, []int64{4})})
	y1 := g.Node("Add", []string{r, r})
	am := g.Node("ArgMax", []string{x}, onnxbuild.Int("axis", 1))
	y2 := g.Node("Div", []string{am, g.Int64("two", nil, []int64{2})})
	g.Output(y1, onnx.Uint8, 4)
	g.Output(y2, onnx.Int64, 1, 1)
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o1, o2 := make([]float32, 4), make([]float32, 1)
	if err := s.Run([][]float32{{1, 128, 200, 7}, {0, 1, 2, 3, 5, 9}}, [][]float32{o1, o2}); err != nil {
		t.Fatal(err)
	}
	// 2·128 = 256 ≡ 0, 2·200 = 400 ≡ 144; argmax 5, 5/2 = 2 (float division: 2.5)
	if fmt.Sprint(o1) != "[2 0 144 14]" || o2[0] != 2 {
		t.Fatalf("got %v %v, want [2 0 144 14] [2]", o1, o2)
	}
}

// TestIntegerRejected checks that ops without integer semantics refuse a
// run-time integer input at load time, naming the node and the tensor.
func TestIntegerRejected(t *testing.T) {
	for _, op := range []string{"Sigmoid", "Exp", "ReduceSum", "Softmax"} {
		g := onnxbuild.New("rej", 13)
		a := g.Input("coords", onnx.Int32, 1, 4)
		y := g.Node(op, []string{a})
		g.Output(y, onnx.Float, 1, 4)
		m, err := g.Model()
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewSession(m, Options{})
		want := fmt.Sprintf(`(%s): input "coords" is a int32 tensor computed at run time (carried as float32); %s on integer tensors is not supported`, op, op)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", op, err, want)
		}
	}
	// a float tensor mixed with an integer one
	g := onnxbuild.New("mix", 13)
	a := g.Input("a", onnx.Int32, 2)
	x := g.Input("x", onnx.Float, 2)
	g.Output(g.Node("Add", []string{a, x}), onnx.Float, 2)
	m, _ := g.Model()
	if _, err := NewSession(m, Options{}); err == nil || !strings.Contains(err.Error(), `mixes the int32 tensor and the float tensor "x"`) {
		t.Errorf("Add(int32, float): got %v", err)
	}
}
