package gl

import (
	"errors"
	"fmt"
	"image/png"
	"math"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

// ErrNoDisplay is returned (wrapped) when there is no X server to open a
// window on, hidden or not.
var ErrNoDisplay = errors.New("no X display")

// ErrWindowClosed is returned by Render once the user closed the window.
var ErrWindowClosed = errors.New("gl_render: window closed")

// View types of Config.View.
const (
	ViewPerspective = "perspective" // 3D perspective camera (view_position, view_target, view_up)
	ViewBEV         = "bev"         // orthographic top view, render/raster's BEV convention
)

// maxSide bounds a window or frame side in pixels.
const maxSide = 16384

// Config configures gl_render. Keys shared with raster_render have the same
// names and meanings.
type Config struct {
	View         string    `toml:"view" doc:"\"perspective\" (3D camera at view_position looking at view_target) or \"bev\" (orthographic top view over x_range × y_range, the render/raster BEV convention)"`
	WindowWidth  int       `toml:"window_width" doc:"window (or offscreen frame) width in pixels"`
	WindowHeight int       `toml:"window_height" doc:"window (or offscreen frame) height in pixels"`
	WindowTitle  string    `toml:"window_title" doc:"window title"`
	Headless     bool      `toml:"headless" doc:"render into an offscreen framebuffer of a hidden window (needs an X server such as Xvfb, but shows nothing); frames go to output_dir"`
	HoldOnEOS    bool      `toml:"hold_on_eos" doc:"shown window: at end of stream keep showing the last frame until the window is closed"`
	StartPaused  bool      `toml:"start_paused" doc:"shown window: start paused (space resumes, N or → steps one frame)"`
	OutputDir    ds3d.Path `toml:"output_dir" doc:"folder PNG frames are written to (created when missing); empty writes none (screenshots then go to the working folder)"`
	Filename     string    `toml:"filename" doc:"PNG file name pattern with one integer verb for DS3D::FrameNumber (a running count when absent)"`
	PNGCompress  string    `toml:"png_compression" doc:"PNG compression: default, fast, best or none"`

	ColorClear [3]uint8 `toml:"color_clear" doc:"RGB background"`
	LidarKey   string   `toml:"lidar_data_key" doc:"key of the [N,4] (or [N,3]) f32 lidar frame; empty draws no points"`
	BoxKey     string   `toml:"lidar_bbox_key" doc:"key of the []Box3D boxes in the lidar frame; empty draws no boxes"`

	ColorBy    string     `toml:"color_by" doc:"point colours: intensity, height, range or fixed (lidar_color), on the Turbo colour map of render/raster"`
	ValueRange [2]float64 `toml:"value_range" doc:"values mapped onto the colour map [low, high]; [0, 0] takes the mode's default (intensity 0–1, height −2.5–1.5 m, range 0–60 m)"`
	LidarColor [3]uint8   `toml:"lidar_color" doc:"RGB colour of points with color_by = \"fixed\""`
	PointSize  float64    `toml:"point_size" doc:"point size in pixels (squares)"`
	LineWidth  float64    `toml:"line_width" doc:"box, grid and axis line width in pixels"`
	BoxesOnTop bool       `toml:"boxes_on_top" doc:"draw boxes over the points (no depth test) so they are never hidden"`
	Labels     bool       `toml:"labels" doc:"write each box's label, score and track id above it (5×7 bitmap font)"`
	LabelScale int        `toml:"label_scale" doc:"label font scale (1: 5×7-pixel glyphs)"`

	ViewPosition    [3]float64 `toml:"view_position" doc:"perspective: camera position in the lidar frame (metres)"`
	ViewTarget      [3]float64 `toml:"view_target" doc:"perspective: point the camera looks at"`
	ViewUp          [3]float64 `toml:"view_up" doc:"perspective: up direction (z up in the lidar frame)"`
	PerspectiveNear float64    `toml:"perspective_near" doc:"perspective: near clip plane in metres"`
	PerspectiveFar  float64    `toml:"perspective_far" doc:"perspective: far clip plane in metres"`
	PerspectiveFov  float64    `toml:"perspective_fov" doc:"perspective: vertical field of view in degrees"`

	XRange [2]float64 `toml:"x_range" doc:"BEV: forward range [min, max] in metres (lidar x, up in the image); metres per pixel follow from window_height"`
	YRange [2]float64 `toml:"y_range" doc:"BEV: lateral range [min, max] in metres (lidar y, left in the image); metres per pixel follow from window_width"`

	GridStep   float64  `toml:"grid_step" doc:"metres between ground grid lines through the origin; 0 draws none"`
	GridExtent float64  `toml:"grid_extent" doc:"perspective: the grid covers [−grid_extent, grid_extent] in x and y (the BEV grid covers its ranges)"`
	GridZ      float64  `toml:"grid_z" doc:"height of the ground grid in the lidar frame (roof lidars sit about 1.7 m above the ground)"`
	GridColor  [3]uint8 `toml:"grid_color" doc:"RGB colour of the grid"`
	AxisLength float64  `toml:"axis_length" doc:"length in metres of the x (red), y (green), z (blue) axes at the origin; 0 draws none"`
}

var pngLevels = map[string]png.CompressionLevel{
	"default": png.DefaultCompression, "fast": png.BestSpeed, "best": png.BestCompression, "none": png.NoCompression,
}

// NewConfig returns gl_render's defaults: a 1280×720 perspective view from
// 12 m behind and 8 m above the sensor looking 15 m ahead, intensity
// colours, 2-pixel points and lines, labelled boxes drawn on top, a 10 m
// grid at z = −1.7 m and 2 m axes; PNG files frame_%06d.png when output_dir
// is set.
func NewConfig() *Config {
	return &Config{
		View: ViewPerspective, WindowWidth: 1280, WindowHeight: 720, WindowTitle: "ds3d-go",
		Filename: "frame_%06d.png", PNGCompress: "fast",
		LidarKey: string(ds3d.KeyLidarXYZI), BoxKey: string(ds3d.KeyLidar3DBboxRawData),
		ColorBy: string(raster.ColorIntensity), LidarColor: [3]uint8{255, 255, 255},
		PointSize: 2, LineWidth: 2, BoxesOnTop: true, Labels: true, LabelScale: 1,
		ViewPosition: [3]float64{-12, 0, 8}, ViewTarget: [3]float64{15, 0, -1}, ViewUp: [3]float64{0, 0, 1},
		PerspectiveNear: 0.1, PerspectiveFar: 300, PerspectiveFov: 60,
		XRange: [2]float64{-40, 40}, YRange: [2]float64{-40, 40},
		GridStep: 10, GridExtent: 80, GridZ: -1.7, GridColor: [3]uint8{48, 48, 48}, AxisLength: 2,
	}
}

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// Validate checks every key and names the first bad one.
func (c *Config) Validate() error {
	switch {
	case c.View != ViewPerspective && c.View != ViewBEV:
		return ds3d.ConfigErrorf("view", "must be %q or %q, got %q", ViewPerspective, ViewBEV, c.View)
	case c.WindowWidth <= 0 || c.WindowWidth > maxSide:
		return ds3d.ConfigErrorf("window_width", "must be 1..%d pixels, got %d", maxSide, c.WindowWidth)
	case c.WindowHeight <= 0 || c.WindowHeight > maxSide:
		return ds3d.ConfigErrorf("window_height", "must be 1..%d pixels, got %d", maxSide, c.WindowHeight)
	case !(c.PointSize > 0 && c.PointSize <= 64):
		return ds3d.ConfigErrorf("point_size", "must be in (0, 64] pixels, got %v", c.PointSize)
	case !(c.LineWidth > 0 && c.LineWidth <= 16):
		return ds3d.ConfigErrorf("line_width", "must be in (0, 16] pixels, got %v", c.LineWidth)
	case c.LabelScale < 1 || c.LabelScale > 16:
		return ds3d.ConfigErrorf("label_scale", "must be 1..16, got %d", c.LabelScale)
	case !(c.GridStep >= 0) || math.IsInf(c.GridStep, 0):
		return ds3d.ConfigErrorf("grid_step", "must be ≥ 0, got %v", c.GridStep)
	case c.GridStep > 0 && !(c.GridExtent > 0 && c.GridExtent/c.GridStep <= 1000):
		return ds3d.ConfigErrorf("grid_extent", "must be > 0 and at most 1000 grid steps, got %v", c.GridExtent)
	case !finite(c.GridZ):
		return ds3d.ConfigErrorf("grid_z", "must be finite, got %v", c.GridZ)
	case !(c.AxisLength >= 0) || math.IsInf(c.AxisLength, 0):
		return ds3d.ConfigErrorf("axis_length", "must be ≥ 0, got %v", c.AxisLength)
	}
	switch raster.ColorMode(c.ColorBy) {
	case raster.ColorIntensity, raster.ColorHeight, raster.ColorRange, raster.ColorFixed:
	default:
		return ds3d.ConfigErrorf("color_by", "must be intensity, height, range or fixed, got %q", c.ColorBy)
	}
	if vr := c.ValueRange; vr != ([2]float64{}) && !(vr[1] > vr[0] && finite(vr[1]-vr[0])) {
		return ds3d.ConfigErrorf("value_range", "must be [low, high] with low < high, got %v", vr)
	}
	if _, ok := pngLevels[c.PNGCompress]; !ok {
		return ds3d.ConfigErrorf("png_compression", "must be default, fast, best or none, got %q", c.PNGCompress)
	}
	if err := checkFilename("filename", c.Filename); err != nil {
		return err
	}
	if c.View == ViewBEV {
		for _, r := range []struct {
			key string
			v   [2]float64
		}{{"x_range", c.XRange}, {"y_range", c.YRange}} {
			if !(r.v[1] > r.v[0]) || !finite(r.v[1]-r.v[0]) {
				return ds3d.ConfigErrorf(r.key, "must be [min, max] with min < max, got %v", r.v)
			}
		}
		return nil
	}
	for _, v := range []struct {
		key string
		v   [3]float64
	}{{"view_position", c.ViewPosition}, {"view_target", c.ViewTarget}, {"view_up", c.ViewUp}} {
		if !finite(v.v[:]...) {
			return ds3d.ConfigErrorf(v.key, "must be finite, got %v", v.v)
		}
	}
	f := sub3(c.ViewTarget, c.ViewPosition)
	if norm3(f) == 0 {
		return ds3d.ConfigErrorf("view_target", "must differ from view_position %v", c.ViewPosition)
	}
	if n := norm3(cross3(f, c.ViewUp)); !(n > 1e-9*norm3(f)*norm3(c.ViewUp)) {
		return ds3d.ConfigErrorf("view_up", "must not be zero or parallel to the viewing direction, got %v", c.ViewUp)
	}
	switch {
	case !(c.PerspectiveNear > 0) || math.IsInf(c.PerspectiveNear, 0):
		return ds3d.ConfigErrorf("perspective_near", "must be positive, got %v", c.PerspectiveNear)
	case !(c.PerspectiveFar > c.PerspectiveNear) || math.IsInf(c.PerspectiveFar, 0):
		return ds3d.ConfigErrorf("perspective_far", "must be greater than perspective_near (%v), got %v", c.PerspectiveNear, c.PerspectiveFar)
	case !(c.PerspectiveFov > 0 && c.PerspectiveFov < 180):
		return ds3d.ConfigErrorf("perspective_fov", "must be in (0, 180) degrees, got %v", c.PerspectiveFov)
	}
	return nil
}

// checkFilename checks a file name pattern: one integer verb, a name inside
// the output folder, ending in .png.
func checkFilename(key, pattern string) error {
	a, b := fmt.Sprintf(pattern, 1), fmt.Sprintf(pattern, 2)
	if strings.Contains(a, "%!") || a == b {
		return ds3d.ConfigErrorf(key, "must hold one integer verb such as %%06d, got %q", pattern)
	}
	if filepath.IsAbs(a) || strings.HasPrefix(filepath.Clean(a), "..") {
		return ds3d.ConfigErrorf(key, "must be a name inside output_dir, got %q", pattern)
	}
	if !strings.EqualFold(filepath.Ext(a), ".png") {
		return ds3d.ConfigErrorf(key, "must end in .png, got %q", pattern)
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindRender, "gl_render",
		`OpenGL viewer (GLFW, OpenGL 3.3 core): draws each datamap's lidar points (coloured by intensity, height, range or a fixed colour), 3D boxes as wireframes with a front-face cross and labels, a ground grid and axes, in a perspective 3D view or an orthographic bird's-eye view (render/raster's BEV convention). Shows a window (mouse orbit/pan/zoom, keys: R reset, space pause, N step, S screenshot, Esc close) or, with headless = true, renders offscreen under an X server such as Xvfb; writes PNG frames to output_dir when set.`,
		NewConfig,
		func(c *Config, env *ds3d.Env) (any, error) { return NewRenderer(c, env) })
}
