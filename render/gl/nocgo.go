//go:build !cgo

package gl

import (
	"context"
	"errors"
	"image"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// errNoCgo is what every renderer of a build without cgo returns: GLFW and
// OpenGL are C libraries. The config, its validation and the registration
// stay, so configs still load and `ds3d components` lists gl_render.
var errNoCgo = errors.New("gl_render: this binary was built without cgo (CGO_ENABLED=0); the OpenGL viewer needs cgo — use raster_render instead")

// Renderer is gl_render; without cgo it cannot be built.
type Renderer struct {
	ReadbackTime time.Duration
	Frames       int64
}

// NewRenderer fails without cgo.
func NewRenderer(c *Config, _ *ds3d.Env) (*Renderer, error) {
	if err := ds3d.CheckConfig(c); err != nil {
		return nil, err
	}
	return nil, errNoCgo
}

func (r *Renderer) Start(context.Context) error                 { return errNoCgo }
func (r *Renderer) Render(context.Context, *ds3d.DataMap) error { return errNoCgo }
func (r *Renderer) Draw(*ds3d.DataMap, bool) error              { return errNoCgo }
func (r *Renderer) Sync() error                                 { return errNoCgo }
func (r *Renderer) Image() *image.RGBA                          { return nil }
func (r *Renderer) Close() error                                { return nil }

// Shutdown has nothing to end without cgo.
func Shutdown() bool { return true }
