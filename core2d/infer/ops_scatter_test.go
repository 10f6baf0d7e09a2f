package infer

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
)

// numpyScatterND applies ScatterND's definition with numpy fancy indexing,
// one index row at a time (duplicates: the last wins, or accumulate).
const numpyScatterND = `
import json, sys, numpy as np
a = json.loads(sys.argv[1])
rs = np.random.RandomState(7)
data = rs.uniform(-1, 1, (2, 5, 4, 3)).astype(np.float32)
idx = np.array(a["idx"], np.int64)
upd = rs.uniform(-1, 1, idx.shape[:-1] + data.shape[idx.shape[-1]:]).astype(np.float32)
out = data.copy()
for i in np.ndindex(idx.shape[:-1]):
    t = tuple(idx[i])
    if a["red"] == "add":
        out[t] += upd[i]
    else:
        out[t] = upd[i]
print(json.dumps({"data": data.ravel().tolist(), "upd": upd.ravel().tolist(), "y": out.ravel().tolist(), "ushape": list(upd.shape)}))
`

// TestScatterNDRuntimeIndices feeds the indices as an int64 graph input
// (carried as float32 by the engine, as PointPillars' coords are) with
// negative and duplicate rows, and checks against numpy.
func TestScatterNDRuntimeIndices(t *testing.T) {
	idx := [][]int{{0, 1}, {1, -1}, {0, 1}, {1, 2}, {-2, 0}, {1, 4}}
	flat := []float32{}
	for _, r := range idx {
		for _, v := range r {
			flat = append(flat, float32(v))
		}
	}
	for _, red := range []string{"none", "add"} {
		var ref struct {
			Data, Upd, Y []float32
			Ushape       []int
		}
		runNumpy(t, numpyScatterND, `{"idx": [[0,1],[1,-1],[0,1],[1,2],[-2,0],[1,4]], "red": "`+red+`"}`, &ref)
		g := onnxbuild.New("scatter", 16)
		d := g.Input("data", onnx.Float, 2, 5, 4, 3)
		ix := g.Input("idx", onnx.Int64, 6, 2)
		u := g.Input("upd", onnx.Float, i64s(ref.Ushape...)...)
		y := g.Node("ScatterND", []string{d, ix, u}, onnxbuild.Str("reduction", red))
		g.Output(y, onnx.Float, 2, 5, 4, 3)
		m, err := g.Model()
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSession(m, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(ref.Y))
		if err := s.Run([][]float32{ref.Data, flat, ref.Upd}, [][]float32{out}); err != nil {
			t.Fatal(err)
		}
		for i := range out {
			if d := out[i] - ref.Y[i]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("%s: element %d: got %v, numpy %v", red, i, out[i], ref.Y[i])
			}
		}
		// an out-of-range run-time row is skipped, the others still land
		bad := append([]float32(nil), flat...)
		bad[0] = 7
		if err := s.Run([][]float32{ref.Data, bad, ref.Upd}, [][]float32{out}); err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(5, func() { _ = s.Run([][]float32{ref.Data, flat, ref.Upd}, [][]float32{out}) }); allocs != 0 {
			t.Errorf("%v allocs per run", allocs)
		}
		s.Close()
	}
}

func TestScatterNDErrors(t *testing.T) {
	for name, c := range map[string]struct {
		idx   []int64
		ishp  []int64
		ushp  []int64
		konst bool
	}{
		"updates shape":      {ishp: []int64{2, 1}, ushp: []int64{3, 4}},
		"index depth":        {ishp: []int64{2, 3}, ushp: []int64{2}},
		"const out of range": {idx: []int64{0, 9}, ishp: []int64{2, 1}, ushp: []int64{2, 4}, konst: true},
	} {
		g := onnxbuild.New("e", 16)
		d := g.Input("data", onnx.Float, 3, 4)
		var ix string
		if c.konst {
			ix = g.Int64("idx", c.ishp, c.idx)
		} else {
			ix = g.Input("idx", onnx.Int64, c.ishp...)
		}
		u := g.Input("upd", onnx.Float, c.ushp...)
		g.Output(g.Node("ScatterND", []string{d, ix, u}), onnx.Float, 3, 4)
		m, err := g.Model()
		if err != nil {
			t.Fatal(err)
		}
		if s, err := NewSession(m, Options{Threads: 1}); err == nil {
			s.Close()
			t.Errorf("%s: compiled", name)
		}
	}
}
