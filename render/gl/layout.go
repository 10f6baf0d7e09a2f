package gl

import (
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Render types of a Layout, ds3d's ensemble render items.
const (
	RenderTexture3D = "texture3d_render" // a camera image, with lidar points and boxes projected into it
	RenderLidar3D   = "lidar3d_render"   // a 3D, top or front view of the lidar points and boxes
)

// Layout is one tile of an ensemble render_graph, after ds3d's
// gles_3d_ensemble_render: a texture3d_render tile shows the image under
// texture_frame_key stretched over the tile and, with
// project_lidar_to_image, the lidar points (z-buffered, nearest wins) and
// box wireframes projected through the camera's intrinsics and lidar→camera
// extrinsic (box edges are clipped at perspective_near in front of the
// camera); a lidar3d_render tile is a perspective, top (bev) or front view
// — or, with project_lidar_to_image, the camera projection over whatever
// is beneath it (ds3d draws its camera tiles as a texture tile plus such a
// lidar tile with the same layout; one texture tile does both here).
//
// layout is [x0, y0, x1, y1] in fractions of the window with y down: the
// tile covers pixel columns [round(x0·W), round(x1·W)) and rows
// [round(y0·H), round(y1·H)) from the top (ds3d writes pixels; fractions
// keep a layout valid for any window size). Tiles may overlap; later ones
// draw over earlier ones. A key left empty (or a number left 0) takes the
// top-level config's value, so a render_graph states only what differs;
// per-tile point and box styles follow the same rule.
type Layout struct {
	Type   string     `toml:"type" doc:"\"texture3d_render\" (camera image tile) or \"lidar3d_render\" (3D / top / front view tile)"`
	Layout [4]float64 `toml:"layout" doc:"[x0, y0, x1, y1]: the tile in fractions of the window (0..1, y down, x0 < x1, y0 < y1)"`
	Title  string     `toml:"title" doc:"text written at the tile's top-left corner (e.g. CAM_FRONT); empty writes none"`

	TextureFrameKey     string `toml:"texture_frame_key" doc:"texture3d_render: key of the RGB or RGBA u8 camera image (DS3D::ColorFrame_N, with the mixer's +P)"`
	ProjectLidarToImage bool   `toml:"project_lidar_to_image" doc:"project the lidar points and boxes into the image through intrinsics_mat_key and extrinsics_mat_key"`
	IntrinsicsKey       string `toml:"intrinsics_mat_key" doc:"key of the camera's ds3d.Intrinsics (DS3D::CamN_IntrinsicMatrix, as lidar_alignment_filter publishes it)"`
	ExtrinsicsKey       string `toml:"extrinsics_mat_key" doc:"key of the lidar→camera ds3d.Mat4 (DS3D::LidarToCamN_ExtrinsicMatrix; camera x right, y down, z forward)"`
	ImageWidth          int    `toml:"image_width" doc:"camera image width in pixels for a projection without a texture (0: the intrinsics' width)"`
	ImageHeight         int    `toml:"image_height" doc:"camera image height in pixels for a projection without a texture (0: the intrinsics' height)"`

	LidarKey   string     `toml:"lidar_data_key" doc:"key of the lidar frame drawn in this tile (empty: the top-level lidar_data_key)"`
	BoxKey     string     `toml:"lidar_bbox_key" doc:"key of the boxes drawn in this tile (empty: the top-level lidar_bbox_key)"`
	ColorBy    string     `toml:"color_by" doc:"point colours as the top-level color_by (empty: the top-level's; camera tiles default to depth)"`
	ValueRange [2]float64 `toml:"value_range" doc:"colour map range (zero: the top-level's, or the mode's default)"`
	LidarColor [3]uint8   `toml:"lidar_color" doc:"colour of points with color_by = \"fixed\" (zero: the top-level's)"`
	PointSize  float64    `toml:"point_size" doc:"point size in pixels (0: the top-level's)"`
	NoLabels   bool       `toml:"disable_label" doc:"draw no box labels in this tile even when enable_label is set"`

	View            string     `toml:"view" doc:"lidar3d_render: perspective, bev or front (empty: the top-level view)"`
	ViewPosition    [3]float64 `toml:"view_position" doc:"perspective: camera position (zero: the top-level's view_position and view_target)"`
	ViewTarget      [3]float64 `toml:"view_target" doc:"perspective: point looked at, taken as given (the origin included) when view_position is set"`
	ViewUp          [3]float64 `toml:"view_up" doc:"perspective: up direction (zero: the top-level's)"`
	PerspectiveNear float64    `toml:"perspective_near" doc:"perspective and camera projection: near clip plane in metres (0: the top-level's)"`
	PerspectiveFar  float64    `toml:"perspective_far" doc:"perspective and camera projection: far clip plane in metres (0: the top-level's)"`
	PerspectiveFov  float64    `toml:"perspective_fov" doc:"perspective: vertical field of view in degrees (0: the top-level's)"`
	XRange          [2]float64 `toml:"x_range" doc:"bev and front: x range in metres (zero: the top-level's)"`
	YRange          [2]float64 `toml:"y_range" doc:"bev and front: y range in metres (zero: the top-level's)"`
	ZRange          [2]float64 `toml:"z_range" doc:"front: z range in metres (zero: the top-level's)"`
}

// tileSpec is a layout resolved against the top-level config: every value
// it draws with, and its pixel rectangle (top-left origin).
type tileSpec struct {
	texture, project, labels, grid bool
	x, y, w, h                     int // pixels, top-left origin

	title                     string
	frameKey, intrKey, extKey ds3d.Key
	lidarKey, boxKey          ds3d.Key
	imgW, imgH                int
	colorBy                   string
	valueRange                [2]float64
	lidarColor                [3]uint8
	pointSize                 float64
	view                      string
	pos, target, up           [3]float64
	near, far, fov            float64
	xr, yr, zr                [2]float64
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// pixelRect returns a layout's pixel rectangle in a w×h window.
func pixelRect(l [4]float64, w, h int) (x, y, tw, th int) {
	x0, x1 := int(math.Round(l[0]*float64(w))), int(math.Round(l[2]*float64(w)))
	y0, y1 := int(math.Round(l[1]*float64(h))), int(math.Round(l[3]*float64(h)))
	return x0, y0, x1 - x0, y1 - y0
}

// resolve fills in the top-level values.
func (l *Layout) resolve(c *Config) tileSpec {
	t := tileSpec{
		texture: l.Type == RenderTexture3D, project: l.ProjectLidarToImage,
		labels: c.Labels && !l.NoLabels, title: l.Title,
		frameKey: ds3d.Key(l.TextureFrameKey), intrKey: ds3d.Key(l.IntrinsicsKey), extKey: ds3d.Key(l.ExtrinsicsKey),
		lidarKey: ds3d.Key(or(l.LidarKey, c.LidarKey)), boxKey: ds3d.Key(or(l.BoxKey, c.BoxKey)),
		imgW: l.ImageWidth, imgH: l.ImageHeight,
		valueRange: or(l.ValueRange, c.ValueRange), lidarColor: or(l.LidarColor, c.LidarColor),
		pointSize: or(l.PointSize, c.PointSize),
		view:      or(l.View, c.View), pos: or(l.ViewPosition, c.ViewPosition), target: or(l.ViewTarget, c.ViewTarget),
		up: or(l.ViewUp, c.ViewUp), near: or(l.PerspectiveNear, c.PerspectiveNear), far: or(l.PerspectiveFar, c.PerspectiveFar),
		fov: or(l.PerspectiveFov, c.PerspectiveFov), xr: or(l.XRange, c.XRange), yr: or(l.YRange, c.YRange), zr: or(l.ZRange, c.ZRange),
	}
	if l.ViewPosition != ([3]float64{}) { // a camera of its own: the target (the origin too) as given
		t.pos, t.target = l.ViewPosition, l.ViewTarget
	}
	t.colorBy = l.ColorBy
	if t.colorBy == "" {
		t.colorBy = c.ColorBy
		if t.project {
			t.colorBy = ColorDepth
		}
	}
	if l.ValueRange == ([2]float64{}) && t.colorBy != c.ColorBy {
		t.valueRange = [2]float64{} // another mode than the top level's: the mode's default range
	}
	t.grid = !t.texture && !t.project
	t.x, t.y, t.w, t.h = pixelRect(l.Layout, c.WindowWidth, c.WindowHeight)
	return t
}

// mainTile is the single view of a config without a render_graph.
func mainTile(c *Config) tileSpec {
	return tileSpec{
		labels: c.Labels, grid: true, lidarKey: ds3d.Key(c.LidarKey), boxKey: ds3d.Key(c.BoxKey),
		colorBy: c.ColorBy, valueRange: c.ValueRange, lidarColor: c.LidarColor, pointSize: c.PointSize,
		view: c.View, pos: c.ViewPosition, target: c.ViewTarget, up: c.ViewUp,
		near: c.PerspectiveNear, far: c.PerspectiveFar, fov: c.PerspectiveFov, xr: c.XRange, yr: c.YRange, zr: c.ZRange,
		w: c.WindowWidth, h: c.WindowHeight,
	}
}

// tiles returns the config's tiles: its render_graph, or one view over the
// whole window.
func (c *Config) tiles() []tileSpec {
	if len(c.RenderGraph) == 0 {
		return []tileSpec{mainTile(c)}
	}
	out := make([]tileSpec, len(c.RenderGraph))
	for i := range c.RenderGraph {
		out[i] = c.RenderGraph[i].resolve(c)
	}
	return out
}

// validate checks the layout; p prefixes its keys ("render_graph[3].").
func (l *Layout) validate(p string, c *Config) error {
	if l.Type != RenderTexture3D && l.Type != RenderLidar3D {
		return ds3d.ConfigErrorf(p+"type", "must be %q or %q, got %q", RenderTexture3D, RenderLidar3D, l.Type)
	}
	g := l.Layout
	if !finite(g[:]...) || g[0] < 0 || g[1] < 0 || g[2] > 1 || g[3] > 1 || !(g[0] < g[2]) || !(g[1] < g[3]) {
		return ds3d.ConfigErrorf(p+"layout", "must be [x0, y0, x1, y1] within [0, 1] with x0 < x1 and y0 < y1, got %v", g)
	}
	if _, _, w, h := pixelRect(g, c.WindowWidth, c.WindowHeight); w < 1 || h < 1 {
		return ds3d.ConfigErrorf(p+"layout", "%v is less than a pixel wide or high in a %d×%d window", g, c.WindowWidth, c.WindowHeight)
	}
	if l.Type == RenderTexture3D && l.TextureFrameKey == "" {
		return ds3d.ConfigErrorf(p+"texture_frame_key", "a texture3d_render tile needs the key of its image")
	}
	if l.ProjectLidarToImage {
		switch {
		case l.IntrinsicsKey == "":
			return ds3d.ConfigErrorf(p+"intrinsics_mat_key", "project_lidar_to_image needs the camera's intrinsics key")
		case l.ExtrinsicsKey == "":
			return ds3d.ConfigErrorf(p+"extrinsics_mat_key", "project_lidar_to_image needs the lidar→camera extrinsic key")
		}
	}
	if l.ImageWidth < 0 || l.ImageHeight < 0 || l.ImageWidth > maxSide || l.ImageHeight > maxSide {
		return ds3d.ConfigErrorf(p+"image_width", "image_width and image_height must be 0..%d, got %d×%d", maxSide, l.ImageWidth, l.ImageHeight)
	}
	if !(l.PointSize >= 0 && l.PointSize <= 64) {
		return ds3d.ConfigErrorf(p+"point_size", "must be in [0, 64] pixels, got %v", l.PointSize)
	}
	t := l.resolve(c)
	if err := checkColor(p, t.colorBy, t.valueRange, c); err != nil {
		return err
	}
	if t.project {
		return checkPerspective(p, t.near, t.far, 90)
	}
	if l.Type == RenderLidar3D {
		switch t.view {
		case ViewPerspective, ViewBEV, ViewFront:
		default:
			return ds3d.ConfigErrorf(p+"view", "must be %q, %q or %q, got %q", ViewPerspective, ViewBEV, ViewFront, t.view)
		}
		return checkView(p, t.view, t.xr, t.yr, t.zr, t.pos, t.target, t.up, t.near, t.far, t.fov)
	}
	return nil
}
