package raster

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/layout"
)

// RenderConfig configures raster_render.
type RenderConfig struct {
	View           string     `toml:"view" enum:"bev|camera" doc:"\"bev\" (top-down lidar view) or \"camera\" (points and boxes projected into camera image N)"`
	OutputDir      ds3d.Path  `toml:"output_dir" nonempty:"true" required:"true" doc:"folder the PNG files go to (created when missing)"`
	Filename       string     `toml:"filename" doc:"file name pattern with one integer verb for DS3D::FrameNumber (a running count when absent)"`
	LidarKey       string     `toml:"lidar_data_key" nonempty:"true" doc:"key of the [N,4] (or [N,3]) f32 lidar frame"`
	BoxKey         string     `toml:"lidar_bbox_key" doc:"key of the []Box3D boxes in the lidar frame; empty draws no boxes"`
	Camera         int        `toml:"camera" min:"0" doc:"camera view: index N of DS3D::ColorFrame_N, DS3D::CamN_IntrinsicMatrix and DS3D::LidarToCamN_ExtrinsicMatrix"`
	XRange         [2]float64 `toml:"x_range" doc:"BEV: forward range [min, max] in metres (lidar x, up in the image)"`
	YRange         [2]float64 `toml:"y_range" doc:"BEV: lateral range [min, max] in metres (lidar y, left in the image)"`
	Resolution     float64    `toml:"resolution" min:"0" unit:"m" doc:"BEV: metres per pixel; 0 takes width and height instead"`
	Width          int        `toml:"width" min:"0" max:"16384" doc:"BEV: image width in pixels when resolution is 0"`
	Height         int        `toml:"height" min:"0" max:"16384" doc:"BEV: image height in pixels when resolution is 0"`
	ColorBy        string     `toml:"color_by" enum:"|intensity|height|range|depth|fixed" doc:"point colours: intensity, height, range, depth (camera) or fixed (lidar_color); empty: intensity for bev, depth for camera"`
	ValueRange     [2]float64 `toml:"value_range" doc:"values mapped onto the colour map [low, high]; [0, 0] takes the mode's default (intensity 0–1, height −2.5–1.5 m, range/depth 0–60 m)"`
	LidarColor     [3]uint8   `toml:"lidar_color" doc:"RGB colour of points with color_by = \"fixed\""`
	PointSize      int        `toml:"point_size" min:"1" max:"64" doc:"points are point_size×point_size pixel squares"`
	ColorClear     [3]uint8   `toml:"color_clear" doc:"RGB background (BEV, and camera views without an image frame)"`
	GridStep       float64    `toml:"grid_step" min:"0" unit:"m" doc:"BEV: metres between ground grid lines; 0 draws none"`
	GridColor      [3]uint8   `toml:"grid_color" doc:"BEV: RGB colour of the grid"`
	EgoMarker      bool       `toml:"ego_marker" doc:"BEV: draw a triangle at the sensor origin pointing forward"`
	BoxThickness   int        `toml:"box_thickness" min:"1" max:"64" doc:"box line width in pixels"`
	Labels         bool       `toml:"labels" doc:"write each box's label, score and track id beside it"`
	LabelScale     int        `toml:"label_scale" min:"1" max:"16" doc:"label font scale (1: 5×7-pixel glyphs)"`
	Near           float64    `toml:"near" min:">0" unit:"m" doc:"camera: near plane in metres; closer points are dropped and box edges clipped"`
	PNGCompression string     `toml:"png_compression" enum:"default|fast|best|none" doc:"PNG compression: default, fast, best or none"`
	AnalyticsKey   string     `toml:"analytics_key" doc:"key of the *ds3d.Analytics result of analytics_3d (filters/analytics): its zones (filled and outlined) and lines (with an arrow to the positive side) are drawn over the BEV, or on the plane z = ground_z projected into the camera view, over-speed and wrong-way objects marked with their speed, and the counts in a HUD (render_graph: in bev and projecting tiles, no HUD); absent: nothing; empty: off"`
	ZoneAlpha      float64    `toml:"zone_alpha" min:"0" max:"1" doc:"opacity of the analytics zones' fill in the BEV, 0 (outline only) .. 1"`
	AnalyticsHUD   bool       `toml:"analytics_hud" doc:"write the analytics counts (per zone: inside, entries, exits; per line: crossings per direction) in the top-left corner"`
	GroundZ        float64    `toml:"ground_z" finite:"true" unit:"m" doc:"camera view: lidar-frame height of the ground the analytics zones and lines lie on"`

	// The ensemble: gl_render's render_graph, drawn without OpenGL.
	WindowWidth  int           `toml:"window_width" min:"1" max:"16384" doc:"render_graph: picture width in pixels (gl_render's key)"`
	WindowHeight int           `toml:"window_height" min:"1" max:"16384" doc:"render_graph: picture height in pixels (gl_render's key)"`
	ZRange       [2]float64    `toml:"z_range" doc:"render_graph front tiles: height range [min, max] in metres (lidar z, up in the image)"`
	RenderGraph  []layout.Tile `toml:"render_graph" doc:"ensemble layout with gl_render's tile keys (render/layout): texture3d_render tiles show a camera image scaled bilinearly over the tile with the points and boxes projected into it (project_lidar_to_image; points depth-tested, nearest wins), lidar3d_render tiles a bev or front view (perspective is gl_render's only); the picture is window_width × window_height in color_clear, view, resolution, width and height are then unused"`
}

// Validate checks the view, the output and the ranges.
func (c *RenderConfig) Validate() error {
	if err := checkFilename("filename", c.Filename, ".png"); err != nil {
		return err
	}
	if err := c.checkGraph(); err != nil {
		return err
	}
	if ColorMode(c.ColorBy) == ColorDepth && c.View != "camera" {
		return ds3d.ConfigErrorf("color_by", "depth needs view = \"camera\"; use range for a BEV")
	}
	if vr := c.ValueRange; vr != ([2]float64{}) && !(vr[1] > vr[0] && !math.IsInf(vr[1]-vr[0], 0)) {
		return ds3d.ConfigErrorf("value_range", "must be [low, high] with low < high, got %v", vr)
	}
	if c.View == "bev" {
		for _, r := range []struct {
			key string
			v   [2]float64
		}{{"x_range", c.XRange}, {"y_range", c.YRange}} {
			if !(r.v[1] > r.v[0]) || math.IsInf(r.v[1]-r.v[0], 0) {
				return ds3d.ConfigErrorf(r.key, "must be [min, max] with min < max, got %v", r.v)
			}
		}
		if c.Resolution == 0 && (c.Width <= 0 || c.Height <= 0) {
			return ds3d.ConfigErrorf("resolution", "is 0: give width and height (pixels) instead")
		}
		o := c.bevOptions()
		if w, h := o.Size(); w == 0 || h == 0 {
			return ds3d.ConfigErrorf("resolution", "x_range %v and y_range %v at %v m/pixel make no image of 1..%d pixels a side",
				c.XRange, c.YRange, c.Resolution, maxSide)
		}
	}
	return nil
}

// checkFilename checks a file name pattern: one integer verb, a name (not a
// path escaping the folder) and, when ext is not empty, that extension.
func checkFilename(key, pattern, ext string) error {
	a, b := fmt.Sprintf(pattern, 1), fmt.Sprintf(pattern, 2)
	if strings.Contains(a, "%!") || a == b {
		return ds3d.ConfigErrorf(key, "must hold one integer verb such as %%06d, got %q", pattern)
	}
	if filepath.IsAbs(a) || strings.HasPrefix(filepath.Clean(a), "..") {
		return ds3d.ConfigErrorf(key, "must be a name inside output_dir, got %q", pattern)
	}
	if ext != "" && !strings.EqualFold(filepath.Ext(a), ext) {
		return ds3d.ConfigErrorf(key, "must end in %s, got %q", ext, pattern)
	}
	return nil
}

var pngLevels = map[string]png.CompressionLevel{
	"default": png.DefaultCompression, "fast": png.BestSpeed, "best": png.BestCompression, "none": png.NoCompression,
}

func rgb(c [3]uint8) color.RGBA { return color.RGBA{c[0], c[1], c[2], 255} }

func (c *RenderConfig) pointStyle() PointStyle {
	return PointStyle{ColorBy: ColorMode(c.ColorBy), ValueRange: c.ValueRange, Color: rgb(c.LidarColor), Size: c.PointSize}
}

func (c *RenderConfig) boxStyle() BoxStyle {
	return BoxStyle{Thickness: c.BoxThickness, Labels: c.Labels, Scores: true, LabelScale: c.LabelScale}
}

func (c *RenderConfig) bevOptions() BEVOptions {
	return BEVOptions{
		XRange: c.XRange, YRange: c.YRange, Resolution: c.Resolution, Width: c.Width, Height: c.Height,
		Points: c.pointStyle(), Boxes: c.boxStyle(), Background: rgb(c.ColorClear),
		GridStep: c.GridStep, GridColor: rgb(c.GridColor), Ego: c.EgoMarker, EgoColor: color.RGBA{255, 255, 255, 255},
	}
}

// Renderer is raster_render: it draws each datamap as a BEV or camera view
// and writes it as a PNG file. The image, the file buffer and the PNG
// encoder's buffers are reused from frame to frame.
type Renderer struct {
	cfg     RenderConfig
	log     *slog.Logger
	bev     BEVOptions
	camOpts CameraOptions
	img     *image.RGBA
	enc     png.Encoder
	w       *bufio.Writer
	name    []byte
	count   int64
	written int64
	warned  map[ds3d.Key]bool
	// keys of the camera view
	imageKey, intrKey, extrKey ds3d.Key
	tiles                      []*tile // the render_graph
	overlay                    *osd.AnalyticsOverlay
	an                         *ds3d.Analytics // the ensemble's datamap's, while drawing it

	// The live preview (LatestImage): watched is when a viewer last
	// asked (unix ns), latest the copy it gets, copied when the render
	// goroutine last made one. Nobody watching costs one atomic load.
	watched atomic.Int64
	latest  atomic.Pointer[image.RGBA]
	copied  int64
}

// Preview pacing: a copy of the picture at most every previewEvery while
// someone asked within previewIdle.
const (
	previewEvery = 200 * time.Millisecond
	previewIdle  = 5 * time.Second
)

// LatestImage is a copy of a recent picture, for a live view such as the
// control plane's dashboard; nil until one is drawn after the first call.
// Calling it starts the copies: the render goroutine copies its picture at
// most every 200 ms while calls keep coming (within 5 s of the last), and
// never otherwise. The image is not modified afterwards; it is safe from
// any goroutine.
func (r *Renderer) LatestImage() image.Image {
	r.watched.Store(time.Now().UnixNano())
	if img := r.latest.Load(); img != nil {
		return img
	}
	return nil
}

// keepPreview copies the picture for LatestImage when a viewer wants one.
func (r *Renderer) keepPreview() {
	w := r.watched.Load()
	if w == 0 || r.img == nil {
		return
	}
	now := time.Now().UnixNano()
	if now-w > int64(previewIdle) || now-r.copied < int64(previewEvery) {
		return
	}
	r.copied = now
	b := r.img.Rect
	img := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		src := r.img.Pix[r.img.PixOffset(b.Min.X, b.Min.Y+y):]
		copy(img.Pix[y*img.Stride:y*img.Stride+4*b.Dx()], src[:4*b.Dx()])
	}
	r.latest.Store(img)
}

// NewRenderer builds a renderer from a validated config; env may be nil.
func NewRenderer(c *RenderConfig, env *ds3d.Env) (*Renderer, error) {
	r := &Renderer{cfg: *c, bev: c.bevOptions(), warned: map[ds3d.Key]bool{}}
	r.camOpts = CameraOptions{Points: c.pointStyle(), Boxes: c.boxStyle(), Near: c.Near}
	r.overlay = c.overlay()
	if env != nil {
		r.log = env.Log
	}
	r.enc = png.Encoder{CompressionLevel: pngLevels[c.PNGCompression], BufferPool: &pngPool{}}
	r.imageKey = ds3d.KeyColorFrame.Sensor(c.Camera)
	r.intrKey = ds3d.KeyCamIntrinsicMatrix.Sensor(c.Camera)
	r.extrKey = ds3d.KeyLidarToCamExtrinsic.Sensor(c.Camera)
	for i := range c.RenderGraph {
		r.tiles = append(r.tiles, c.resolveTile(&c.RenderGraph[i]))
	}
	return r, nil
}

// Start creates the output folder.
func (r *Renderer) Start(context.Context) error {
	return os.MkdirAll(string(r.cfg.OutputDir), 0o755)
}

// pngPool keeps the encoder's buffers between frames.
type pngPool struct{ b *png.EncoderBuffer }

func (p *pngPool) Get() *png.EncoderBuffer  { return p.b }
func (p *pngPool) Put(b *png.EncoderBuffer) { p.b = b }

// warn logs the first time key is missing (or unusable) and never again.
func (r *Renderer) warn(k ds3d.Key, msg string) {
	if r.warned[k] {
		return
	}
	r.warned[k] = true
	if r.log != nil {
		r.log.Warn(msg+"; further datamaps without it are skipped silently", "key", string(k))
	}
}

// lookup returns the value under k, warning once when it is absent; a
// value of the wrong type is an error.
func lookup[T any](r *Renderer, m *ds3d.DataMap, k ds3d.Key, what string) (T, bool, error) {
	var zero T
	if !m.Has(k) {
		r.warn(k, "no "+what+" in the datamap")
		return zero, false, nil
	}
	v, err := ds3d.Get[T](m, k)
	if err != nil {
		return zero, false, err
	}
	return v, true, nil
}

// Image is the picture of the last datamap drawn (nil before the first).
func (r *Renderer) Image() *image.RGBA { return r.img }

// Render draws in and writes its PNG.
func (r *Renderer) Render(_ context.Context, in *ds3d.DataMap) error {
	ok, err := r.Draw(in)
	if err != nil || !ok {
		return err
	}
	r.keepPreview()
	fn := r.count
	if n, err := in.Int64(ds3d.KeyFrameNumber); err == nil {
		fn = n
	}
	r.count++
	r.name = append(r.name[:0], r.cfg.OutputDir...)
	r.name = append(r.name, os.PathSeparator)
	r.name = fmt.Appendf(r.name, r.cfg.Filename, fn)
	f, err := os.Create(string(r.name))
	if err != nil {
		return err
	}
	if r.w == nil {
		r.w = bufio.NewWriterSize(f, 256<<10)
	} else {
		r.w.Reset(f)
	}
	err = r.enc.Encode(r.w, r.img)
	if err == nil {
		err = r.w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("raster_render %s: %w", r.name, err)
	}
	r.written++
	return nil
}

// Draw draws in into the renderer's image without writing it; ok is false
// when the datamap had nothing to draw (a camera view with neither image nor
// calibration). With a render_graph it draws every tile into one
// window_width × window_height picture.
func (r *Renderer) Draw(in *ds3d.DataMap) (ok bool, err error) {
	if len(r.tiles) > 0 {
		return true, r.drawEnsemble(in)
	}
	var pts []float32
	stride := 4
	f, have, err := lookup[*ds3d.Frame](r, in, ds3d.Key(r.cfg.LidarKey), "lidar frame")
	if err != nil {
		return false, err
	}
	if have {
		if f.Mem == ds3d.MemGPU || f.DType != ds3d.DTypeF32 || f.Shape.NumDims != 2 || (f.Shape.D[1] != 3 && f.Shape.D[1] != 4) {
			return false, fmt.Errorf("%s: want a CPU [N,4] or [N,3] f32 frame, got %s %s (%s)", r.cfg.LidarKey, f.DType, f.Shape, f.Mem)
		}
		pts, stride = ds3d.AsFloat32(f), f.Shape.D[1]
	}
	var boxes []ds3d.Box3D
	if r.cfg.BoxKey != "" {
		if boxes, _, err = lookup[[]ds3d.Box3D](r, in, ds3d.Key(r.cfg.BoxKey), "boxes"); err != nil {
			return false, err
		}
	}
	if r.cfg.View == "bev" {
		r.bev.Points.Stride = stride
		w, h := r.bev.Size()
		r.img = draw.EnsureRGBA(r.img, w, h)
		DrawBEV(r.img, pts, boxes, &r.bev)
		an, err := r.analytics(in)
		if an != nil {
			DrawAnalyticsBEV(r.img, an, &r.bev, r.overlay, r.cfg.AnalyticsHUD)
		}
		return err == nil, err
	}
	r.camOpts.Points.Stride = stride
	intr, haveIntr, err := lookup[ds3d.Intrinsics](r, in, r.intrKey, "camera intrinsics")
	if err != nil {
		return false, err
	}
	extr, haveExtr, err := lookup[ds3d.Mat4](r, in, r.extrKey, "lidar→camera extrinsics")
	if err != nil {
		return false, err
	}
	imgF, haveImg, err := lookup[*ds3d.Frame](r, in, r.imageKey, "camera image")
	if err != nil {
		return false, err
	}
	switch {
	case haveImg:
		if r.img, err = CopyFrame(r.img, imgF); err != nil {
			return false, fmt.Errorf("%s: %w", r.imageKey, err)
		}
	case haveIntr && intr.Width > 0 && intr.Height > 0 && intr.Width <= maxSide && intr.Height <= maxSide:
		r.img = draw.EnsureRGBA(r.img, intr.Width, intr.Height)
		draw.Fill(r.img, rgb(r.cfg.ColorClear))
	default:
		r.warn(r.imageKey, "no camera image and no image size in the intrinsics: datamap not drawn")
		return false, nil
	}
	if haveIntr && haveExtr {
		DrawCamera(r.img, pts, boxes, Camera{Intrinsics: intr, LidarToCam: extr}, &r.camOpts)
	}
	an, err := r.analytics(in)
	if an != nil {
		DrawAnalyticsCamera(r.img, an, Camera{Intrinsics: intr, LidarToCam: extr}, r.cfg.Near, r.cfg.GroundZ, r.overlay, r.cfg.AnalyticsHUD)
	}
	return err == nil, err
}

// analytics returns the datamap's analytics result, nil when off or absent
// (silently: most datamaps of most pipelines carry none).
func (r *Renderer) analytics(in *ds3d.DataMap) (*ds3d.Analytics, error) {
	if r.cfg.AnalyticsKey == "" || !in.Has(ds3d.Key(r.cfg.AnalyticsKey)) {
		return nil, nil
	}
	return ds3d.Get[*ds3d.Analytics](in, ds3d.Key(r.cfg.AnalyticsKey))
}

// Close reports how many files were written.
func (r *Renderer) Close() error {
	if r.log != nil {
		r.log.Info("wrote PNG frames", "frames", r.written, "dir", string(r.cfg.OutputDir))
	}
	return nil
}

// NewRenderConfig returns raster_render's defaults: an 800×800 BEV of ±40 m
// at 0.1 m per pixel, intensity colours, a 10 m grid, the ego marker,
// labelled 2-pixel boxes, and frame_%06d.png files; a render_graph draws
// into 1600×900.
func NewRenderConfig() *RenderConfig {
	return &RenderConfig{
		View: "bev", Filename: "frame_%06d.png",
		LidarKey: string(ds3d.KeyLidarXYZI), BoxKey: string(ds3d.KeyLidar3DBboxRawData),
		XRange: [2]float64{-40, 40}, YRange: [2]float64{-40, 40}, Resolution: 0.1,
		LidarColor: [3]uint8{255, 255, 255}, PointSize: 1,
		GridStep: 10, GridColor: [3]uint8{48, 48, 48}, EgoMarker: true,
		BoxThickness: 2, Labels: true, LabelScale: 1, Near: 0.1, PNGCompression: "fast",
		WindowWidth: 1600, WindowHeight: 900, ZRange: [2]float64{-3, 5},
		AnalyticsKey: string(ds3d.KeyAnalytics), ZoneAlpha: 0.25, AnalyticsHUD: true,
	}
}

func init() {
	ds3d.Register(ds3d.KindRender, "raster_render",
		`Draws each datamap's lidar points and 3D boxes without OpenGL — a top-down bird's-eye view, or projected into camera N's image through DS3D::CamN_IntrinsicMatrix and DS3D::LidarToCamN_ExtrinsicMatrix — and writes it as a PNG file per frame. A render_graph (gl_render's ensemble keys) tiles one picture with camera images carrying the projected points and boxes, and top or front views.`,
		NewRenderConfig,
		func(c *RenderConfig, env *ds3d.Env) (any, error) { return NewRenderer(c, env) })
}
