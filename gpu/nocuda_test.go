package gpu

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCPUBuildDoesNotImportCU: without the cuda tag no package of the module
// may depend on gorgonia.org/cu (its init exits the process without a GPU).
func TestCPUBuildDoesNotImportCU(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command (e.g. a test binary carried to a GPU machine)")
	}
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
