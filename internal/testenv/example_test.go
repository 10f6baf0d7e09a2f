package testenv_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// A test checked against a reference script. The interpreter, its modules
// and the peer scripts are prerequisites: missing, the test skips (fails
// under CI=true). What the script does is the reference: a crash, a
// non-zero exit or output the test cannot parse fails the test.
func Example() {
	_ = func(t *testing.T) {
		peers := filepath.Join("..", "..", "..", "shared", "peers")
		if _, err := os.Stat(filepath.Join(peers, "bench_numpy.py")); err != nil {
			testenv.SkipOrFail(t, "peer scripts not found in %s (clone ../shared beside the repository)", peers)
		}

		// The common case: run a script with the modules it imports.
		out := testenv.RunPython(t, []string{"numpy"}, "-c",
			`import json, numpy as np; print(json.dumps({"sum": float(np.float32(0.1) + np.float32(0.2))}))`)
		var ref struct{ Sum *float64 }
		if err := json.Unmarshal(out, &ref); err != nil || ref.Sum == nil {
			t.Fatalf("the reference printed %q: %v", out, err)
		}
		if got := float64(float32(0.1) + float32(0.2)); got != *ref.Sum {
			t.Errorf("%v, numpy %v", got, *ref.Sum)
		}

		// A command that needs its own environment: Python checks the
		// interpreter and modules, Output runs it (failing, never
		// skipping, when it exits non-zero).
		cmd := exec.Command(testenv.Python(t, "numpy", "scipy"), "testdata/peer.py", peers)
		cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
		_ = testenv.Output(t, cmd)
	}
}
