package infer

import (
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
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
