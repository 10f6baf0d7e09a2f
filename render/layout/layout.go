// Package layout is the ensemble render_graph shared by gl_render and
// raster_render (after ds3d's gles_3d_ensemble_render): the tile type with
// its TOML keys, the pixel rectangle of a tile and the checks every
// renderer makes of a tile, so that one render_graph means the same
// picture whichever renderer draws it. Renderer-specific checks (which
// views and colour modes a renderer draws) stay with the renderer.
package layout

import (
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Render types of a Tile, ds3d's ensemble render items.
const (
	Texture3D = "texture3d_render" // a camera image, with lidar points and boxes projected into it
	Lidar3D   = "lidar3d_render"   // a 3D, top or front view of the lidar points and boxes
)

// Tile is one tile of an ensemble render_graph: a texture3d_render tile
// shows the image under texture_frame_key stretched over the tile and,
// with project_lidar_to_image, the lidar points and box wireframes
// projected through the camera's intrinsics and lidar→camera extrinsic
// (box edges are clipped at perspective_near in front of the camera); a
// lidar3d_render tile is a perspective, top (bev) or front view — or, with
// project_lidar_to_image, the camera projection over whatever is beneath
// it (ds3d draws its camera tiles as a texture tile plus such a lidar tile
// with the same layout; one texture tile does both here).
//
// layout is [x0, y0, x1, y1] in fractions of the window with y down: the
// tile covers pixel columns [round(x0·W), round(x1·W)) and rows
// [round(y0·H), round(y1·H)) from the top (ds3d writes pixels; fractions
// keep a layout valid for any window size). Tiles may overlap; later ones
// draw over earlier ones. A key left empty (or a number left 0) takes the
// top-level config's value, so a render_graph states only what differs;
// per-tile point and box styles follow the same rule.
type Tile struct {
	Type   string     `toml:"type" enum:"texture3d_render|lidar3d_render" doc:"\"texture3d_render\" (camera image tile) or \"lidar3d_render\" (3D / top / front view tile)"`
	Layout [4]float64 `toml:"layout" min:"0" max:"1" doc:"[x0, y0, x1, y1]: the tile in fractions of the window (0..1, y down, x0 < x1, y0 < y1)"`
	Title  string     `toml:"title" doc:"text written at the tile's top-left corner (e.g. CAM_FRONT); empty writes none"`

	TextureFrameKey     string `toml:"texture_frame_key" doc:"texture3d_render: key of the RGB or RGBA u8 camera image (DS3D::ColorFrame_N, with the mixer's +P)"`
	ProjectLidarToImage bool   `toml:"project_lidar_to_image" doc:"project the lidar points and boxes into the image through intrinsics_mat_key and extrinsics_mat_key"`
	IntrinsicsKey       string `toml:"intrinsics_mat_key" doc:"key of the camera's ds3d.Intrinsics (DS3D::CamN_IntrinsicMatrix, as lidar_alignment_filter publishes it)"`
	ExtrinsicsKey       string `toml:"extrinsics_mat_key" doc:"key of the lidar→camera ds3d.Mat4 (DS3D::LidarToCamN_ExtrinsicMatrix; camera x right, y down, z forward)"`
	ImageWidth          int    `toml:"image_width" min:"0" max:"16384" doc:"camera image width in pixels for a projection without a texture (0: the intrinsics' width)"`
	ImageHeight         int    `toml:"image_height" min:"0" max:"16384" doc:"camera image height in pixels for a projection without a texture (0: the intrinsics' height)"`

	LidarKey   string     `toml:"lidar_data_key" doc:"key of the lidar frame drawn in this tile (empty: the top-level lidar_data_key)"`
	BoxKey     string     `toml:"lidar_bbox_key" doc:"key of the boxes drawn in this tile (empty: the top-level lidar_bbox_key)"`
	ColorBy    string     `toml:"color_by" enum:"|intensity|height|range|depth|fixed|rgb" doc:"point colours as the top-level color_by (empty: the top-level's; camera tiles default to depth; rgb is gl_render's only)"`
	ValueRange [2]float64 `toml:"value_range" doc:"colour map range (zero: the top-level's, or the mode's default)"`
	LidarColor [3]uint8   `toml:"lidar_color" doc:"colour of points with color_by = \"fixed\" (zero: the top-level's)"`
	PointSize  float64    `toml:"point_size" min:"0" max:"64" doc:"point size in pixels (0: the top-level's)"`
	NoLabels   bool       `toml:"disable_label" doc:"draw no box labels in this tile even when enable_label is set"`

	View            string     `toml:"view" enum:"|perspective|bev|front" doc:"lidar3d_render: perspective, bev or front (empty: the top-level view)"`
	ViewPosition    [3]float64 `toml:"view_position" doc:"perspective: camera position (zero: the top-level's view_position and view_target)"`
	ViewTarget      [3]float64 `toml:"view_target" doc:"perspective: point looked at, taken as given (the origin included) when view_position is set"`
	ViewUp          [3]float64 `toml:"view_up" doc:"perspective: up direction (zero: the top-level's)"`
	PerspectiveNear float64    `toml:"perspective_near" min:"0" unit:"m" doc:"perspective and camera projection: near clip plane in metres (0: the top-level's)"`
	PerspectiveFar  float64    `toml:"perspective_far" min:"0" unit:"m" doc:"perspective and camera projection: far clip plane in metres (0: the top-level's)"`
	PerspectiveFov  float64    `toml:"perspective_fov" min:"0" max:"<180" unit:"°" doc:"perspective: vertical field of view in degrees (0: the top-level's)"`
	XRange          [2]float64 `toml:"x_range" doc:"bev and front: x range in metres (zero: the top-level's)"`
	YRange          [2]float64 `toml:"y_range" doc:"bev and front: y range in metres (zero: the top-level's)"`
	ZRange          [2]float64 `toml:"z_range" doc:"front: z range in metres (zero: the top-level's)"`
}

// PixelRect returns a layout's pixel rectangle in a w×h window: columns
// [round(x0·w), round(x1·w)), rows [round(y0·h), round(y1·h)), as the
// top-left corner and the size.
func PixelRect(l [4]float64, w, h int) (x, y, tw, th int) {
	x0, x1 := int(math.Round(l[0]*float64(w))), int(math.Round(l[2]*float64(w)))
	y0, y1 := int(math.Round(l[1]*float64(h))), int(math.Round(l[3]*float64(h)))
	return x0, y0, x1 - x0, y1 - y0
}

// Check makes the checks every renderer makes of a tile in a w×h window
// beyond its tags (type, layout within [0, 1], sizes, views): the layout's
// order and at least a pixel, and the keys a texture tile and a projection
// need. p prefixes the keys of the errors ("render_graph[3].").
func (l *Tile) Check(p string, w, h int) error {
	g := l.Layout
	if !(g[0] < g[2]) || !(g[1] < g[3]) {
		return ds3d.ConfigErrorf(p+"layout", "must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1, got %v", g)
	}
	if _, _, tw, th := PixelRect(g, w, h); tw < 1 || th < 1 {
		return ds3d.ConfigErrorf(p+"layout", "%v is less than a pixel wide or high in a %d×%d window", g, w, h)
	}
	if l.Type == Texture3D && l.TextureFrameKey == "" {
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
	return nil
}

// Or returns v, or def when v is the zero value: a tile's key left empty
// takes the top-level config's.
func Or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
