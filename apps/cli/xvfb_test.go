package cli

import (
	"fmt"
	"os"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/internal/xvfb"
)

// TestMain gives the command's tests an X display when there is none, so the
// example configs that render with OpenGL (view_*.toml) run in CI too.
// Without Xvfb it runs the tests anyway, except under CI (internal/testenv's
// rule), where the missing display is a failure at once.
func TestMain(m *testing.M) {
	if os.Getenv("DISPLAY") == "" {
		stop, err := xvfb.Start()
		if err != nil {
			fmt.Fprintln(os.Stderr, "apps/cli:", err)
			if testenv.CI() {
				os.Exit(1)
			}
		} else {
			code := m.Run()
			stop()
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}
