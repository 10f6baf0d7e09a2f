package gl_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// TestNoDisplay lives in the last file so it runs after every rendering
// test: it shuts the GL thread down, and GLFW is not re-initialised after.
func TestNoDisplay(t *testing.T) {
	needDisplay(t) // (needs a cgo build; the display itself is replaced below)
	// The GL thread outlives its renderers; end it so Start checks the display anew.
	if !gl.Shutdown() {
		t.Fatal("a renderer is still open")
	}
	for _, d := range []string{"", ":4711"} {
		t.Setenv("DISPLAY", d)
		r, err := gl.NewRenderer(gl.NewConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Start(context.Background())
		if !errors.Is(err, gl.ErrNoDisplay) || !strings.Contains(err.Error(), "DISPLAY") {
			t.Errorf("DISPLAY=%q: err = %v, want ErrNoDisplay naming DISPLAY", d, err)
		}
	}
}
