package osd

import (
	"context"
	"fmt"
	"image/color"
	"strconv"
	"unsafe"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config configures osd, the nvdsosd-style drawing filter.
type Config struct {
	Cameras      int        `toml:"cameras" min:"1" doc:"number of frames per datamap: frame_key_N/objects_key_N for N < cameras (1: the keys without suffix)"`
	FrameKey     string     `toml:"frame_key" nonempty:"true" doc:"key of the RGB/RGBA u8 frame drawn into (in place)"`
	ObjectsKey   string     `toml:"objects_key" doc:"key of the []Object2D to draw; absent: no boxes"`
	BorderWidth  int        `toml:"border_width" min:"0" max:"64" doc:"box outline thickness in pixels, drawn inside the box"`
	ShowLabel    bool       `toml:"display_text" doc:"draw a label above each box: class label (or id), score and track id"`
	ShowScore    bool       `toml:"display_score" doc:"include the detector score in the label"`
	FontScale    int        `toml:"font_scale" min:"1" max:"16" doc:"size of a font pixel (the built-in font is 5×7)"`
	TrailLength  int        `toml:"trail_length" min:"0" max:"10000" doc:"box centres kept per track id and drawn as a trail; 0 draws none"`
	TrailWidth   int        `toml:"trail_width" min:"1" doc:"trail line width in pixels"`
	ColorByTrack bool       `toml:"color_by_track" doc:"colour tracked boxes by track id instead of class"`
	Palette      [][3]uint8 `toml:"palette" doc:"RGB colour per class id (or track id); empty: core2d/draw's default palette"`
	MaskKey      string     `toml:"mask_key" doc:"key of a [H,W] u8 frame (tensor or custom) of class ids, blended over the frame where non-zero, stretched to the frame; empty: none"`
	MaskAlpha    float64    `toml:"mask_alpha" min:"0" max:"1" doc:"opacity of the mask colours, 0..1"`
	PointsKey    string     `toml:"points_key" doc:"key of an [N,2] (u, v) or [N,3] (u, v, depth) f32 frame of projected lidar points in frame pixels; empty: none"`
	PointsUnits  string     `toml:"points_units" enum:"pixels|normalized" doc:"u, v units: pixels, or normalized (0..1 of the frame size)"`
	PointSize    int        `toml:"point_size" min:"1" max:"64" doc:"side of the square drawn per point, pixels"`
	DepthRange   [2]float64 `toml:"depth_range" doc:"depth mapped onto the colour map: near (red) to far (blue), metres"`
	PointColor   [3]uint8   `toml:"point_color" doc:"RGB of points without depth"`
	AnalyticsKey string     `toml:"analytics_key" doc:"key of the *ds3d.Analytics result (filters/analytics; with cameras > 1: key_N): its pixel-space zones and lines are drawn under the boxes, flagged objects (over-speed, wrong-way) outlined in red or magenta with their speed, and the counts in a HUD; absent: nothing drawn; empty: off"`
	ZoneAlpha    float64    `toml:"zone_alpha" min:"0" max:"1" doc:"opacity of the analytics zones' fill, 0 (outline only) .. 1"`
	AnalyticsHUD bool       `toml:"analytics_hud" doc:"write the analytics counts (per zone: inside, entries, exits; per line: crossings per direction) in the top-left corner"`
}

// DefaultConfig returns the defaults: labelled boxes 2 px wide, trails of
// 30 centres.
func DefaultConfig() Config {
	return Config{Cameras: 1, FrameKey: string(ds3d.KeyColorFrame), ObjectsKey: string(ds3d.KeyObject2DBbox),
		BorderWidth: 2, ShowLabel: true, ShowScore: true, FontScale: 1, TrailLength: 30, TrailWidth: 2,
		ColorByTrack: true, MaskAlpha: 0.4, PointsUnits: "pixels", PointSize: 2, DepthRange: [2]float64{2, 60},
		PointColor: [3]uint8{255, 255, 0}, AnalyticsKey: string(ds3d.KeyAnalytics), ZoneAlpha: 0.25, AnalyticsHUD: true}
}

// Validate checks the config.
func (c *Config) Validate() error {
	if !(c.DepthRange[1] > c.DepthRange[0]) {
		return ds3d.ConfigErrorf("depth_range", "far (%v) must exceed near (%v)", c.DepthRange[1], c.DepthRange[0])
	}
	return nil
}

// trailKey names one track: its stream and id.
type trailKey struct {
	src int32
	id  int64
}

// trail holds the last centres of one track, oldest first.
type trail struct {
	pts  [][2]int
	seen uint64 // frame counter when last updated
}

// OSD draws objects, trails, masks and points onto frames (nvdsosd).
type OSD struct {
	cfg     Config
	keys    [][2]ds3d.Key
	mask    []ds3d.Key
	points  []ds3d.Key
	anKeys  []ds3d.Key
	overlay *AnalyticsOverlay
	palette []color.RGBA
	text    TextDrawer
	trails  map[trailKey]*trail
	frame   uint64
	label   []byte
}

// New returns an OSD for cfg (validated here).
func New(cfg Config) (*OSD, error) {
	if err := ds3d.CheckConfig(&cfg); err != nil {
		return nil, err
	}
	o := &OSD{cfg: cfg, trails: map[trailKey]*trail{}, overlay: NewAnalyticsOverlay()}
	o.overlay.ZoneAlpha = uint8(cfg.ZoneAlpha*255 + 0.5)
	o.overlay.FontScale = cfg.FontScale
	o.overlay.Width = max(cfg.BorderWidth, 1)
	for _, p := range cfg.Palette {
		o.palette = append(o.palette, color.RGBA{p[0], p[1], p[2], 255})
	}
	if len(o.palette) == 0 {
		o.palette = draw.DefaultPalette
	}
	for n := 0; n < cfg.Cameras; n++ {
		f, ob := ds3d.Key(cfg.FrameKey), ds3d.Key(cfg.ObjectsKey)
		m, p, an := ds3d.Key(cfg.MaskKey), ds3d.Key(cfg.PointsKey), ds3d.Key(cfg.AnalyticsKey)
		if cfg.Cameras > 1 {
			f, ob, m, p, an = f.Sensor(n), ob.Sensor(n), m.Sensor(n), p.Sensor(n), an.Sensor(n)
		}
		o.anKeys = append(o.anKeys, an)
		o.keys = append(o.keys, [2]ds3d.Key{f, ob})
		o.mask = append(o.mask, m)
		o.points = append(o.points, p)
	}
	return o, nil
}

// Color returns the colour an object is drawn in: by track id when
// color_by_track is set and the object is tracked, else by class.
func (o *OSD) Color(ob *ds3d.Object2D) color.RGBA {
	if o.cfg.ColorByTrack && ob.TrackID >= 0 {
		return o.palette[ob.TrackID%int64(len(o.palette))]
	}
	return draw.BoxColor([4]uint8{}, ob.ClassID, o.palette)
}

// Draw paints objs (and their trails) onto c. Objects are in c's pixels.
func (o *OSD) Draw(c Canvas, objs []ds3d.Object2D) {
	o.frame++
	for i := range objs {
		ob := &objs[i]
		col := o.Color(ob)
		x0, y0, x1, y1 := BoxPixels(*ob)
		if o.cfg.BorderWidth > 0 {
			c.Rect(x0, y0, x1, y1, o.cfg.BorderWidth, col)
		}
		if o.cfg.TrailLength > 0 && ob.TrackID >= 0 {
			o.drawTrail(c, ob, (x0+x1)/2, (y0+y1)/2, col)
		}
		if o.cfg.ShowLabel {
			s := o.labelText(ob)
			_, h := TextSize(s, o.cfg.FontScale)
			ty := y0 - h - 1
			if ty < 0 {
				ty = y0 // no room above: inside the box
			}
			o.text.Label(c, x0, ty, s, o.cfg.FontScale, color.RGBA{0, 0, 0, 255}, col)
		}
	}
	// Tracks not seen for a trail's length of frames are forgotten.
	if o.frame%64 == 0 {
		for k, t := range o.trails {
			if o.frame-t.seen > uint64(o.cfg.TrailLength)+64 {
				delete(o.trails, k)
			}
		}
	}
}

func (o *OSD) labelText(ob *ds3d.Object2D) string {
	b := o.label[:0]
	if ob.Label != "" {
		b = append(b, ob.Label...)
	} else {
		b = strconv.AppendInt(b, int64(ob.ClassID), 10)
	}
	if o.cfg.ShowScore {
		b = append(b, ' ')
		b = strconv.AppendFloat(b, float64(ob.Score), 'f', 2, 32)
	}
	if ob.TrackID >= 0 {
		b = append(b, " #"...)
		b = strconv.AppendInt(b, ob.TrackID, 10)
	}
	o.label = b
	// A view of the reused buffer, not a copy: the text is drawn and
	// measured before the next label overwrites it, and never kept.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (o *OSD) drawTrail(c Canvas, ob *ds3d.Object2D, cx, cy int, col color.RGBA) {
	k := trailKey{ob.SourceID, ob.TrackID}
	t := o.trails[k]
	if t == nil {
		t = &trail{pts: make([][2]int, 0, o.cfg.TrailLength)}
		o.trails[k] = t
	}
	t.seen = o.frame
	if len(t.pts) == o.cfg.TrailLength {
		copy(t.pts, t.pts[1:])
		t.pts = t.pts[:len(t.pts)-1]
	}
	t.pts = append(t.pts, [2]int{cx, cy})
	for i := 1; i < len(t.pts); i++ {
		c.Line(t.pts[i-1][0], t.pts[i-1][1], t.pts[i][0], t.pts[i][1], o.cfg.TrailWidth, col)
	}
}

// Process draws into each camera's frame and emits the datamap.
func (o *OSD) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	for n, k := range o.keys {
		f, err := in.Frame(k[0])
		if err != nil {
			return err
		}
		c, err := CanvasOf(f)
		if err != nil {
			return fmt.Errorf("%s: %w", k[0], err)
		}
		if o.cfg.MaskKey != "" {
			if err := o.drawMask(c, in, o.mask[n]); err != nil {
				return err
			}
		}
		if o.cfg.PointsKey != "" {
			if err := o.drawPoints(c, in, o.points[n]); err != nil {
				return err
			}
		}
		var an *ds3d.Analytics
		if o.cfg.AnalyticsKey != "" && in.Has(o.anKeys[n]) {
			if an, err = ds3d.Get[*ds3d.Analytics](in, o.anKeys[n]); err != nil {
				return err
			}
			o.overlay.DrawRules(c, an, ds3d.SpacePixels, Identity)
		}
		var objs []ds3d.Object2D
		if o.cfg.ObjectsKey != "" && in.Has(k[1]) {
			if objs, err = ds3d.Get[[]ds3d.Object2D](in, k[1]); err != nil {
				return err
			}
			o.Draw(c, objs)
		}
		if an != nil {
			o.drawFlags(c, an, objs)
			if o.cfg.AnalyticsHUD {
				o.overlay.DrawHUD(c, an, 4, 4)
			}
		}
	}
	return emit(in)
}

func (o *OSD) drawMask(c Canvas, in *ds3d.DataMap, k ds3d.Key) error {
	if !in.Has(k) {
		return nil
	}
	m, err := in.Frame(k)
	if err != nil {
		return err
	}
	if m.DType != ds3d.DTypeU8 || m.Shape.NumDims != 2 {
		return fmt.Errorf("%s: want an [H,W] u8 mask, got %s %s", k, m.DType, m.Shape)
	}
	h, w := m.Shape.D[0], m.Shape.D[1]
	a := uint8(o.cfg.MaskAlpha*255 + 0.5)
	// One pass per class present keeps the per-pixel loop branch-light.
	var seen [256]bool
	for _, v := range m.Data[:w*h] {
		seen[v] = true
	}
	for cls := 1; cls < 256; cls++ {
		if !seen[cls] {
			continue
		}
		col := o.palette[(cls-1)%len(o.palette)]
		if err := c.blendClass(m.Data[:w*h], w, h, uint8(cls), col, a); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// blendClass blends col over the pixels whose stretched mask value is cls.
func (c Canvas) blendClass(mask []byte, mw, mh int, cls uint8, col color.RGBA, alpha uint8) error {
	if len(mask) < mw*mh {
		return fmt.Errorf("mask of %d bytes is not %dx%d", len(mask), mw, mh)
	}
	a := uint32(alpha)
	for y := 0; y < c.Height; y++ {
		mrow := mask[(y*mh/c.Height)*mw:][:mw]
		for x := 0; x < c.Width; x++ {
			if mrow[x*mw/c.Width] != cls {
				continue
			}
			i := y*c.Pitch + x*c.BPP
			c.Pix[i] = blend(c.Pix[i], col.R, a)
			c.Pix[i+1] = blend(c.Pix[i+1], col.G, a)
			c.Pix[i+2] = blend(c.Pix[i+2], col.B, a)
		}
	}
	return nil
}

func (o *OSD) drawPoints(c Canvas, in *ds3d.DataMap, k ds3d.Key) error {
	if !in.Has(k) {
		return nil
	}
	p, err := in.Frame(k)
	if err != nil {
		return err
	}
	if p.DType != ds3d.DTypeF32 || p.Shape.NumDims != 2 || (p.Shape.D[1] != 2 && p.Shape.D[1] != 3) {
		return fmt.Errorf("%s: want [N,2] or [N,3] f32 points, got %s %s", k, p.DType, p.Shape)
	}
	stride := p.Shape.D[1]
	uvd := ds3d.AsFloat32(p)[:p.Shape.Elements()]
	if o.cfg.PointsUnits == "normalized" {
		// Scale a copy: the frame may be shared with other consumers.
		buf := make([]float32, len(uvd))
		for i := 0; i+stride <= len(uvd); i += stride {
			buf[i], buf[i+1] = uvd[i]*float32(c.Width), uvd[i+1]*float32(c.Height)
			if stride == 3 {
				buf[i+2] = uvd[i+2]
			}
		}
		uvd = buf
	}
	pc := o.cfg.PointColor
	c.Points(uvd, stride, o.cfg.PointSize, float32(o.cfg.DepthRange[0]), float32(o.cfg.DepthRange[1]), color.RGBA{pc[0], pc[1], pc[2], 255})
	return nil
}

func init() {
	ds3d.Register(ds3d.KindFilter, "osd",
		`Draws onto camera frames in place (DeepStream's nvdsosd): 2D boxes with labels in a built-in bitmap font (class, score, track id), trails of the last centres per track id, class masks blended with alpha, projected lidar points coloured by depth, and the analytics results (filters/analytics): zones and lines in pixels, over-speed and wrong-way objects with their speed, counts in a HUD.`,
		func() *Config { c := DefaultConfig(); return &c },
		func(c *Config, _ *ds3d.Env) (any, error) { return New(*c) })
}
