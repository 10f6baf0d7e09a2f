package gl_test

import (
	"os"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/internal/xvfb"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// noDisplay is why tests that need an X server cannot run ("" when one
// runs).
var noDisplay string

// TestMain starts a private Xvfb when DISPLAY is unset (CI), so the
// rendering tests run everywhere Xvfb is installed. Without Xvfb (or in a
// build without cgo) they skip with a message — or fail when CI is set
// (needDisplay, through internal/testenv).
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := gl.NewRenderer(gl.NewConfig(), nil); err != nil { // built without cgo
		noDisplay = err.Error()
		return m.Run()
	}
	if os.Getenv("DISPLAY") == "" {
		stop, err := xvfb.Start()
		if err != nil {
			noDisplay = err.Error()
		} else {
			defer stop()
		}
	}
	return m.Run()
}

// needDisplay skips t (fails it under CI) when no X server could be
// started.
func needDisplay(t testing.TB) {
	t.Helper()
	if noDisplay != "" {
		testenv.SkipOrFail(t, "render/gl: %s", noDisplay)
	}
}
