package depth

import (
	"context"
	"fmt"
	"io"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// RGBDLoaderConfig configures rgbd_file_loader.
type RGBDLoaderConfig struct {
	AssociationFile ds3d.Path `toml:"association_file" nonempty:"true" path:"exists" required:"true" doc:"pairs of depth and colour files: Redwood rgbd.match (depth colour) or TUM associations.txt (ts_rgb rgb ts_depth depth); paths relative to it"`
	IntrinsicsFile  ds3d.Path `toml:"intrinsics_file" path:"exists" doc:"Open3D camera JSON (width, height, column-major intrinsic_matrix); or give intrinsics, width and height"`
	Intrinsics      []float64 `toml:"intrinsics" len:"4" finite:"true" doc:"[fx, fy, cx, cy] in pixels, instead of intrinsics_file"`
	Width           int       `toml:"width" doc:"image width in pixels, with intrinsics"`
	Height          int       `toml:"height" doc:"image height in pixels, with intrinsics"`
	DepthScale      float64   `toml:"depth_scale" min:">0" doc:"depth PNG units per metre: 1000 (mm) for Redwood, 5000 for TUM; DS3D::DepthScaleUnit carries 1/depth_scale metres per unit"`
	RateHz          float64   `toml:"rate_hz" min:">0" unit:"Hz" doc:"frame rate that stamps files without times (Redwood): frame k at k/rate_hz s"`
	ColorFormat     string    `toml:"color_format" enum:"rgb|rgba" doc:"colour frame layout: rgb (3 bytes per pixel) or rgba (4)"`
	FileLoop        bool      `toml:"file_loop" doc:"start again at the first pair after the last (timestamps keep increasing)"`
	SourceID        int       `toml:"source_id" doc:"value of DS3D::SourceId"`
	ds3d.PoolGroup  `doc:"colour and depth frames in flight before the loader waits for one to come back"`
}

// Validate checks that intrinsics are given one way, and complete.
func (c *RGBDLoaderConfig) Validate() error {
	switch {
	case c.IntrinsicsFile == "" && len(c.Intrinsics) == 0:
		return ds3d.ConfigErrorf("intrinsics_file", "give an Open3D camera JSON (or intrinsics = [fx, fy, cx, cy] with width and height)")
	case c.IntrinsicsFile != "" && (len(c.Intrinsics) > 0 || c.Width != 0 || c.Height != 0):
		return ds3d.ConfigErrorf("intrinsics", "give intrinsics_file or intrinsics/width/height, not both")
	case c.IntrinsicsFile == "" && len(c.Intrinsics) != 4:
		return ds3d.ConfigErrorf("intrinsics", "want 4 values [fx, fy, cx, cy], got %d", len(c.Intrinsics))
	case c.IntrinsicsFile == "" && !(c.Intrinsics[0] > 0 && c.Intrinsics[1] > 0):
		return ds3d.ConfigErrorf("intrinsics", "focal lengths fx=%v fy=%v must be positive", c.Intrinsics[0], c.Intrinsics[1])
	case c.IntrinsicsFile == "" && (c.Width <= 0 || c.Height <= 0):
		return ds3d.ConfigErrorf("width", "width and height must be positive with intrinsics, got %dx%d", c.Width, c.Height)
	}
	return nil
}

// RGBDLoader replays registered colour + 16-bit depth pairs. Each Next emits
// one datamap:
//
//	DS3D::ColorFrame            u8 [H,W,3|4], pooled
//	DS3D::DepthFrame            u16 [H,W], pooled, raw file units (0 = no depth)
//	DS3D::DepthScaleUnit        float64, metres per depth unit = 1/depth_scale
//	DS3D::Cam0_IntrinsicMatrix  ds3d.Intrinsics of the depth (= colour) image
//	DS3D::Timestamp, DS3D::SourceId, DS3D::FrameNumber (+ DS3D::FirstSourceFrame)
//
// so a depth value d at pixel (u, v) lies d·DepthScaleUnit metres along the
// camera's z axis. The timestamp is the depth image's (TUM) or k/rate_hz
// (Redwood, which has no times). Colour and depth must have the size of the
// intrinsics, for every pair: the loader does not register or resample.
type RGBDLoader struct {
	cfg       RGBDLoaderConfig
	pairs     []Pair
	intr      any // the ds3d.Intrinsics, boxed once so Set does not allocate per frame
	in        ds3d.Intrinsics
	unit      float64
	colorPool *ds3d.FramePool
	depthPool *ds3d.FramePool
	k         int
	loopOff   int64
	span      int64
	buf       []byte
}

// NewRGBDLoader reads the association file and intrinsics, checks the first
// pair's sizes against the intrinsics, and sets up the pools.
func NewRGBDLoader(cfg *RGBDLoaderConfig, _ *ds3d.Env) (*RGBDLoader, error) {
	if err := ds3d.CheckConfig(cfg); err != nil {
		return nil, err
	}
	l := &RGBDLoader{cfg: *cfg, unit: 1 / cfg.DepthScale}
	if cfg.IntrinsicsFile != "" {
		in, err := ReadOpen3DIntrinsics(string(cfg.IntrinsicsFile))
		if err != nil {
			return nil, err
		}
		l.in = in
	} else {
		c := cfg.Intrinsics
		l.in = ds3d.Intrinsics{Fx: c[0], Fy: c[1], Cx: c[2], Cy: c[3], Width: cfg.Width, Height: cfg.Height}
	}
	w, h := l.in.Width, l.in.Height
	if w > decode.MaxPixels || h > decode.MaxPixels || w*h > decode.MaxPixels {
		return nil, fmt.Errorf("intrinsics: image size %dx%d is over %d pixels", w, h, decode.MaxPixels)
	}
	l.intr = l.in
	pairs, err := ReadAssociations(string(cfg.AssociationFile))
	if err != nil {
		return nil, err
	}
	l.pairs = pairs
	// Check the first pair's headers now, so a wrong size fails at start-up
	// rather than after the pipeline began.
	p0 := &pairs[0]
	if cw, ch, err := decode.ImageSize(p0.ColorPath); err != nil {
		return nil, fmt.Errorf("%s: %w", l.where(p0), err)
	} else if cw != w || ch != h {
		return nil, fmt.Errorf("%s: colour %s is %dx%d, intrinsics are for %dx%d", l.where(p0), p0.ColorPath, cw, ch, w, h)
	}
	if l.buf, err = decode.ReadFile(p0.DepthPath, l.buf); err != nil {
		return nil, fmt.Errorf("%s: %w", l.where(p0), err)
	}
	if dw, dh, err := checkDepthPNG(l.buf); err != nil {
		return nil, fmt.Errorf("%s: depth %s: %w", l.where(p0), p0.DepthPath, err)
	} else if dw != w || dh != h {
		return nil, fmt.Errorf("%s: depth %s is %dx%d, intrinsics are for %dx%d", l.where(p0), p0.DepthPath, dw, dh, w, h)
	}
	rgba := cfg.ColorFormat == "rgba"
	l.colorPool, err = ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame {
		f, _ := decode.NewColorFrame(w, h, rgba) // cannot fail: size checked positive
		return f
	})
	if err != nil {
		return nil, err
	}
	l.depthPool, _ = ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame {
		f, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, w, h, 0)
		return f
	})
	// A loop continues the timeline one frame period after the last pair.
	if n := len(pairs); n > 1 && pairs[0].HasTime {
		l.span = pairs[n-1].DepthNs - pairs[0].DepthNs
		l.span += l.span / int64(n-1)
	} else {
		l.span = pairs[n-1].DepthNs - pairs[0].DepthNs + int64(1e9/cfg.RateHz)
		if !pairs[0].HasTime {
			l.span = int64(float64(n) * 1e9 / cfg.RateHz)
		}
	}
	return l, nil
}

// where names a pair for messages.
func (l *RGBDLoader) where(p *Pair) string {
	return fmt.Sprintf("association file %s line %d", l.cfg.AssociationFile, p.Line)
}

// Len is the number of datamaps the loader emits, or -1 when looping.
func (l *RGBDLoader) Len() int {
	if l.cfg.FileLoop {
		return -1
	}
	return len(l.pairs)
}

// Intrinsics returns the camera model the loader emits.
func (l *RGBDLoader) Intrinsics() ds3d.Intrinsics { return l.in }

// Next loads the next pair.
func (l *RGBDLoader) Next(ctx context.Context) (*ds3d.DataMap, error) {
	idx := l.k
	if l.cfg.FileLoop {
		idx = l.k % len(l.pairs)
		if idx == 0 && l.k > 0 {
			l.loopOff += l.span
		}
	} else if l.k >= len(l.pairs) {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &l.pairs[idx]
	m := ds3d.NewDataMap()
	cf, err := l.colorPool.Get(ctx)
	if err != nil {
		m.Release()
		return nil, err
	}
	m.SetFrame(ds3d.KeyColorFrame, cf)
	df, err := l.depthPool.Get(ctx)
	if err != nil {
		m.Release()
		return nil, err
	}
	m.SetFrame(ds3d.KeyDepthFrame, df)
	if err := l.load(cf, df, p); err != nil {
		m.Release()
		return nil, fmt.Errorf("frame %d: %s: %w", l.k, l.where(p), err)
	}
	m.SetFloat64(ds3d.KeyDepthScaleUnit, l.unit)
	m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(0), l.intr)
	ts := int64(float64(idx) * 1e9 / l.cfg.RateHz)
	if p.HasTime {
		ts = p.DepthNs
	}
	m.SetTimestamp(ts + l.loopOff)
	m.SetInt64(ds3d.KeySourceID, int64(l.cfg.SourceID))
	m.SetInt64(ds3d.KeyFrameNumber, int64(l.k))
	if l.k == 0 {
		m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
	}
	l.k++
	return m, nil
}

// load decodes a pair into the frames; both must have the intrinsics' size.
func (l *RGBDLoader) load(cf, df *ds3d.Frame, p *Pair) error {
	img, buf, err := decode.DecodeFile(p.ColorPath, l.buf)
	l.buf = buf
	if err != nil {
		return err
	}
	if b := img.Bounds(); b.Dx() != l.in.Width || b.Dy() != l.in.Height {
		return fmt.Errorf("colour %s is %dx%d, intrinsics are for %dx%d", p.ColorPath, b.Dx(), b.Dy(), l.in.Width, l.in.Height)
	}
	if err := decode.ToFrame(cf, img); err != nil {
		return fmt.Errorf("colour %s: %w", p.ColorPath, err)
	}
	l.buf, err = decode.ReadFile(p.DepthPath, l.buf)
	if err != nil {
		return err
	}
	if w, h, err := checkDepthPNG(l.buf); err != nil {
		return fmt.Errorf("depth %s: %w", p.DepthPath, err)
	} else if w != l.in.Width || h != l.in.Height {
		return fmt.Errorf("depth %s is %dx%d, intrinsics are for %dx%d", p.DepthPath, w, h, l.in.Width, l.in.Height)
	}
	if err := decodeDepth(df, l.buf); err != nil {
		return fmt.Errorf("depth %s: %w", p.DepthPath, err)
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindLoader, "rgbd_file_loader",
		`Replays RGB-D sequences (colour JPEG/PNG + 16-bit depth PNG, paired by a Redwood rgbd.match or TUM associations.txt) into pooled colour and u16 depth frames with DS3D::DepthScaleUnit and the camera intrinsics (Open3D JSON or config).`,
		func() *RGBDLoaderConfig {
			return &RGBDLoaderConfig{DepthScale: 1000, RateHz: 30, ColorFormat: "rgb", PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *RGBDLoaderConfig, env *ds3d.Env) (any, error) { return NewRGBDLoader(c, env) })
}

// PoolStats reports the colour and depth frame pools.
func (l *RGBDLoader) PoolStats() []ds3d.PoolStat {
	return []ds3d.PoolStat{l.colorPool.Stat("color"), l.depthPool.Stat("depth")}
}
