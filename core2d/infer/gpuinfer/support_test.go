package gpuinfer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
)

// TestSupportedOpsMatchPlanner reads the case labels of compiler.node in
// plan.go, the switch that builds each op, and checks that supportedOps
// lists exactly those.
func TestSupportedOpsMatchPlanner(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "plan.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	ast.Inspect(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "node" || fd.Recv == nil {
			return true
		}
		sw := fd.Body.List[0].(*ast.SwitchStmt)
		for _, st := range sw.Body.List {
			for _, e := range st.(*ast.CaseClause).List {
				s, err := strconv.Unquote(e.(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, s)
			}
		}
		return false
	})
	slices.Sort(cases)
	if want := slices.Sorted(maps.Keys(supportedOps)); !slices.Equal(cases, want) {
		t.Errorf("compiler.node builds %v; supportedOps lists %v", cases, want)
	}
}

func TestUnsupportedOps(t *testing.T) {
	if u := UnsupportedOps(loadYOLOX(t)); u != nil {
		t.Errorf("YOLOX-Nano: %v, want none", u)
	}
	g := onnxbuild.New("erf", 13)
	x := g.Input("x", onnx.Float, 1, 4)
	y := g.Node("Erf", []string{g.Node("Erf", []string{g.Node("Softmax", []string{g.Node("Sigmoid", []string{x})})})})
	g.NodeOut("Scatter", []string{y}, []string{"z"})
	g.Output("z", onnx.Float, 1, 4)
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	m.Graph.Nodes[len(m.Graph.Nodes)-1].Domain = "ds3d"
	if got, want := UnsupportedOps(m), []string{"Erf ×2", "Softmax ×1", "ds3d.Scatter ×1"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestCompileNamesUnsupportedOps: Compile refuses such a model at load
// with the whole list.
func TestCompileNamesUnsupportedOps(t *testing.T) {
	g := onnxbuild.New("two", 13)
	x := g.Input("x", onnx.Float, 1, 4, 2, 2)
	y := g.Node("HardSwish", []string{g.Node("Erf", []string{x})})
	g.Output(y, onnx.Float, 1, 4, 2, 2)
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(m, Options{})
	if err == nil || err.Error() != "gpuinfer: ops not supported by the GPU backend: Erf ×1, HardSwish ×1" {
		t.Errorf("got %v", err)
	}
}
