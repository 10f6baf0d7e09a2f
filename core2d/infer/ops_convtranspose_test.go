package infer

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// numpyConvT is ConvTranspose written from the ONNX definition in numpy:
// every input pixel scatters its kernel-weighted values into the full
// output, which is then cropped by the pads (output_padding extends the
// end). Independent of the Go GEMM + col2im path.
const numpyConvT = `
import json, sys, numpy as np
a = json.loads(sys.argv[1])
rs = np.random.RandomState(a["seed"])
N, C, H, W, M, G = a["N"], a["C"], a["H"], a["W"], a["M"], a["G"]
KH, KW = a["k"]; SH, SW = a["s"]; DH, DW = a["d"]; pt, pl, pb, pr = a["pads"]; oph, opw = a["op"]
x = rs.uniform(-1, 1, (N, C, H, W)).astype(np.float32)
w = rs.uniform(-1, 1, (C, M // G, KH, KW)).astype(np.float32)
b = rs.uniform(-1, 1, (M,)).astype(np.float32)
FH = SH * (H - 1) + oph + (KH - 1) * DH + 1
FW = SW * (W - 1) + opw + (KW - 1) * DW + 1
full = np.zeros((N, M, FH, FW), np.float64)
cg, mg = C // G, M // G
for g in range(G):
    for ci in range(cg):
        for co in range(mg):
            for ky in range(KH):
                for kx in range(KW):
                    full[:, g*mg+co, ky*DH:ky*DH+SH*(H-1)+1:SH, kx*DW:kx*DW+SW*(W-1)+1:SW] += \
                        x[:, g*cg+ci].astype(np.float64) * float(w[g*cg+ci, co, ky, kx])
y = full[:, :, pt:FH-pb, pl:FW-pr] + b[None, :, None, None]
print(json.dumps({"x": x.ravel().tolist(), "w": w.ravel().tolist(), "b": b.ravel().tolist(),
                  "y": y.astype(np.float32).ravel().tolist(), "shape": list(y.shape)}))
`

type convTCase struct {
	Seed          int   `json:"seed"`
	N, C, H, W, M int   `json:"-"`
	G             int   `json:"-"`
	K             []int `json:"k"`
	S             []int `json:"s"`
	D             []int `json:"d"`
	Pads          []int `json:"pads"`
	OP            []int `json:"op"`
}

func (c convTCase) args() string {
	b, _ := json.Marshal(map[string]any{"seed": c.Seed, "N": c.N, "C": c.C, "H": c.H, "W": c.W, "M": c.M, "G": c.G,
		"k": c.K, "s": c.S, "d": c.D, "pads": c.Pads, "op": c.OP})
	return string(b)
}

func runNumpy(t *testing.T, script, args string, out any) {
	t.Helper()
	b := testenv.RunPython(t, []string{"numpy"}, "-c", script, args)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("the numpy reference printed %.200q: %v", b, err)
	}
}

func i64s(v ...int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// TestConvTransposeNumpy covers groups, strides, pads, output_padding and
// dilations at sizes where the kernel's row and column tiles and its
// channel chunks all come into play (the libonnx node cases are 1-channel).
func TestConvTransposeNumpy(t *testing.T) {
	for _, c := range []convTCase{
		{Seed: 1, N: 2, C: 6, H: 7, W: 9, M: 8, G: 2, K: []int{3, 3}, S: []int{2, 3}, D: []int{1, 2}, Pads: []int{1, 0, 2, 1}, OP: []int{1, 2}},
		{Seed: 2, N: 1, C: 64, H: 6, W: 5, M: 40, G: 1, K: []int{4, 4}, S: []int{4, 4}, D: []int{1, 1}, Pads: []int{0, 0, 0, 0}, OP: []int{0, 0}},
		{Seed: 3, N: 1, C: 16, H: 20, W: 17, M: 24, G: 1, K: []int{2, 2}, S: []int{2, 2}, D: []int{1, 1}, Pads: []int{0, 0, 0, 0}, OP: []int{0, 0}},
		{Seed: 4, N: 1, C: 12, H: 19, W: 23, M: 9, G: 3, K: []int{1, 1}, S: []int{1, 1}, D: []int{1, 1}, Pads: []int{0, 0, 0, 0}, OP: []int{0, 0}},
		{Seed: 5, N: 1, C: 5, H: 11, W: 13, M: 7, G: 1, K: []int{5, 3}, S: []int{1, 2}, D: []int{2, 1}, Pads: []int{3, 1, 2, 2}, OP: []int{0, 1}},
	} {
		t.Run(fmt.Sprintf("seed%d", c.Seed), func(t *testing.T) {
			var ref struct {
				X, W, B, Y []float32
				Shape      []int
			}
			runNumpy(t, numpyConvT, c.args(), &ref)
			g := onnxbuild.New("convt", 13)
			x := g.Input("x", onnx.Float, i64s(c.N, c.C, c.H, c.W)...)
			w := g.Float("w", i64s(c.C, c.M/c.G, c.K[0], c.K[1]), ref.W)
			b := g.Float("b", i64s(c.M), ref.B)
			y := g.Node("ConvTranspose", []string{x, w, b}, onnxbuild.Int("group", int64(c.G)), onnxbuild.Ints("strides", i64s(c.S...)...),
				onnxbuild.Ints("dilations", i64s(c.D...)...), onnxbuild.Ints("pads", i64s(c.Pads...)...), onnxbuild.Ints("output_padding", i64s(c.OP...)...))
			g.Output(y, onnx.Float, i64s(ref.Shape...)...)
			m, err := g.Model()
			if err != nil {
				t.Fatal(err)
			}
			for _, th := range []int{1, 2} {
				s, err := NewSession(m, Options{Threads: th})
				if err != nil {
					t.Fatal(err)
				}
				if got := s.Outputs()[0].Shape; fmt.Sprint(got) != fmt.Sprint(ref.Shape) {
					t.Fatalf("shape %v, numpy %v", got, ref.Shape)
				}
				out := make([]float32, len(ref.Y))
				if err := s.Run([][]float32{ref.X}, [][]float32{out}); err != nil {
					t.Fatal(err)
				}
				s.Close()
				for i := range out {
					if d := math.Abs(float64(out[i] - ref.Y[i])); d > 1e-5*(1+math.Abs(float64(ref.Y[i]))) {
						t.Fatalf("threads %d: element %d: got %v, numpy %v", th, i, out[i], ref.Y[i])
					}
				}
			}
		})
	}
}
