package gpu

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestCPUBuildDoesNotImportCU: without the cuda tag no package of the module
// may depend on gorgonia.org/cu (its init exits the process without a GPU).
func TestCPUBuildDoesNotImportCU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	gobin := testenv.Tool(t, "go", "a test binary carried to a machine without Go")
	out, err := exec.Command(gobin, "list", "-deps", "-test", "github.com/ds3d-go/ds3d-go/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "gorgonia.org/cu" || strings.HasPrefix(p, "gorgonia.org/cu/") {
			t.Fatalf("the CPU build depends on %s; keep every import of it behind //go:build cuda", p)
		}
	}
}

// TestDS3DBinaryDoesNotImportCU: the ds3d binary's plain build links no
// cu, and (the control that shows the check can fail) its cuda build does,
// through apps/components (package gpu registers only with -tags cuda).
func TestDS3DBinaryDoesNotImportCU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin := testenv.Tool(t, "go", "a test binary carried to a machine without Go")
	deps := func(args ...string) map[string]bool {
		out, err := exec.Command(gobin, append([]string{"list", "-deps"}, append(args, "github.com/ds3d-go/ds3d-go/apps/ds3d")...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %v: %v\n%s", args, err, out)
		}
		m := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			m[p] = true
		}
		return m
	}
	if deps()["gorgonia.org/cu"] {
		t.Fatal("apps/ds3d depends on gorgonia.org/cu without the cuda tag")
	}
	if !deps("-tags", "cuda")["gorgonia.org/cu"] {
		t.Fatal("apps/ds3d built with -tags cuda does not link gorgonia.org/cu: the GPU components are not registered")
	}
}
