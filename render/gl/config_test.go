package gl_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
	"github.com/ds3d-go/ds3d-go/render/raster"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		key string
		set func(c *gl.Config)
	}{
		{"view", func(c *gl.Config) { c.View = "fisheye" }},
		{"window_width", func(c *gl.Config) { c.WindowWidth = 0 }},
		{"window_height", func(c *gl.Config) { c.WindowHeight = -5 }},
		{"point_size", func(c *gl.Config) { c.PointSize = 0 }},
		{"line_width", func(c *gl.Config) { c.LineWidth = -1 }},
		{"label_scale", func(c *gl.Config) { c.LabelScale = 0 }},
		{"color_by", func(c *gl.Config) { c.ColorBy = "curvature" }},
		{"value_range", func(c *gl.Config) { c.ValueRange = [2]float64{2, 1} }},
		{"png_compression", func(c *gl.Config) { c.PNGCompress = "max" }},
		{"filename", func(c *gl.Config) { c.Filename = "frame.png" }},
		{"filename", func(c *gl.Config) { c.Filename = "frame_%d.jpg" }},
		{"grid_step", func(c *gl.Config) { c.GridStep = -1 }},
		{"view_target", func(c *gl.Config) { c.ViewTarget = c.ViewPosition }},
		{"view_up", func(c *gl.Config) { c.ViewUp = [3]float64{} }},
		{"perspective_near", func(c *gl.Config) { c.PerspectiveNear = 0 }},
		{"perspective_far", func(c *gl.Config) { c.PerspectiveFar = c.PerspectiveNear }},
		{"perspective_fov", func(c *gl.Config) { c.PerspectiveFov = 180 }},
		{"x_range", func(c *gl.Config) { c.View, c.XRange = gl.ViewBEV, [2]float64{5, 5} }},
		{"y_range", func(c *gl.Config) { c.View, c.YRange = gl.ViewBEV, [2]float64{1, -1} }},
	} {
		c := gl.NewConfig()
		tc.set(c)
		err := ds3d.CheckConfig(c)
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%s: err = %v, want a ConfigError for %s", tc.key, err, tc.key)
		}
		if _, err := gl.NewRenderer(c, nil); err == nil {
			t.Errorf("%s: NewRenderer accepted a bad config", tc.key)
		}
	}
	if err := ds3d.CheckConfig(gl.NewConfig()); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestRegistered(t *testing.T) {
	s, ok := ds3d.Lookup("gl_render")
	if !ok || s.Kind != ds3d.KindRender {
		t.Fatalf("gl_render not registered as a render: %v", s)
	}
	for _, k := range []string{"view", "window_width", "window_height", "headless", "output_dir", "lidar_data_key", "lidar_bbox_key", "view_position", "perspective_fov", "point_size", "line_width", "color_clear", "lidar_color"} {
		found := false
		for _, f := range s.Fields {
			found = found || f.Name == k
		}
		if !found {
			t.Errorf("no config key %s", k)
		}
	}
}

// TestExampleViewKITTI runs apps/examples/view_kitti.toml (output moved to a
// temporary folder) and checks its PNG.
func TestExampleViewKITTI(t *testing.T) {
	needDisplay(t)
	for _, name := range []string{"view_kitti.toml", "view_bev.toml"} {
		path := filepath.Join(sampledata.RepoRoot(t), "apps", "examples", name)
		p, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		var gc *gl.Config
		for _, c := range p.Components {
			if cfg, ok := c.Config.(*gl.Config); ok {
				cfg.OutputDir, gc = ds3d.Path(out), cfg
			}
		}
		if gc == nil {
			t.Fatalf("%s: no gl_render", name)
		}
		var logs bytes.Buffer
		g, err := pipeline.New(p, pipeline.Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, filepath.Join(out, "frame_000000.png"))
		if img.Bounds().Dx() != gc.WindowWidth || img.Bounds().Dy() != gc.WindowHeight {
			t.Errorf("%s: image %v", name, img.Bounds())
		}
		if strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("%s: warnings: %s", name, logs.String())
		}
		// Coloured points cover a good part of the picture.
		bg, n := rgb(gc.ColorClear), 0
		for y := 0; y < img.Bounds().Dy(); y += 2 {
			for x := 0; x < img.Bounds().Dx(); x += 2 {
				if img.RGBAAt(x, y) != bg {
					n++
				}
			}
		}
		if n < img.Bounds().Dx()*img.Bounds().Dy()/4/50 {
			t.Errorf("%s: only %d sampled pixels are not background", name, n)
		}
	}
}

func decodePNG(t testing.TB, path string) *image.RGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := img.(*image.RGBA); ok {
		return r
	}
	return raster.CopyImage(nil, img)
}
