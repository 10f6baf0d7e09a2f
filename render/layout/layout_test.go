package layout_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/layout"
)

// ExamplePixelRect: apps/bevfusion's CAM_FRONT tile in a 1600×900 window
// covers columns [round(0.335·1600), round(0.665·1600)) = [536, 1064) and
// rows [round(0.004·900), round(0.33·900)) = [4, 297).
func ExamplePixelRect() {
	x, y, w, h := layout.PixelRect([4]float64{0.335, 0.004, 0.665, 0.33}, 1600, 900)
	fmt.Println(x, y, w, h)
	// Output: 536 4 528 293
}

// TestCheck: each rule of a tile, a tag or Check's, names its key with
// the tile's place in the render_graph.
func TestCheck(t *testing.T) {
	good := layout.Tile{Type: layout.Texture3D, Layout: [4]float64{0, 0, 0.5, 0.5}, TextureFrameKey: "DS3D::ColorFrame_0"}
	type graph struct {
		Tiles []layout.Tile `toml:"render_graph" doc:"tiles"`
	}
	check := func(l layout.Tile) error {
		if errs := ds3d.CheckRules(&graph{Tiles: []layout.Tile{good, good, l}}, false); len(errs) > 0 {
			return errs[0]
		}
		return l.Check("render_graph[2].", 100, 100)
	}
	if err := check(good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key string
		set func(l *layout.Tile)
	}{
		{"type", func(l *layout.Tile) { l.Type = "mesh_render" }},
		{"layout", func(l *layout.Tile) { l.Layout = [4]float64{0.5, 0, 0.5, 1} }},
		{"layout", func(l *layout.Tile) { l.Layout = [4]float64{0, 0, 1.5, 1} }},
		{"layout", func(l *layout.Tile) { l.Layout = [4]float64{0, 0, 0.004, 1} }}, // under a pixel of 100
		{"texture_frame_key", func(l *layout.Tile) { l.TextureFrameKey = "" }},
		{"intrinsics_mat_key", func(l *layout.Tile) { l.ProjectLidarToImage = true }},
		{"image_width", func(l *layout.Tile) { l.ImageWidth = 20000 }},
		{"point_size", func(l *layout.Tile) { l.PointSize = 65 }},
		{"view", func(l *layout.Tile) { l.View = "side" }},
		{"perspective_fov", func(l *layout.Tile) { l.PerspectiveFov = 180 }},
	} {
		l := good
		tc.set(&l)
		var ce *ds3d.ConfigError
		if err := check(l); !errors.As(err, &ce) || ce.Key != "render_graph[2]."+tc.key {
			t.Errorf("%s: err = %v", tc.key, err)
		}
	}
}
