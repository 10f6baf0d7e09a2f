// Package v2xfusion holds the v2xfusion sample app's one component of its
// own, v2x_mosaic_render: the ds3d V2XFusion sample's 2×2 view of a batch
// of four roadside streams, drawn in pure Go — one bird's-eye-view tile per
// stream (points, detected boxes and, optionally, the DAIR-V2X labels of
// the frame) in a 2×2 mosaic written as a PNG per datamap. The app itself
// is config.toml beside this file; see README.md.
package v2xfusion

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"

	"github.com/ds3d-go/ds3d-go/datasets/dair"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

// Config configures v2x_mosaic_render.
type Config struct {
	OutputDir  ds3d.Path  `toml:"output_dir" required:"true" doc:"folder the PNG files go to (created when missing)"`
	Filename   string     `toml:"filename" doc:"file name pattern with one integer verb for DS3D::FrameNumber (a running count when absent)"`
	LidarKeys  []string   `toml:"lidar_data_keys" doc:"[N,4] f32 cloud of each tile, row by row (1 to 4 keys; 2 columns)"`
	BoxKeys    []string   `toml:"lidar_bbox_keys" doc:"[]Box3D boxes of each tile (same count as lidar_data_keys, or empty for none)"`
	LabelFile  ds3d.Path  `toml:"gt_label_file" doc:"optional DAIR-V2X label JSON drawn in every tile as grey boxes (the frame's ground truth)"`
	XRange     [2]float64 `toml:"x_range" doc:"forward range [min, max] in metres (lidar x, up in a tile)"`
	YRange     [2]float64 `toml:"y_range" doc:"lateral range [min, max] in metres (lidar y, left in a tile)"`
	Resolution float64    `toml:"resolution" doc:"metres per pixel of a tile"`
	Gap        int        `toml:"gap" doc:"pixels between tiles"`
	ColorBy    string     `toml:"color_by" doc:"point colours: intensity, height, range or fixed"`
	ValueRange [2]float64 `toml:"value_range" doc:"values mapped onto the colour map [low, high]; [0, 0] takes the mode's default"`
	PointSize  int        `toml:"point_size" doc:"points are point_size×point_size pixel squares"`
	GridStep   float64    `toml:"grid_step" doc:"metres between grid lines; 0 draws none"`
	BoxWidth   int        `toml:"box_thickness" doc:"box line width in pixels"`
	Labels     bool       `toml:"labels" doc:"write each detected box's label and score beside it"`
}

// Validate checks the tiles and the view.
func (c *Config) Validate() error {
	switch {
	case strings.TrimSpace(string(c.OutputDir)) == "":
		return ds3d.ConfigErrorf("output_dir", "must not be empty")
	case len(c.LidarKeys) < 1 || len(c.LidarKeys) > 4:
		return ds3d.ConfigErrorf("lidar_data_keys", "needs 1 to 4 keys, got %d", len(c.LidarKeys))
	case len(c.BoxKeys) != 0 && len(c.BoxKeys) != len(c.LidarKeys):
		return ds3d.ConfigErrorf("lidar_bbox_keys", "has %d keys for %d tiles", len(c.BoxKeys), len(c.LidarKeys))
	case !(c.XRange[1] > c.XRange[0]) || !(c.YRange[1] > c.YRange[0]) || math.IsInf(c.XRange[1]-c.XRange[0], 0) || math.IsInf(c.YRange[1]-c.YRange[0], 0):
		return ds3d.ConfigErrorf("x_range", "x_range %v and y_range %v must be [min, max] with min < max", c.XRange, c.YRange)
	case !(c.Resolution > 0) || (c.YRange[1]-c.YRange[0])/c.Resolution > 4096 || (c.XRange[1]-c.XRange[0])/c.Resolution > 4096:
		return ds3d.ConfigErrorf("resolution", "must be positive and give tiles of at most 4096 pixels a side, got %v", c.Resolution)
	case c.Gap < 0 || c.Gap > 256:
		return ds3d.ConfigErrorf("gap", "must be 0..256, got %d", c.Gap)
	case c.PointSize < 1 || c.PointSize > 16:
		return ds3d.ConfigErrorf("point_size", "must be 1..16, got %d", c.PointSize)
	case c.BoxWidth < 1 || c.BoxWidth > 16:
		return ds3d.ConfigErrorf("box_thickness", "must be 1..16, got %d", c.BoxWidth)
	case !(c.GridStep >= 0) || math.IsInf(c.GridStep, 0):
		return ds3d.ConfigErrorf("grid_step", "must be ≥ 0, got %v", c.GridStep)
	}
	switch raster.ColorMode(c.ColorBy) {
	case raster.ColorIntensity, raster.ColorHeight, raster.ColorRange, raster.ColorFixed:
	default:
		return ds3d.ConfigErrorf("color_by", "must be intensity, height, range or fixed, got %q", c.ColorBy)
	}
	if c.Filename != "" {
		a, b := fmt.Sprintf(c.Filename, 1), fmt.Sprintf(c.Filename, 2)
		if strings.Contains(a, "%!") || a == b || strings.ContainsRune(a, os.PathSeparator) || !strings.HasSuffix(a, ".png") {
			return ds3d.ConfigErrorf("filename", "must be a .png name with one integer verb such as %%06d, got %q", c.Filename)
		}
	}
	return nil
}

// Mosaic is v2x_mosaic_render. Its image and PNG buffers are reused.
type Mosaic struct {
	cfg      Config
	opts     raster.BEVOptions
	lidar    []ds3d.Key
	boxes    []ds3d.Key
	gt       []ds3d.Box3D
	img      *image.RGBA
	tiles    []*image.RGBA
	scratch  []ds3d.Box3D
	enc      png.Encoder
	w        *bufio.Writer
	count    int64
	filename string
}

// New builds the renderer from a validated config (reading the label file).
func New(c *Config) (*Mosaic, error) {
	m := &Mosaic{cfg: *c, filename: c.Filename}
	if m.filename == "" {
		m.filename = "v2x_%06d.png"
	}
	m.opts = raster.DefaultBEVOptions()
	m.opts.XRange, m.opts.YRange, m.opts.Resolution = c.XRange, c.YRange, c.Resolution
	m.opts.Points = raster.PointStyle{ColorBy: raster.ColorMode(c.ColorBy), ValueRange: c.ValueRange, Color: color.RGBA{200, 200, 200, 255}, Size: c.PointSize}
	m.opts.Boxes = raster.BoxStyle{Thickness: c.BoxWidth, Labels: c.Labels, Scores: true, LabelScale: 1}
	m.opts.GridStep = c.GridStep
	for _, k := range c.LidarKeys {
		m.lidar = append(m.lidar, ds3d.Key(k))
	}
	for _, k := range c.BoxKeys {
		m.boxes = append(m.boxes, ds3d.Key(k))
	}
	if c.LabelFile != "" {
		ls, err := dair.ReadLabels(string(c.LabelFile))
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			b := l.Box()
			b.Color = [4]uint8{150, 150, 150, 255}
			b.Label, b.Score = " ", 0 // a blank label: no text, the detections carry the labels
			m.gt = append(m.gt, b)
		}
	}
	w, h := m.opts.Size()
	cols, rows := 2, (len(m.lidar)+1)/2
	if len(m.lidar) == 1 {
		cols = 1
	}
	m.img = image.NewRGBA(image.Rect(0, 0, cols*w+(cols-1)*c.Gap, rows*h+(rows-1)*c.Gap))
	for i := range m.lidar {
		x, y := (i%2)*(w+c.Gap), (i/2)*(h+c.Gap)
		m.tiles = append(m.tiles, m.img.SubImage(image.Rect(x, y, x+w, y+h)).(*image.RGBA))
	}
	m.enc = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngPool{}}
	return m, nil
}

type pngPool struct{ b *png.EncoderBuffer }

func (p *pngPool) Get() *png.EncoderBuffer  { return p.b }
func (p *pngPool) Put(b *png.EncoderBuffer) { p.b = b }

// Start creates the output folder.
func (m *Mosaic) Start(context.Context) error { return os.MkdirAll(string(m.cfg.OutputDir), 0o755) }

// Image returns the last mosaic drawn (valid until the next Render).
func (m *Mosaic) Image() *image.RGBA { return m.img }

// Draw draws the datamap's tiles into the mosaic.
func (m *Mosaic) Draw(in *ds3d.DataMap) error {
	for i, k := range m.lidar {
		f, err := in.Frame(k)
		if err != nil {
			return err
		}
		if f.Mem == ds3d.MemGPU || f.DType != ds3d.DTypeF32 || f.Shape.NumDims != 2 || f.Shape.D[1] < 3 {
			return fmt.Errorf("%s: frame %s %s, want an [N,C≥3] f32 CPU point frame", k, f.DType, f.Shape)
		}
		m.opts.Points.Stride = f.Shape.D[1]
		m.scratch = append(m.scratch[:0], m.gt...)
		if len(m.boxes) > 0 {
			bs, err := ds3d.Get[[]ds3d.Box3D](in, m.boxes[i])
			if err != nil {
				return err
			}
			m.scratch = append(m.scratch, bs...)
		}
		raster.DrawBEV(m.tiles[i], ds3d.AsFloat32(f)[:f.Points()*f.Shape.D[1]], m.scratch, &m.opts)
	}
	return nil
}

// Render draws the mosaic and writes it as a PNG.
func (m *Mosaic) Render(_ context.Context, in *ds3d.DataMap) error {
	if err := m.Draw(in); err != nil {
		return err
	}
	fn, err := in.Int64(ds3d.KeyFrameNumber)
	if err != nil {
		fn = m.count
	}
	m.count++
	name := string(m.cfg.OutputDir) + string(os.PathSeparator) + fmt.Sprintf(m.filename, fn)
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if m.w == nil {
		m.w = bufio.NewWriterSize(f, 256<<10)
	} else {
		m.w.Reset(f)
	}
	err = m.enc.Encode(m.w, m.img)
	if err == nil {
		err = m.w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("v2x_mosaic_render %s: %w", name, err)
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindRender, "v2x_mosaic_render",
		`2×2 bird's-eye-view mosaic of up to four lidar streams (the ds3d V2XFusion sample's batch view): per tile the points, the stream's boxes and optionally a DAIR-V2X label file's boxes in grey; one PNG per datamap, pure Go.`,
		func() *Config {
			return &Config{
				XRange: [2]float64{0, 102.4}, YRange: [2]float64{-51.2, 51.2}, Resolution: 0.2, Gap: 4,
				ColorBy: "height", PointSize: 1, GridStep: 10, BoxWidth: 2, Labels: true,
				LidarKeys: []string{string(ds3d.KeyLidarXYZI)},
			}
		},
		func(c *Config, _ *ds3d.Env) (any, error) { return New(c) })
}
