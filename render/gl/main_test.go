package gl_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/xvfb"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// noDisplay is why tests that need an X server skip ("" when one runs).
var noDisplay string

// TestMain starts a private Xvfb when DISPLAY is unset (CI), so the
// rendering tests run everywhere Xvfb is installed. Without Xvfb they skip
// with a message — or fail when CI is set.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := gl.NewRenderer(gl.NewConfig(), nil); err != nil { // built without cgo
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "FAIL: render/gl: %v; CI is set, so this is a failure, not a skip\n", err)
			return 1
		}
		noDisplay = err.Error()
		return m.Run()
	}
	if os.Getenv("DISPLAY") == "" {
		stop, err := xvfb.Start()
		if err != nil {
			if os.Getenv("CI") != "" {
				fmt.Fprintf(os.Stderr, "FAIL: render/gl: %v; CI is set, so this is a failure, not a skip\n", err)
				return 1
			}
			noDisplay = err.Error()
		} else {
			defer stop()
		}
	}
	return m.Run()
}

// needDisplay skips t when no X server could be started.
func needDisplay(t testing.TB) {
	t.Helper()
	if noDisplay != "" {
		t.Skip("render/gl: " + noDisplay)
	}
}
