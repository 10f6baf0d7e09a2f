package gl

import (
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/layout"
)

// Render types of a Layout, ds3d's ensemble render items.
const (
	RenderTexture3D = layout.Texture3D // a camera image, with lidar points and boxes projected into it
	RenderLidar3D   = layout.Lidar3D   // a 3D, top or front view of the lidar points and boxes
)

// Layout is one tile of an ensemble render_graph: render/layout's Tile,
// shared with raster_render. Here a texture3d_render tile's image is
// stretched over the tile with linear filtering and the projected points
// are z-buffered (nearest wins).
type Layout = layout.Tile

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

func or[T comparable](v, def T) T { return layout.Or(v, def) }

// resolve fills in the top-level values.
func resolve(l *Layout, c *Config) tileSpec {
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
	t.x, t.y, t.w, t.h = layout.PixelRect(l.Layout, c.WindowWidth, c.WindowHeight)
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
		out[i] = resolve(&c.RenderGraph[i], c)
	}
	return out
}

// validateLayout checks the layout; p prefixes its keys ("render_graph[3].").
func validateLayout(l *Layout, p string, c *Config) error {
	if err := l.Check(p, c.WindowWidth, c.WindowHeight); err != nil {
		return err
	}
	t := resolve(l, c)
	if err := checkColor(p, t.colorBy, t.valueRange, c); err != nil {
		return err
	}
	if t.project {
		return checkPerspective(p, t.near, t.far)
	}
	if l.Type == RenderLidar3D {
		return checkView(p, t.view, t.xr, t.yr, t.zr, t.pos, t.target, t.up, t.near, t.far)
	}
	return nil
}
