package infer

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// numpyFusionChain computes, in float64 from the ONNX definitions, the
// chain of TestFusedActivations: Conv3×3+BN+Relu → depthwise Conv3×3/2 +
// Clip(0,6) → Conv1×1 + LeakyRelu(0.1) → Conv3×3 + LeakyRelu(1.5) →
// ConvTranspose2×2/2 + BN + Relu.
const numpyFusionChain = `
import json, sys, numpy as np
rs = np.random.RandomState(7)
f32 = lambda *s: rs.uniform(-1, 1, s).astype(np.float32)
def conv(x, w, b, stride, pad, group):
    C, H, W = x.shape; M, cg, KH, KW = w.shape
    xp = np.zeros((C, H + 2*pad, W + 2*pad)); xp[:, pad:pad+H, pad:pad+W] = x
    OH, OW = (H + 2*pad - KH)//stride + 1, (W + 2*pad - KW)//stride + 1
    y = np.zeros((M, OH, OW)); mg = M // group
    for m in range(M):
        g = m // mg
        for c in range(cg):
            for ky in range(KH):
                for kx in range(KW):
                    y[m] += w[m, c, ky, kx] * xp[g*cg + c, ky:ky+stride*(OH-1)+1:stride, kx:kx+stride*(OW-1)+1:stride]
    return y + b[:, None, None]
def bn(y, p):
    g, be, mu, var = p
    return (y - mu[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) * g[:, None, None] + be[:, None, None]
def bnp(c):
    return [rs.uniform(0.5, 1.5, c).astype(np.float32), f32(c) * 0.2, f32(c) * 0.2, rs.uniform(0.5, 1.5, c).astype(np.float32)]
x = f32(3, 20, 37)
w1, b1, bn1 = f32(8, 3, 3, 3), f32(8), bnp(8)
w2, b2 = f32(8, 1, 3, 3) * 4, f32(8)
w3, b3 = f32(16, 8, 1, 1), f32(16)
w4, b4 = f32(8, 16, 3, 3) * 0.3, f32(8)
w5, b5, bn5 = f32(8, 4, 2, 2), f32(4), bnp(4)
y = np.maximum(bn(conv(x.astype(np.float64), w1, b1, 1, 1, 1), bn1), 0)
y = np.clip(conv(y, w2, b2, 2, 1, 8), 0, 6)
y = conv(y, w3, b3, 1, 0, 1); y = np.where(y < 0, 0.1 * y, y)
y = conv(y, w4, b4, 1, 1, 1); y = np.where(y < 0, 1.5 * y, y)
C, H, W = y.shape
t = np.zeros((4, 2*H, 2*W))
for c in range(C):
    for m in range(4):
        for ky in range(2):
            for kx in range(2):
                t[m, ky::2, kx::2] += w5[c, m, ky, kx] * y[c]
y = np.maximum(bn(t + b5[:, None, None], bn5), 0)
out = {"x": x.ravel().tolist(), "y": y.astype(np.float32).ravel().tolist(), "shape": [1] + list(y.shape)}
for k, v in [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("w3", w3), ("b3", b3), ("w4", w4), ("b4", b4), ("w5", w5), ("b5", b5)]:
    out[k] = v.ravel().tolist()
out["bn1"] = [p.tolist() for p in bn1]; out["bn5"] = [p.tolist() for p in bn5]
print(json.dumps(out))
`

// TestFusedActivations checks that Relu, LeakyRelu (α < 1 and α > 1) and
// Clip(0,6) (Constant-node bounds) fuse into Conv, depthwise Conv and
// ConvTranspose (with its BatchNormalization folded), and that fused and
// unfused runs both match numpy.
func TestFusedActivations(t *testing.T) { runFusionCases(t) }

func runFusionCases(t *testing.T) {
	var ref struct {
		X, Y, W1, B1, W2, B2, W3, B3, W4, B4, W5, B5 []float32
		BN1, BN5                                     [][]float32
		Shape                                        []int
	}
	runNumpy(t, numpyFusionChain, "", &ref)
	g := onnxbuild.New("fusion", 13)
	x := g.Input("x", onnx.Float, 1, 3, 20, 37)
	bnorm := func(name, y string, p [][]float32) string {
		c := int64(len(p[0]))
		return g.Node("BatchNormalization", []string{y, g.Float(name+".g", []int64{c}, p[0]), g.Float(name+".b", []int64{c}, p[1]),
			g.Float(name+".m", []int64{c}, p[2]), g.Float(name+".v", []int64{c}, p[3])})
	}
	y := g.Node("Conv", []string{x, g.Float("w1", []int64{8, 3, 3, 3}, ref.W1), g.Float("b1", []int64{8}, ref.B1)}, onnxbuild.Ints("pads", 1, 1, 1, 1))
	y = g.Node("Relu", []string{bnorm("bn1", y, ref.BN1)})
	y = g.Node("Conv", []string{y, g.Float("w2", []int64{8, 1, 3, 3}, ref.W2), g.Float("b2", []int64{8}, ref.B2)},
		onnxbuild.Ints("pads", 1, 1, 1, 1), onnxbuild.Ints("strides", 2, 2), onnxbuild.Int("group", 8))
	zero := g.Node("Constant", nil, onnxbuild.TensorAttr("value", &onnx.Tensor{DataType: onnx.Float, Floats: []float32{0}}))
	six := g.Node("Constant", nil, onnxbuild.TensorAttr("value", &onnx.Tensor{DataType: onnx.Float, Floats: []float32{6}}))
	y = g.Node("Clip", []string{y, zero, six})
	y = g.Node("Conv", []string{y, g.Float("w3", []int64{16, 8, 1, 1}, ref.W3), g.Float("b3", []int64{16}, ref.B3)})
	y = g.Node("LeakyRelu", []string{y}, onnxbuild.F("alpha", 0.1))
	y = g.Node("Conv", []string{y, g.Float("w4", []int64{8, 16, 3, 3}, ref.W4), g.Float("b4", []int64{8}, ref.B4)}, onnxbuild.Ints("pads", 1, 1, 1, 1))
	y = g.Node("LeakyRelu", []string{y}, onnxbuild.F("alpha", 1.5))
	y = g.Node("ConvTranspose", []string{y, g.Float("w5", []int64{8, 4, 2, 2}, ref.W5), g.Float("b5", []int64{4}, ref.B5)},
		onnxbuild.Ints("strides", 2, 2), onnxbuild.Ints("kernel_shape", 2, 2))
	y = g.Node("Relu", []string{bnorm("bn5", y, ref.BN5)})
	g.Output(y, onnx.Float, i64s(ref.Shape...)...)
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{{Threads: 1}, {Threads: 2}, {Threads: 1, NoFusion: true}} {
		s, err := NewSession(m, opt)
		if err != nil {
			t.Fatal(err)
		}
		want := 5
		if opt.NoFusion {
			want = 12
		}
		if s.Steps() != want {
			t.Errorf("%+v: %d kernels, want %d", opt, s.Steps(), want)
		}
		if !opt.NoFusion && (s.stats.fusedPiecewise != 5 || s.stats.fusedBN != 2) {
			t.Errorf("fused %d activations and %d BatchNorms, want 5 and 2", s.stats.fusedPiecewise, s.stats.fusedBN)
		}
		out := make([]float32, len(ref.Y))
		if err := s.Run([][]float32{ref.X}, [][]float32{out}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		zeros := 0
		for i := range out {
			if ref.Y[i] == 0 {
				zeros++
			}
			if d := math.Abs(float64(out[i] - ref.Y[i])); d > 1e-5*(1+math.Abs(float64(ref.Y[i]))) {
				t.Fatalf("%+v: element %d: got %v, numpy %v", opt, i, out[i], ref.Y[i])
			}
		}
		if zeros == 0 || zeros == len(out) {
			t.Fatalf("the final Relu clipped %d of %d values: the test data does not exercise it", zeros, len(out))
		}
	}
}

// numpyBroadcast computes, for every case of TestBroadcastNumpy, a op b
// with numpy's broadcasting on float32 data.
const numpyBroadcast = `
import json, sys, numpy as np
cases = json.loads(sys.argv[1])
rs = np.random.RandomState(3)
out = []
for c in cases:
    a = rs.uniform(-2, 2, c["a"]).astype(np.float32)
    b = rs.uniform(0.5, 2, c["b"]).astype(np.float32)
    f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power}[c["op"]]
    if c["op"] == "Pow":
        a = np.abs(a)
    y = f(a, b).astype(np.float32)
    out.append({"a": a.ravel().tolist(), "b": b.ravel().tolist(), "y": y.ravel().tolist(), "shape": list(y.shape)})
print(json.dumps(out))
`

// TestBroadcastNumpy checks the rows × inner broadcast plans (per-channel,
// row, column, both operands broadcast, scalars, trailing and leading
// ones) against numpy, on one and two threads.
func TestBroadcastNumpy(t *testing.T) {
	type bc struct {
		A, B []int
		Op   string
	}
	cases := []bc{
		{[]int{1, 24, 7, 9}, []int{1, 24, 1, 1}, "Mul"},
		{[]int{1, 24, 1, 1}, []int{1, 24, 13, 11}, "Sub"},
		{[]int{2, 3, 40, 50}, []int{3, 1, 1}, "Add"},
		{[]int{1, 49, 96}, []int{96}, "Div"},
		{[]int{1, 49, 96}, []int{1, 49, 1}, "Sub"},
		{[]int{1, 49, 1}, []int{1, 49, 96}, "Div"},
		{[]int{5, 1, 33}, []int{1, 7, 1}, "Mul"},
		{[]int{4, 1}, []int{1, 300}, "Add"},
		{[]int{1}, []int{3, 70}, "Sub"},
		{[]int{2, 8, 16, 16}, []int{2, 1, 16, 1}, "Pow"},
		{[]int{1, 64, 128}, []int{1, 1, 1}, "Div"},
		{[]int{1, 1024, 20}, []int{20}, "Mul"},
	}
	js, _ := json.Marshal(func() []map[string]any {
		var out []map[string]any
		for _, c := range cases {
			out = append(out, map[string]any{"a": c.A, "b": c.B, "op": c.Op})
		}
		return out
	}())
	var ref []struct {
		A, B, Y []float32
		Shape   []int
	}
	runNumpy(t, numpyBroadcast, string(js), &ref)
	for i, c := range cases {
		g := onnxbuild.New("bcast", 13)
		a := g.Input("a", onnx.Float, i64s(c.A...)...)
		b := g.Input("b", onnx.Float, i64s(c.B...)...)
		g.Output(g.Node(c.Op, []string{a, b}), onnx.Float, i64s(ref[i].Shape...)...)
		m, err := g.Model()
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			s, err := NewSession(m, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			y := make([]float32, len(ref[i].Y))
			if err := s.Run([][]float32{ref[i].A, ref[i].B}, [][]float32{y}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			for j := range y {
				want := ref[i].Y[j]
				tol := float32(0)
				if c.Op == "Pow" {
					tol = 2e-6 * (1 + float32(math.Abs(float64(want))))
				}
				if d := y[j] - want; d > tol || d < -tol {
					t.Fatalf("%s %v %v (threads %d): element %d: got %v, numpy %v", c.Op, c.A, c.B, threads, j, y[j], want)
				}
			}
		}
	}
}

// numpyDepthwise computes depthwise convolutions (float64 sums) for
// TestDepthwiseNumpy.
const numpyDepthwise = `
import json, sys, numpy as np
cases = json.loads(sys.argv[1])
rs = np.random.RandomState(11)
out = []
for c in cases:
    C, H, W, KH, KW = c["C"], c["H"], c["W"], c["KH"], c["KW"]
    SH, SW, DH, DW = c["S"][0], c["S"][1], c["D"][0], c["D"][1]
    pt, pl, pb, pr = c["P"]
    x = rs.uniform(-1, 1, (C, H, W)).astype(np.float32)
    w = rs.uniform(-1, 1, (C, 1, KH, KW)).astype(np.float32)
    b = rs.uniform(-1, 1, C).astype(np.float32)
    xp = np.zeros((C, H + pt + pb, W + pl + pr)); xp[:, pt:pt+H, pl:pl+W] = x
    OH = (H + pt + pb - (KH - 1) * DH - 1) // SH + 1
    OW = (W + pl + pr - (KW - 1) * DW - 1) // SW + 1
    y = np.zeros((C, OH, OW))
    for ky in range(KH):
        for kx in range(KW):
            y += w[:, 0, ky, kx, None, None] * xp[:, ky*DH:ky*DH+SH*(OH-1)+1:SH, kx*DW:kx*DW+SW*(OW-1)+1:SW]
    y += b[:, None, None]
    if c["act"] == "Relu":
        y = np.maximum(y, 0)
    out.append({"x": x.ravel().tolist(), "w": w.ravel().tolist(), "b": b.tolist(), "y": y.astype(np.float32).ravel().tolist(), "shape": [1, C, OH, OW]})
print(json.dumps(out))
`

// TestDepthwiseNumpy checks the flat depthwise path (conv.go setupFlat)
// for 3×3, 5×5 and 7×7 windows, strides 1, 2 and 3, dilation,
// asymmetric padding and planes narrower than a vector against numpy.
func TestDepthwiseNumpy(t *testing.T) {
	type dc struct {
		C, H, W, KH, KW int
		S, D            []int
		P               []int
		Act             string
	}
	cases := []dc{
		{6, 14, 14, 5, 5, []int{1, 1}, []int{1, 1}, []int{2, 2, 2, 2}, ""},
		{5, 15, 13, 5, 5, []int{2, 2}, []int{1, 1}, []int{2, 2, 2, 2}, "Relu"},
		{4, 7, 7, 7, 7, []int{1, 1}, []int{1, 1}, []int{3, 3, 3, 3}, ""},
		{3, 30, 41, 7, 7, []int{2, 2}, []int{1, 1}, []int{3, 3, 3, 3}, "Relu"},
		{3, 20, 22, 3, 3, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, "Relu"},
		{3, 19, 23, 3, 3, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, "Relu"},
		{2, 17, 19, 3, 5, []int{3, 2}, []int{2, 1}, []int{0, 2, 3, 1}, ""},
		{2, 9, 40, 5, 3, []int{1, 3}, []int{1, 2}, []int{1, 0, 2, 4}, ""},
		{2, 3, 3, 3, 3, []int{1, 1}, []int{1, 1}, []int{0, 0, 0, 0}, ""},
		{8, 57, 57, 5, 5, []int{2, 2}, []int{1, 1}, []int{1, 2, 2, 1}, "Relu"},
	}
	js, _ := json.Marshal(func() []map[string]any {
		var out []map[string]any
		for _, c := range cases {
			out = append(out, map[string]any{"C": c.C, "H": c.H, "W": c.W, "KH": c.KH, "KW": c.KW, "S": c.S, "D": c.D, "P": c.P, "act": c.Act})
		}
		return out
	}())
	var ref []struct {
		X, W, B, Y []float32
		Shape      []int
	}
	runNumpy(t, numpyDepthwise, string(js), &ref)
	for i, c := range cases {
		g := onnxbuild.New("dw", 13)
		x := g.Input("x", onnx.Float, 1, int64(c.C), int64(c.H), int64(c.W))
		y := g.Node("Conv", []string{x, g.Float("w", i64s(c.C, 1, c.KH, c.KW), ref[i].W), g.Float("b", i64s(c.C), ref[i].B)},
			onnxbuild.Ints("pads", i64s(c.P...)...), onnxbuild.Ints("strides", i64s(c.S...)...), onnxbuild.Ints("dilations", i64s(c.D...)...),
			onnxbuild.Int("group", int64(c.C)))
		if c.Act != "" {
			y = g.Node(c.Act, []string{y})
		}
		g.Output(y, onnx.Float, i64s(ref[i].Shape...)...)
		m, err := g.Model()
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			s, err := NewSession(m, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(ref[i].Y))
			for run := 0; run < 2; run++ { // the second run reuses the zero padding
				if err := s.Run([][]float32{ref[i].X}, [][]float32{out}); err != nil {
					t.Fatal(err)
				}
				for j := range out {
					if d := math.Abs(float64(out[j] - ref[i].Y[j])); d > 1e-5*(1+math.Abs(float64(ref[i].Y[j]))) {
						t.Fatalf("case %d %+v (threads %d, run %d): element %d: got %v, numpy %v", i, c, threads, run, j, out[j], ref[i].Y[j])
					}
				}
			}
			s.Close()
		}
	}
}

// numpyChains computes the element-wise chains of TestFusedChains in
// float64 from their ONNX definitions.
const numpyChains = `
import json, numpy as np
from math import erf, sqrt
rs = np.random.RandomState(5)
x = rs.uniform(-5, 5, (1, 8, 6, 20)).astype(np.float32)
w = rs.uniform(-0.5, 0.5, (16, 8, 1, 1)).astype(np.float32)
b = rs.uniform(-1, 1, 16).astype(np.float32)
g = rs.uniform(0.5, 1.5, 20).astype(np.float32)
be = rs.uniform(-1, 1, 20).astype(np.float32)
x64 = x.astype(np.float64)
c = np.einsum("mc,nchw->nmhw", w[:, :, 0, 0].astype(np.float64), x64) + b[None, :, None, None]
hs = lambda v, a, bb: np.clip(a * v + bb, 0, 1)
y1 = c * hs(c, 1/6, 0.5)                       # Conv → HardSigmoid → Mul
y2 = x64 * hs(x64, 0.2, 0.5)                   # x·HardSigmoid(x), default alpha
y3 = x64 * 0.5 * (1 + np.vectorize(erf)(x64 / sqrt(2)))   # GELU
m = x64.mean(-1, keepdims=True); d = x64 - m
y4 = d / np.sqrt((d * d).mean(-1, keepdims=True) + 1e-6) * g + be   # LayerNorm
y5 = x64 / (1 + np.exp(-x64)) # x·Sigmoid(x)
f = lambda a: a.astype(np.float32).ravel().tolist()
print(json.dumps({"x": f(x), "w": f(w), "b": f(b), "g": f(g), "be": f(be), "y1": f(y1), "y2": f(y2), "y3": f(y3), "y4": f(y4), "y5": f(y5)}))
`

// TestFusedChains checks that Conv→HardSigmoid→Mul fuses into the
// convolution (HardSwish), that x·HardSigmoid(x), x·Sigmoid(x), the erf
// GELU and the decomposed LayerNorm become one kernel each, that fused and
// unfused runs match numpy, and that a steady-state Run allocates nothing.
func TestFusedChains(t *testing.T) {
	var ref struct{ X, W, B, G, Be, Y1, Y2, Y3, Y4, Y5 []float32 }
	runNumpy(t, numpyChains, "", &ref)
	g := onnxbuild.New("chains", 13)
	x := g.Input("x", onnx.Float, 1, 8, 6, 20)
	cst := func(v float32) string {
		return g.Node("Constant", nil, onnxbuild.TensorAttr("value", &onnx.Tensor{DataType: onnx.Float, Floats: []float32{v}}))
	}
	c := g.Node("Conv", []string{x, g.Float("w", []int64{16, 8, 1, 1}, ref.W), g.Float("b", []int64{16}, ref.B)})
	y1 := g.Node("Mul", []string{c, g.Node("HardSigmoid", []string{c}, onnxbuild.F("alpha", 1.0/6), onnxbuild.F("beta", 0.5))})
	y2 := g.Node("Mul", []string{g.Node("HardSigmoid", []string{x}), x})
	ge := g.Node("Add", []string{g.Node("Erf", []string{g.Node("Div", []string{x, cst(1.4142135)})}), cst(1)})
	y3 := g.Node("Mul", []string{g.Node("Mul", []string{x, ge}), cst(0.5)})
	axes := onnxbuild.Ints("axes", -1)
	d := g.Node("Sub", []string{x, g.Node("ReduceMean", []string{x}, axes)})
	v := g.Node("ReduceMean", []string{g.Node("Pow", []string{d, cst(2)})}, axes)
	n := g.Node("Div", []string{d, g.Node("Sqrt", []string{g.Node("Add", []string{v, cst(1e-6)})})})
	y4 := g.Node("Add", []string{g.Node("Mul", []string{n, g.Float("g", []int64{20}, ref.G)}), g.Float("be", []int64{20}, ref.Be)})
	y5 := g.Node("Mul", []string{x, g.Node("Sigmoid", []string{x})})
	g.Output(y1, onnx.Float, 1, 16, 6, 20)
	for _, y := range []string{y2, y3, y4, y5} {
		g.Output(y, onnx.Float, 1, 8, 6, 20)
	}
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{{Threads: 1}, {Threads: 2}, {Threads: 1, NoFusion: true}} {
		s, err := NewSession(m, opt)
		if err != nil {
			t.Fatal(err)
		}
		want := 5
		if opt.NoFusion {
			want = 21
		}
		if s.Steps() != want {
			t.Errorf("%+v: %d kernels, want %d", opt, s.Steps(), want)
		}
		outs := [][]float32{make([]float32, len(ref.Y1)), make([]float32, len(ref.Y2)), make([]float32, len(ref.Y3)), make([]float32, len(ref.Y4)), make([]float32, len(ref.Y5))}
		ins := [][]float32{ref.X}
		if err := s.Run(ins, outs); err != nil {
			t.Fatal(err)
		}
		for k, w := range [][]float32{ref.Y1, ref.Y2, ref.Y3, ref.Y4, ref.Y5} {
			for i := range w {
				if d := math.Abs(float64(outs[k][i] - w[i])); d > 2e-6*(1+math.Abs(float64(w[i]))) {
					t.Fatalf("%+v: output %d element %d: got %v, numpy %v", opt, k+1, i, outs[k][i], w[i])
				}
			}
		}
		if !testenv.RaceEnabled {
			if a := testing.AllocsPerRun(5, func() { s.Run(ins, outs) }); a != 0 {
				t.Errorf("%+v: %v allocations per Run", opt, a)
			}
		}
		s.Close()
	}
}

// numpyMatMulEpilogue computes, in float64, TestFusedMatMul's two Linear
// layers: GELU(x·W1 + b1) then Relu(·W2 + b2).
const numpyMatMulEpilogue = `
import json, math, numpy as np
rs = np.random.RandomState(11)
f32 = lambda *s: rs.uniform(-1, 1, s).astype(np.float32)
x, w1, b1, w2, b2 = f32(2, 37, 24), f32(24, 40), f32(40), f32(40, 16), f32(16)
h = x.astype(np.float64) @ w1 + b1
h = h * 0.5 * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
y = np.maximum(h @ w2 + b2, 0)
f = lambda a: a.astype(np.float32).ravel().tolist()
print(json.dumps({"x": f(x), "w1": f(w1), "b1": f(b1), "w2": f(w2), "b2": f(b2), "y": f(y)}))
`

// TestFusedMatMul checks that MatMul → Add(bias) → erf GELU and MatMul →
// Add(bias) → Relu each become one GEMM with the bias and activation in its
// tile epilogue (74 rows and 40 columns: ragged row panels and a ragged
// column panel), that fused and unfused runs match numpy, and that a
// steady-state Run allocates nothing.
func TestFusedMatMul(t *testing.T) {
	var ref struct{ X, W1, B1, W2, B2, Y []float32 }
	runNumpy(t, numpyMatMulEpilogue, "", &ref)
	g := onnxbuild.New("linear", 13)
	x := g.Input("x", onnx.Float, 2, 37, 24)
	cst := func(v float32) string {
		return g.Node("Constant", nil, onnxbuild.TensorAttr("value", &onnx.Tensor{DataType: onnx.Float, Floats: []float32{v}}))
	}
	h := g.Node("Add", []string{g.Node("MatMul", []string{x, g.Float("w1", []int64{24, 40}, ref.W1)}), g.Float("b1", []int64{40}, ref.B1)})
	ge := g.Node("Add", []string{g.Node("Erf", []string{g.Node("Div", []string{h, cst(1.4142135)})}), cst(1)})
	h = g.Node("Mul", []string{g.Node("Mul", []string{h, ge}), cst(0.5)})
	// the bias first: Add's operands in either order
	y := g.Node("Relu", []string{g.Node("Add", []string{g.Float("b2", []int64{16}, ref.B2), g.Node("MatMul", []string{h, g.Float("w2", []int64{40, 16}, ref.W2)})})})
	g.Output(y, onnx.Float, 2, 37, 16)
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []Options{{Threads: 1}, {Threads: 2}, {Threads: 1, NoFusion: true}} {
		s, err := NewSession(m, opt)
		if err != nil {
			t.Fatal(err)
		}
		want := 2
		if opt.NoFusion {
			want = 10
		}
		if s.Steps() != want {
			t.Errorf("%+v: %d kernels, want %d", opt, s.Steps(), want)
		}
		out := make([]float32, len(ref.Y))
		ins, outs := [][]float32{ref.X}, [][]float32{out}
		if err := s.Run(ins, outs); err != nil {
			t.Fatal(err)
		}
		zeros := 0
		for i, w := range ref.Y {
			if w == 0 {
				zeros++
			}
			if d := math.Abs(float64(out[i] - w)); d > 1e-5*(1+math.Abs(float64(w))) {
				t.Fatalf("%+v: element %d: got %v, numpy %v", opt, i, out[i], w)
			}
		}
		if zeros == 0 || zeros == len(out) {
			t.Fatalf("the Relu clipped %d of %d values: the data does not exercise it", zeros, len(out))
		}
		if !testenv.RaceEnabled {
			if a := testing.AllocsPerRun(5, func() { s.Run(ins, outs) }); a != 0 {
				t.Errorf("%+v: %v allocations per Run", opt, a)
			}
		}
		s.Close()
	}
}

// numpyTranspose transposes, for every case of TestTransposeNumpy, the
// tensor arange(n) (exact in float32) with numpy.
const numpyTranspose = `
import json, sys, numpy as np
out = []
for c in json.loads(sys.argv[1]):
    y = np.transpose(np.arange(np.prod(c["x"]), dtype=np.float32).reshape(c["x"]), c["perm"])
    out.append({"y": y.ravel().tolist(), "shape": list(y.shape)})
print(json.dumps(out))
`

// TestTransposeNumpy checks the Transpose paths against numpy: ConvNeXt's
// NCHW↔NHWC permutations at a ragged width (H and W merged into one axis),
// the attention head split and Kᵀ, and unit axes among the permuted ones,
// on one and two threads.
func TestTransposeNumpy(t *testing.T) {
	type tc struct{ X, Perm []int }
	cases := []tc{
		{[]int{1, 48, 24, 40}, []int{0, 2, 3, 1}},
		{[]int{1, 24, 40, 48}, []int{0, 3, 1, 2}},
		{[]int{2, 37, 6, 24}, []int{0, 2, 1, 3}},
		{[]int{1, 6, 37, 24}, []int{0, 1, 3, 2}},
		{[]int{3, 1, 5, 1, 7}, []int{4, 1, 2, 0, 3}},
		{[]int{2, 17, 33}, []int{2, 0, 1}},
	}
	js, _ := json.Marshal(func() []map[string]any {
		var out []map[string]any
		for _, c := range cases {
			out = append(out, map[string]any{"x": c.X, "perm": c.Perm})
		}
		return out
	}())
	var ref []struct {
		Y     []float32
		Shape []int
	}
	runNumpy(t, numpyTranspose, string(js), &ref)
	for i, c := range cases {
		g := onnxbuild.New("transpose", 13)
		x := g.Input("x", onnx.Float, i64s(c.X...)...)
		g.Output(g.Node("Transpose", []string{x}, onnxbuild.Ints("perm", i64s(c.Perm...)...)), onnx.Float, i64s(ref[i].Shape...)...)
		m, err := g.Model()
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float32, len(ref[i].Y))
		for j := range in {
			in[j] = float32(j)
		}
		for _, threads := range []int{1, 2} {
			s, err := NewSession(m, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(in))
			if err := s.Run([][]float32{in}, [][]float32{out}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			for j, w := range ref[i].Y {
				if out[j] != w {
					t.Fatalf("%v perm %v, %d threads: element %d is %v, numpy %v", c.X, c.Perm, threads, j, out[j], w)
				}
			}
		}
	}
}

// numpyMaxPool max-pools, for every case of TestMaxPoolNumpy, random
// NCHW data with numpy (−Inf padding, floor output size).
const numpyMaxPool = `
import json, sys, numpy as np
rs = np.random.RandomState(5)
out = []
for c in json.loads(sys.argv[1]):
    x = rs.uniform(-1, 1, c["x"]).astype(np.float32)
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = c["k"], c["s"], c["p"]
    N, C, H, W = x.shape
    xp = np.full((N, C, H + pt + pb, W + pl + pr), -np.inf, np.float32)
    xp[:, :, pt:pt+H, pl:pl+W] = x
    OH, OW = (H + pt + pb - kh)//sh + 1, (W + pl + pr - kw)//sw + 1
    y = np.full((N, C, OH, OW), -np.inf, np.float32)
    for ky in range(kh):
        for kx in range(kw):
            y = np.maximum(y, xp[:, :, ky:ky+sh*(OH-1)+1:sh, kx:kx+sw*(OW-1)+1:sw])
    out.append({"x": x.ravel().tolist(), "y": y.ravel().tolist(), "shape": list(y.shape)})
print(json.dumps(out))
`

// TestMaxPoolNumpy checks the stride-2 row pass of MaxPool (even/odd
// split) against numpy: ResNet's 3×3/2 pad 1 at even and odd widths, 2×2/2,
// asymmetric pads and a 5-wide window, on one and two threads.
func TestMaxPoolNumpy(t *testing.T) {
	type tc struct{ X, K, S, P []int }
	cases := []tc{
		{[]int{1, 4, 16, 20}, []int{3, 3}, []int{2, 2}, []int{1, 1, 1, 1}},
		{[]int{2, 3, 13, 15}, []int{3, 3}, []int{2, 2}, []int{1, 1, 1, 1}},
		{[]int{1, 2, 10, 11}, []int{2, 2}, []int{2, 2}, []int{0, 0, 0, 0}},
		{[]int{1, 3, 9, 17}, []int{3, 5}, []int{1, 2}, []int{0, 2, 1, 1}},
		{[]int{1, 2, 8, 9}, []int{3, 3}, []int{2, 2}, []int{0, 0, 1, 1}},
	}
	js, _ := json.Marshal(func() []map[string]any {
		var out []map[string]any
		for _, c := range cases {
			out = append(out, map[string]any{"x": c.X, "k": c.K, "s": c.S, "p": c.P})
		}
		return out
	}())
	var ref []struct {
		X, Y  []float32
		Shape []int
	}
	runNumpy(t, numpyMaxPool, string(js), &ref)
	for i, c := range cases {
		g := onnxbuild.New("maxpool", 13)
		x := g.Input("x", onnx.Float, i64s(c.X...)...)
		g.Output(g.Node("MaxPool", []string{x}, onnxbuild.Ints("kernel_shape", i64s(c.K...)...),
			onnxbuild.Ints("strides", i64s(c.S...)...), onnxbuild.Ints("pads", i64s(c.P[0], c.P[1], c.P[2], c.P[3])...)),
			onnx.Float, i64s(ref[i].Shape...)...)
		m, err := g.Model()
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			s, err := NewSession(m, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(ref[i].Y))
			if err := s.Run([][]float32{ref[i].X}, [][]float32{out}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			for j, w := range ref[i].Y {
				if out[j] != w {
					t.Fatalf("%+v, %d threads: element %d is %v, numpy %v", c, threads, j, out[j], w)
				}
			}
		}
	}
}

// TestMatMulBiasSharedOutput checks that a MatMul whose product has a
// second reader besides the bias Add — here a LayerNorm chain fused into
// one kernel — keeps its Add unfused, and that the Add's output is still
// x·W + b (computed here in float64).
func TestMatMulBiasSharedOutput(t *testing.T) {
	const M, K, N = 6, 5, 16
	x, w, bias := make([]float32, M*K), make([]float32, K*N), make([]float32, N)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	for i := range w {
		w[i] = float32(i%5)*0.25 - 0.5
	}
	for i := range bias {
		bias[i] = float32(i) * 0.125
	}
	g := onnxbuild.New("shared", 13)
	in := g.Input("x", onnx.Float, M, K)
	y := g.Node("MatMul", []string{in, g.Float("w", []int64{K, N}, w)})
	z := g.Node("Add", []string{y, g.Float("b", []int64{N}, bias)})
	cst := func(v float32) string {
		return g.Node("Constant", nil, onnxbuild.TensorAttr("value", &onnx.Tensor{DataType: onnx.Float, Floats: []float32{v}}))
	}
	axes := onnxbuild.Ints("axes", -1)
	d := g.Node("Sub", []string{y, g.Node("ReduceMean", []string{y}, axes)})
	v := g.Node("ReduceMean", []string{g.Node("Pow", []string{d, cst(2)})}, axes)
	ln := g.Node("Div", []string{d, g.Node("Sqrt", []string{g.Node("Add", []string{v, cst(1e-5)})})})
	g.Output(z, onnx.Float, M, N)
	g.Output(ln, onnx.Float, M, N)
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Steps() != 3 { // MatMul, Add, LayerNorm
		t.Errorf("%d kernels, want 3", s.Steps())
	}
	outZ, outLN := make([]float32, M*N), make([]float32, M*N)
	if err := s.Run([][]float32{x}, [][]float32{outZ, outLN}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var want float64
			for k := 0; k < K; k++ {
				want += float64(x[i*K+k]) * float64(w[k*N+j])
			}
			want += float64(bias[j])
			if got := outZ[i*N+j]; math.Abs(float64(got)-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("x·W + b [%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
}
