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

// wrapVideo wraps a renderer that writes output_video; video.go sets it in
// cgo builds.
var wrapVideo func(*Renderer) any

// ErrWindowClosed is returned by Render once the user closed the window.
var ErrWindowClosed = errors.New("gl_render: window closed")

// View types of Config.View.
const (
	ViewPerspective = "perspective" // 3D perspective camera (view_position, view_target, view_up)
	ViewBEV         = "bev"         // orthographic top view, render/raster's BEV convention
	ViewFront       = "front"       // orthographic view along +x from behind: y_range across (left on the left), z_range up
)

// Point colour modes beyond raster's: depth along the viewing direction
// and the RGB of a colour image sampled at each point's colour coordinate.
const (
	ColorDepth = "depth"
	ColorRGB   = "rgb"
)

// maxSide bounds a window or frame side in pixels.
const maxSide = 16384

// Config configures gl_render. Keys shared with raster_render have the same
// names and meanings.
type Config struct {
	View         string    `toml:"view" enum:"perspective|bev|front" doc:"\"perspective\" (3D camera at view_position looking at view_target), \"bev\" (orthographic top view over x_range × y_range, the render/raster BEV convention) or \"front\" (orthographic view along +x from behind over y_range × z_range, x_range the depth slab)"`
	WindowWidth  int       `toml:"window_width" min:"1" max:"16384" doc:"window (or offscreen frame) width in pixels"`
	WindowHeight int       `toml:"window_height" min:"1" max:"16384" doc:"window (or offscreen frame) height in pixels"`
	WindowTitle  string    `toml:"window_title" doc:"window title"`
	Headless     bool      `toml:"headless" doc:"render into an offscreen framebuffer of a hidden window (needs an X server such as Xvfb, but shows nothing); frames go to output_dir"`
	HoldOnEOS    bool      `toml:"hold_on_eos" doc:"shown window: at end of stream keep showing the last frame until the window is closed"`
	StartPaused  bool      `toml:"start_paused" doc:"shown window: start paused (space resumes, N or → steps one frame)"`
	OutputDir    ds3d.Path `toml:"output_dir" doc:"folder PNG frames are written to (created when missing); empty writes none (screenshots then go to the working folder)"`
	Filename     string    `toml:"filename" doc:"PNG file name pattern with one integer verb for DS3D::FrameNumber (a running count when absent)"`
	PNGCompress  string    `toml:"png_compression" enum:"default|fast|best|none" doc:"PNG compression: default, fast, best or none"`
	OutputVideo  ds3d.Path `toml:"output_video" doc:"video file every frame is also written to, from the same read-back frame as the PNGs: .mp4 is H.264 (libx264, yuv420p, CRF 23) through an ffmpeg subprocess (needs ffmpeg on PATH and an even window size), .avi is Motion-JPEG (quality 85, pure Go); empty writes none"`
	VideoFPS     int       `toml:"video_fps" min:"1" max:"1000" doc:"frame rate written into output_video"`

	ColorClear [3]uint8 `toml:"color_clear" doc:"RGB background"`
	LidarKey   string   `toml:"lidar_data_key" doc:"key of the [N,4] (or [N,3]) f32 lidar frame; empty draws no points"`
	BoxKey     string   `toml:"lidar_bbox_key" doc:"key of the []Box3D boxes in the lidar frame; empty draws no boxes"`

	ColorBy         string     `toml:"color_by" enum:"intensity|height|range|depth|fixed|rgb" doc:"point colours: intensity, height, range, depth (along the viewing direction; in camera tiles the camera depth), fixed (lidar_color) on the Turbo colour map of render/raster, or rgb (each point takes the colour_frame_key image's colour at its color_coord_key coordinate: RGB-D clouds from depth2point)"`
	ValueRange      [2]float64 `toml:"value_range" doc:"values mapped onto the colour map [low, high]; [0, 0] takes the mode's default (intensity 0–1, height −2.5–1.5 m, range and depth 0–60 m)"`
	ColorCoordKey   string     `toml:"color_coord_key" doc:"color_by = \"rgb\": key of the [N,2] (or [N,3], first two used) f32 colour coordinates of the points, one per point (depth2point's DS3D::PointColorCoord)"`
	ColorCoordUnits string     `toml:"color_coord_units" enum:"normalized|pixels" doc:"color_by = \"rgb\": the coordinates are \"normalized\" texture coordinates ((u + ½)/W, (v + ½)/H, depth2point's default) or \"pixels\" (column u, row v)"`
	ColorFrameKey   string     `toml:"color_frame_key" doc:"color_by = \"rgb\": key of the RGB or RGBA u8 colour image the coordinates index"`
	LidarColor      [3]uint8   `toml:"lidar_color" doc:"RGB colour of points with color_by = \"fixed\""`
	PointSize       float64    `toml:"point_size" min:">0" max:"64" doc:"point size in pixels (squares)"`
	LineWidth       float64    `toml:"line_width" min:">0" max:"16" doc:"box, grid and axis line width in pixels"`
	BoxesOnTop      bool       `toml:"boxes_on_top" doc:"draw boxes over the points (no depth test) so they are never hidden"`
	Labels          bool       `toml:"enable_label" doc:"write each box's label, score and track id above it (5×7 bitmap font); ds3d's enable_label"`
	LabelScale      int        `toml:"label_scale" min:"1" max:"16" doc:"label font scale (1: 5×7-pixel glyphs)"`

	ViewPosition    [3]float64 `toml:"view_position" doc:"perspective: camera position in the lidar frame (metres)"`
	ViewTarget      [3]float64 `toml:"view_target" doc:"perspective: point the camera looks at"`
	ViewUp          [3]float64 `toml:"view_up" doc:"perspective: up direction (z up in the lidar frame)"`
	PerspectiveNear float64    `toml:"perspective_near" min:">0" unit:"m" doc:"perspective: near clip plane in metres"`
	PerspectiveFar  float64    `toml:"perspective_far" min:">0" unit:"m" doc:"perspective: far clip plane in metres"`
	PerspectiveFov  float64    `toml:"perspective_fov" min:">0" max:"<180" unit:"°" doc:"perspective: vertical field of view in degrees"`

	XRange [2]float64 `toml:"x_range" doc:"BEV: forward range [min, max] in metres (lidar x, up in the image); metres per pixel follow from window_height"`
	YRange [2]float64 `toml:"y_range" doc:"BEV and front: lateral range [min, max] in metres (lidar y, left in the image); metres per pixel follow from window_width"`
	ZRange [2]float64 `toml:"z_range" doc:"front: height range [min, max] in metres (lidar z, up in the image)"`

	GridStep   float64  `toml:"grid_step" min:"0" unit:"m" doc:"metres between ground grid lines through the origin; 0 draws none"`
	GridExtent float64  `toml:"grid_extent" min:">0" unit:"m" doc:"perspective: the grid covers [−grid_extent, grid_extent] in x and y (the BEV grid covers its ranges)"`
	GridZ      float64  `toml:"grid_z" finite:"true" doc:"height of the ground grid in the lidar frame (roof lidars sit about 1.7 m above the ground)"`
	GridColor  [3]uint8 `toml:"grid_color" doc:"RGB colour of the grid"`
	AxisLength float64  `toml:"axis_length" min:"0" unit:"m" doc:"length in metres of the x (red), y (green), z (blue) axes at the origin; 0 draws none"`

	HUD bool `toml:"hud" doc:"draw a heads-up line at the bottom left: frames per second, DS3D::FrameNumber, DS3D::Timestamp (seconds), point and box counts (5×7 bitmap font at label_scale)"`

	AnalyticsKey string `toml:"analytics_key" doc:"key of the *ds3d.Analytics result of analytics_3d (filters/analytics): its zones (red while overcrowded) and lines (with an arrow to the positive side) are drawn on the ground (z = grid_z) of every lidar tile, over-speed and wrong-way objects get a 2 m tick; absent: nothing; empty: off"`
	AnalyticsHUD bool   `toml:"analytics_hud" doc:"write the analytics counts (per zone: inside, entries, exits; per line: crossings per direction) at the top left"`

	RenderGraph []Layout `toml:"render_graph" doc:"ensemble layout (ds3d's render_graph): tiles drawn in order, each into its own viewport; empty draws one view over the whole window from the keys above. See Layout"`
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
		Filename: "frame_%06d.png", PNGCompress: "fast", VideoFPS: 10,
		LidarKey: string(ds3d.KeyLidarXYZI), BoxKey: string(ds3d.KeyLidar3DBboxRawData),
		ColorBy: string(raster.ColorIntensity), LidarColor: [3]uint8{255, 255, 255},
		PointSize: 2, LineWidth: 2, BoxesOnTop: true, Labels: true, LabelScale: 1,
		ViewPosition: [3]float64{-12, 0, 8}, ViewTarget: [3]float64{15, 0, -1}, ViewUp: [3]float64{0, 0, 1},
		PerspectiveNear: 0.1, PerspectiveFar: 300, PerspectiveFov: 60,
		XRange: [2]float64{-40, 40}, YRange: [2]float64{-40, 40}, ZRange: [2]float64{-3, 5},
		ColorCoordKey: string(ds3d.KeyPointColorCoord), ColorCoordUnits: "normalized", ColorFrameKey: string(ds3d.KeyColorFrame),
		GridStep: 10, GridExtent: 80, GridZ: -1.7, GridColor: [3]uint8{48, 48, 48}, AxisLength: 2,
		AnalyticsKey: string(ds3d.KeyAnalytics), AnalyticsHUD: true,
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
	case c.GridStep > 0 && c.GridExtent/c.GridStep > 1000:
		return ds3d.ConfigErrorf("grid_extent", "must be at most 1000 grid steps, got %v", c.GridExtent)
	}
	if err := checkColor("", c.ColorBy, c.ValueRange, c); err != nil {
		return err
	}
	if err := checkFilename("filename", c.Filename); err != nil {
		return err
	}
	if err := c.checkVideo(); err != nil {
		return err
	}
	if err := checkView("", c.View, c.XRange, c.YRange, c.ZRange, c.ViewPosition, c.ViewTarget, c.ViewUp, c.PerspectiveNear, c.PerspectiveFar); err != nil {
		return err
	}
	for i := range c.RenderGraph {
		if err := validateLayout(&c.RenderGraph[i], fmt.Sprintf("render_graph[%d].", i), c); err != nil {
			return err
		}
	}
	return nil
}

// Formats of output_video, by extension.
const (
	videoMP4 = ".mp4"
	videoAVI = ".avi"
)

// videoFormat is output_video's extension in lower case.
func (c *Config) videoFormat() string { return strings.ToLower(filepath.Ext(string(c.OutputVideo))) }

// checkVideo checks output_video and video_fps; H.264 in yuv420p halves
// the chroma resolution, so an MP4 needs an even frame size.
func (c *Config) checkVideo() error {
	if c.OutputVideo == "" {
		return nil
	}
	switch f := c.videoFormat(); {
	case f != videoMP4 && f != videoAVI:
		return ds3d.ConfigErrorf("output_video", "must end in .mp4 (H.264 through ffmpeg) or .avi (Motion-JPEG), got %q", c.OutputVideo)
	case f == videoMP4 && c.WindowWidth%2 != 0:
		return ds3d.ConfigErrorf("window_width", "must be even for an H.264 output_video (yuv420p), got %d", c.WindowWidth)
	case f == videoMP4 && c.WindowHeight%2 != 0:
		return ds3d.ConfigErrorf("window_height", "must be even for an H.264 output_video (yuv420p), got %d", c.WindowHeight)
	}
	return nil
}

// checkColor checks what a colour mode (one of color_by's enum) needs and
// its value range; prefix names the layout the keys belong to.
func checkColor(prefix, mode string, vr [2]float64, c *Config) error {
	if mode == ColorRGB {
		switch {
		case c.ColorCoordKey == "":
			return ds3d.ConfigErrorf("color_coord_key", "color_by = \"rgb\" needs the colour coordinates' key")
		case c.ColorFrameKey == "":
			return ds3d.ConfigErrorf("color_frame_key", "color_by = \"rgb\" needs the colour image's key")
		}
	}
	if vr != ([2]float64{}) && !(vr[1] > vr[0] && finite(vr[1]-vr[0])) {
		return ds3d.ConfigErrorf(prefix+"value_range", "must be [low, high] with low < high, got %v", vr)
	}
	return nil
}

// checkView checks the keys a view needs: the ranges of an orthographic
// view, the camera of a perspective one.
func checkView(prefix, view string, xr, yr, zr [2]float64, pos, target, up [3]float64, near, far float64) error {
	type rng struct {
		key string
		v   [2]float64
	}
	var rs []rng
	switch view {
	case ViewBEV:
		rs = []rng{{"x_range", xr}, {"y_range", yr}}
	case ViewFront:
		rs = []rng{{"x_range", xr}, {"y_range", yr}, {"z_range", zr}}
	}
	if rs != nil {
		for _, r := range rs {
			if !(r.v[1] > r.v[0]) || !finite(r.v[1]-r.v[0]) {
				return ds3d.ConfigErrorf(prefix+r.key, "must be [min, max] with min < max, got %v", r.v)
			}
		}
		return nil
	}
	for _, v := range []struct {
		key string
		v   [3]float64
	}{{"view_position", pos}, {"view_target", target}, {"view_up", up}} {
		if !finite(v.v[:]...) {
			return ds3d.ConfigErrorf(prefix+v.key, "must be finite, got %v", v.v)
		}
	}
	f := sub3(target, pos)
	if norm3(f) == 0 {
		return ds3d.ConfigErrorf(prefix+"view_target", "must differ from view_position %v", pos)
	}
	if n := norm3(cross3(f, up)); !(n > 1e-9*norm3(f)*norm3(up)) {
		return ds3d.ConfigErrorf(prefix+"view_up", "must not be zero or parallel to the viewing direction, got %v", up)
	}
	return checkPerspective(prefix, near, far)
}

// checkPerspective checks far against near; their tags (and the
// top-level's, which a tile's 0 takes) bound each of them.
func checkPerspective(prefix string, near, far float64) error {
	if !(far > near) {
		return ds3d.ConfigErrorf(prefix+"perspective_far", "must be greater than perspective_near (%v), got %v", near, far)
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
		`OpenGL viewer (GLFW, OpenGL 3.3 core): draws each datamap's lidar points (coloured by intensity, height, range, depth, a fixed colour or the RGB of a colour image for RGB-D clouds), 3D boxes as wireframes with a front-face cross and labels, a ground grid and axes, in a perspective 3D view or an orthographic bird's-eye or front view (render/raster's BEV convention), with an optional HUD. An ensemble render_graph (ds3d's) tiles the window: texture3d_render tiles show a camera image with the lidar points and boxes projected through the camera's calibration, lidar3d_render tiles a 3D, top or front view. Shows a window (mouse orbit/pan/zoom, keys: R reset, space pause, N step, S screenshot, Esc close) or, with headless = true, renders offscreen under an X server such as Xvfb; writes PNG frames to output_dir and an H.264 MP4 (ffmpeg) or Motion-JPEG AVI to output_video when set.`,
		NewConfig,
		newComponent)
}

// newComponent is gl_render's factory: the renderer, wrapped in a
// VideoRenderer when output_video is set (video.go; without cgo
// NewRenderer already fails).
func newComponent(c *Config, env *ds3d.Env) (any, error) {
	r, err := NewRenderer(c, env)
	if err != nil {
		return nil, err
	}
	if c.OutputVideo != "" && wrapVideo != nil {
		return wrapVideo(r), nil
	}
	return r, nil
}
