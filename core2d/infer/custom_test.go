package infer_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// pillarScatter is the kernel of a PointPillars scatter node:
// features [P, C] (one row per pillar) and coords [P, 2] (row, column in
// the BEV grid; a negative row marks a padding pillar) give the pseudo-image
// [1, C, height, width], zero where no pillar lands. Exports of PointPillars
// and CenterPoint-pillar models keep this step as a custom op because
// ONNX's ScatterND needs the indices in a layout the pillar encoder does
// not produce.
func pillarScatter(n *infer.CustomNode) (*infer.CustomKernel, error) {
	h, okH := n.Attr("height")
	w, okW := n.Attr("width")
	if !okH || !okW || h.I <= 0 || w.I <= 0 {
		return nil, fmt.Errorf("needs positive int attributes height and width")
	}
	if len(n.Inputs) != 2 || len(n.Inputs[0].Shape) != 2 || len(n.Inputs[1].Shape) != 2 || n.Inputs[1].Shape[1] != 2 ||
		n.Inputs[0].Shape[0] != n.Inputs[1].Shape[0] {
		return nil, fmt.Errorf("wants features [P,C] and coords [P,2], got %v and %v", n.Inputs[0].Shape, n.Inputs[1].Shape)
	}
	p, c, hh, ww := n.Inputs[0].Shape[0], n.Inputs[0].Shape[1], int(h.I), int(w.I)
	return &infer.CustomKernel{
		OutputShapes: [][]int{{1, c, hh, ww}},
		Run: func(ins, outs [][]float32) {
			feat, coords, bev := ins[0], ins[1], outs[0]
			clear(bev) // outputs keep the previous run's values
			for i := range p {
				y, x := int(coords[2*i]), int(coords[2*i+1])
				if y < 0 || y >= hh || x < 0 || x >= ww {
					continue
				}
				for ch := range c {
					bev[(ch*hh+y)*ww+x] = feat[i*c+ch]
				}
			}
		},
	}, nil
}

// scatterModel is a tiny pillar detector head: the custom scatter node of
// domain, then a 1×1 convolution (weights w [M,C]) and a Relu, the way a
// PointPillars export continues into its backbone.
func scatterModel(domain string, p, c, m, h, w int, weights []float32) (*onnx.Model, error) {
	g := onnxbuild.New("pillar_scatter", 13)
	feat := g.Input("pillars", onnx.Float, int64(p), int64(c))
	coords := g.Input("coords", onnx.Int64, int64(p), 2)
	g.NodeOut("PillarScatter", []string{feat, coords}, []string{"bev"}, onnxbuild.Int("height", int64(h)), onnxbuild.Int("width", int64(w)))
	wt := g.Float("w", []int64{int64(m), int64(c), 1, 1}, weights)
	y := g.Node("Relu", []string{g.Node("Conv", []string{"bev", wt})})
	g.Output(y, onnx.Float, 1, int64(m), int64(h), int64(w))
	b, err := g.Build()
	if err != nil {
		return nil, err
	}
	// onnxbuild writes default-domain nodes: put the scatter in the custom
	// domain, declare the domain and go through the file format, as an
	// export from another tool would.
	mod, err := onnx.Decode(b, "")
	if err != nil {
		return nil, err
	}
	mod.Graph.Nodes[0].Domain = domain
	mod.Opsets[domain] = 1
	if b, err = onnx.Encode(mod); err != nil {
		return nil, err
	}
	return onnx.Decode(b, "")
}

func mustScatterModel(t testing.TB, domain string, p, c, m, h, w int, weights []float32) *onnx.Model {
	t.Helper()
	mod, err := scatterModel(domain, p, c, m, h, w, weights)
	if err != nil {
		t.Fatal(err)
	}
	return mod
}

// refScatterConv is the plain-Go reference: scatter every pillar, then
// y[m,i] = relu(Σc w[m,c]·bev[c,i]).
func refScatterConv(feat, coords []float32, p, c, m, h, w int, weights []float32) []float32 {
	bev := make([]float64, c*h*w)
	for i := 0; i < p; i++ {
		y, x := int(coords[2*i]), int(coords[2*i+1])
		if y < 0 {
			continue
		}
		for ch := 0; ch < c; ch++ {
			bev[(ch*h+y)*w+x] = float64(feat[i*c+ch])
		}
	}
	out := make([]float32, m*h*w)
	for mo := 0; mo < m; mo++ {
		for i := 0; i < h*w; i++ {
			var s float64
			for ch := 0; ch < c; ch++ {
				s += float64(weights[mo*c+ch]) * bev[ch*h*w+i]
			}
			out[mo*h*w+i] = float32(max(s, 0))
		}
	}
	return out
}

// TestCustomOpPillarScatter registers the scatter under a test domain and
// checks a model that uses it against the plain-Go reference, twice (the
// output buffer is reused, so stale pillars would show), and that a Run
// does not allocate.
func TestCustomOpPillarScatter(t *testing.T) {
	const domain = "ds3d-test"
	if err := infer.RegisterOp(domain, "PillarScatter", pillarScatter); err != nil {
		t.Fatal(err)
	}
	if err := infer.RegisterOp(domain, "PillarScatter", pillarScatter); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second registration: %v", err)
	}
	if err := infer.RegisterOp("", "Relu", pillarScatter); err == nil {
		t.Error("registering a standard op succeeded")
	}
	const p, c, m, h, w = 50, 8, 4, 12, 16
	rng := rand.New(rand.NewPCG(1, 2))
	weights := make([]float32, m*c)
	for i := range weights {
		weights[i] = rng.Float32()*2 - 1
	}
	s, err := infer.NewSession(mustScatterModel(t, domain, p, c, m, h, w, weights), infer.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	feat, coords := make([]float32, p*c), make([]float32, 2*p)
	out := make([]float32, m*h*w)
	for round := 0; round < 2; round++ {
		cells := rng.Perm(h * w)
		for i := 0; i < p; i++ {
			coords[2*i], coords[2*i+1] = float32(cells[i]/w), float32(cells[i]%w)
			if i%7 == 6 {
				coords[2*i], coords[2*i+1] = -1, -1 // padding pillar
			}
			for ch := 0; ch < c; ch++ {
				feat[i*c+ch] = rng.Float32()*2 - 1
			}
		}
		if err := s.Run([][]float32{feat, coords}, [][]float32{out}); err != nil {
			t.Fatal(err)
		}
		want := refScatterConv(feat, coords, p, c, m, h, w, weights)
		var maxAbs float64
		nonzero := 0
		for i := range want {
			maxAbs = max(maxAbs, math.Abs(float64(out[i]-want[i])))
			if want[i] != 0 {
				nonzero++
			}
		}
		if maxAbs > 1e-5 || nonzero == 0 {
			t.Errorf("round %d: max abs %g against the reference (%d nonzero)", round, maxAbs, nonzero)
		}
	}
	sum, err := infer.Summary(mustScatterModel(t, domain, p, c, m, h, w, weights), infer.Options{})
	if err != nil || len(sum.Unsupported) != 0 {
		t.Errorf("Summary: %v, unsupported %v", err, sum.Unsupported)
	}
	if !testenv.RaceEnabled { // allocation counts differ under -race
		if a := testing.AllocsPerRun(20, func() { _ = s.Run([][]float32{feat, coords}, [][]float32{out}) }); a != 0 {
			t.Errorf("%v allocations per Run", a)
		}
	}
}

// TestCustomOpUnregistered: a custom-domain op without a kernel is an
// error naming the node, the domain and the op type, and a factory's
// error names the node.
func TestCustomOpUnregistered(t *testing.T) {
	mod := mustScatterModel(t, "ds3d-unregistered", 4, 2, 1, 3, 3, []float32{1, 1})
	_, err := infer.NewSession(mod, infer.Options{Threads: 1})
	if err == nil || !strings.Contains(err.Error(), "unsupported ops: ds3d-unregistered.PillarScatter (1: PillarScatter→bev)") {
		t.Errorf("got %v", err)
	}
	if err := infer.RegisterOp("ds3d-bad", "PillarScatter", pillarScatter); err != nil {
		t.Fatal(err)
	}
	mod = mustScatterModel(t, "ds3d-bad", 4, 2, 1, 3, 3, []float32{1, 1})
	mod.Graph.Nodes[0].Attrs = nil
	_, err = infer.NewSession(mod, infer.Options{Threads: 1})
	if err == nil || !strings.Contains(err.Error(), "node PillarScatter→bev (custom op ds3d-bad.PillarScatter): needs positive int attributes height and width") {
		t.Errorf("got %v", err)
	}
}

// Example of a custom operator: a PointPillars export whose pillar scatter
// is a ds3d.PillarScatter node runs once the scatter's Go kernel is
// registered (pillarScatter above; usually in the init of the package that
// owns the kernel).
func ExampleRegisterOp() {
	if err := infer.RegisterOp("ds3d", "PillarScatter", pillarScatter); err != nil {
		fmt.Println(err)
		return
	}
	// Two pillars of 2 features on a 2×3 grid; the model ends in a 1×1
	// convolution that sums the two feature channels, then a Relu.
	m, err := scatterModel("ds3d", 2, 2, 1, 2, 3, []float32{1, 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := infer.NewSession(m, infer.Options{Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	out := make([]float32, 6)
	err = s.Run([][]float32{{1, 2, 3, -5}, {0, 2, 1, 0}}, [][]float32{out})
	fmt.Println(out, err)
	// Output:
	// [0 0 3 0 0 0] <nil>
}
