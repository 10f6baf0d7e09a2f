package camera

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/framelist"
)

// ImageLoaderConfig configures image_file_loader.
type ImageLoaderConfig struct {
	DataConfigFile []ds3d.Path `toml:"data_config_file" path:"exists" doc:"image list files (TOML: [[frame]] timestamp_ms, path), one per camera"`
	Files          []ds3d.Path `toml:"files" path:"exists" doc:"glob patterns instead of lists, one per camera; frames in lexical order, stamped k/rate_hz"`
	RateHz         float64     `toml:"rate_hz" min:">0" unit:"Hz" doc:"frame rate that stamps glob cameras: frame k at k/rate_hz s"`
	ColorFormat    string      `toml:"color_format" enum:"rgb|rgba" doc:"frame layout: rgb (3 bytes per pixel) or rgba (4, straight alpha)"`
	FileLoop       bool        `toml:"file_loop" doc:"start again at the first frame after the last (timestamps keep increasing)"`
	MaxFrames      int         `toml:"max_frames" min:"0" doc:"end the stream after this many datamaps (with file_loop: a fixed-length replay for benchmarks); 0 = no limit"`
	SourceID       int         `toml:"source_id" doc:"DS3D::SourceId of the datamaps; a list's own source_id (of the first camera) wins"`
	OutputKey      []string    `toml:"output_datamap_key" nonempty:"each" doc:"key per camera; one key for several cameras gets the _N suffix"`
	ds3d.PoolGroup `doc:"frames per camera in flight before the loader waits for one to come back"`
}

// Validate checks that sources are given one way, with a key each.
func (c *ImageLoaderConfig) Validate() error {
	n := len(c.DataConfigFile) + len(c.Files)
	switch {
	case n == 0:
		return ds3d.ConfigErrorf("data_config_file", "give a list file per camera (or files = [one glob per camera])")
	case len(c.DataConfigFile) > 0 && len(c.Files) > 0:
		return ds3d.ConfigErrorf("files", "give data_config_file or files, not both")
	case len(c.OutputKey) > 1 && len(c.OutputKey) != n:
		return ds3d.ConfigErrorf("output_datamap_key", "has %d keys for %d cameras", len(c.OutputKey), n)
	}
	return nil
}

// camSource is one camera: its list, key, fixed image size and frame pool.
type camSource struct {
	list *List
	key  ds3d.Key
	w, h int
	pool *ds3d.FramePool
}

// ImageLoader replays image sequences. Each Next decodes image k of every
// camera into a pooled colour frame and emits them in one datamap
// (DS3D::ColorFrame, or _N keys for several cameras) with DS3D::Timestamp
// (of the first camera), DS3D::SourceId, DS3D::FrameNumber and, on the first,
// DS3D::FirstSourceFrame. The stream ends with the shortest camera unless
// file_loop is set.
type ImageLoader struct {
	cfg     ImageLoaderConfig
	cams    []camSource
	n       int // frames per camera used: the shortest camera's
	k       int
	loopOff int64 // timestamp offset added per completed loop
	span    int64
	srcID   int64
	buf     []byte       // file bytes, reused across frames
	jpeg    *decode.JPEG // made on the first JPEG file
}

// NewImageLoader reads the lists (checking that every file exists), reads the
// first image header of each camera to fix its size, and sets up the pools.
func NewImageLoader(cfg *ImageLoaderConfig, _ *ds3d.Env) (*ImageLoader, error) {
	if err := ds3d.CheckConfig(cfg); err != nil {
		return nil, err
	}
	l := &ImageLoader{cfg: *cfg, n: math.MaxInt, srcID: int64(cfg.SourceID)}
	var lists []*List
	for _, p := range cfg.Files {
		gl, err := GlobList(string(p), cfg.RateHz)
		if err != nil {
			return nil, err
		}
		lists = append(lists, gl)
	}
	for _, p := range cfg.DataConfigFile {
		li, err := ReadList(string(p))
		if err != nil {
			return nil, err
		}
		lists = append(lists, li)
	}
	if lists[0].SourceID >= 0 {
		l.srcID = int64(lists[0].SourceID)
	}
	rgba := cfg.ColorFormat == "rgba"
	for i, li := range lists {
		key := ds3d.KeyColorFrame
		switch {
		case len(cfg.OutputKey) == len(lists) && len(lists) > 1:
			key = ds3d.Key(cfg.OutputKey[i])
		case len(cfg.OutputKey) == 1:
			key = ds3d.Key(cfg.OutputKey[0])
		}
		if len(lists) > 1 && len(cfg.OutputKey) <= 1 {
			key = key.Sensor(i)
		}
		w, h, err := decode.ImageSize(li.Entries[0].Path)
		if err != nil {
			if li.File != "" {
				return nil, fmt.Errorf("camera %d: list %s line %d: %w", i, li.File, li.Entries[0].Line, err)
			}
			return nil, fmt.Errorf("camera %d: %w", i, err)
		}
		pool, err := ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame {
			f, _ := decode.NewColorFrame(w, h, rgba) // cannot fail: ImageSize checked the size
			return f
		})
		if err != nil {
			return nil, err
		}
		l.cams = append(l.cams, camSource{list: li, key: key, w: w, h: h, pool: pool})
		l.n = min(l.n, len(li.Entries))
	}
	l.span = framelist.LoopSpan(l.cams[0].list.Entries[:l.n], cfg.RateHz)
	return l, nil
}

// Len is the number of datamaps the loader emits, or -1 when looping
// without max_frames.
func (l *ImageLoader) Len() int { return framelist.Count(l.n, l.cfg.FileLoop, l.cfg.MaxFrames) }

// Size returns camera i's image size, fixed by its first image.
func (l *ImageLoader) Size(i int) (width, height int) { return l.cams[i].w, l.cams[i].h }

// Next decodes the next image of every camera.
func (l *ImageLoader) Next(ctx context.Context) (*ds3d.DataMap, error) {
	if l.cfg.MaxFrames > 0 && l.k >= l.cfg.MaxFrames {
		return nil, io.EOF
	}
	idx := l.k
	if l.cfg.FileLoop {
		idx = l.k % l.n
		if idx == 0 && l.k > 0 {
			l.loopOff += l.span
		}
	} else if l.k >= l.n {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := ds3d.NewDataMap()
	for ci := range l.cams {
		c := &l.cams[ci]
		e := &c.list.Entries[idx]
		f, err := c.pool.Get(ctx)
		if err != nil {
			m.Release()
			return nil, err
		}
		if err := l.load(f, ci, e); err != nil {
			f.Release()
			m.Release()
			return nil, fmt.Errorf("frame %d: %w", l.k, err)
		}
		m.SetFrame(c.key, f)
		if ci == 0 {
			m.SetTimestamp(e.TimestampNs + l.loopOff)
		}
	}
	m.SetInt64(ds3d.KeySourceID, l.srcID)
	m.SetInt64(ds3d.KeyFrameNumber, int64(l.k))
	if l.k == 0 {
		m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
	}
	l.k++
	return m, nil
}

// load decodes one image into f, refusing a size other than the camera's.
// JPEG files go to core2d/decode's JPEG (libjpeg-turbo with the turbojpeg
// build tag: straight into the pooled frame, nothing allocated); other
// formats, and a .jpg that is not a JPEG, to the standard decoders.
func (l *ImageLoader) load(f *ds3d.Frame, ci int, e *ListEntry) error {
	c := &l.cams[ci]
	in := func(err error) error {
		if c.list.File != "" {
			return fmt.Errorf("camera %d: list %s line %d: %w", ci, c.list.File, e.Line, err)
		}
		return fmt.Errorf("camera %d: %w", ci, err)
	}
	sizeErr := func(w, h int) error {
		return fmt.Errorf("camera %d: %s is %dx%d but the camera's images are %dx%d (from %s); a camera's image size must not change mid-sequence",
			ci, where(c.list, e), w, h, c.w, c.h, c.list.Entries[0].Path)
	}
	if isJPEG(e.Path) {
		buf, err := decode.ReadFile(e.Path, l.buf)
		l.buf = buf
		if err != nil {
			return in(err)
		}
		if len(buf) >= 2 && buf[0] == 0xff && buf[1] == 0xd8 {
			if l.jpeg == nil {
				if l.jpeg, err = decode.NewJPEG(); err != nil {
					return in(err)
				}
			}
			w, h, err := l.jpeg.Size(e.Path, buf)
			if err != nil {
				return in(err)
			}
			if w != c.w || h != c.h {
				return sizeErr(w, h)
			}
			if err := l.jpeg.Decode(e.Path, buf, f); err != nil {
				return in(err)
			}
			return nil
		}
	}
	img, buf, err := decode.DecodeFile(e.Path, l.buf)
	l.buf = buf
	if err != nil {
		return in(err)
	}
	b := img.Bounds()
	if b.Dx() != c.w || b.Dy() != c.h {
		return sizeErr(b.Dx(), b.Dy())
	}
	if err := decode.ToFrame(f, img); err != nil {
		return fmt.Errorf("camera %d: %s: %w", ci, where(c.list, e), err)
	}
	return nil
}

// isJPEG reports whether path names a JPEG file by its extension.
func isJPEG(path string) bool {
	ext := filepath.Ext(path)
	return strings.EqualFold(ext, ".jpg") || strings.EqualFold(ext, ".jpeg")
}

// Close frees the JPEG decoder.
func (l *ImageLoader) Close() error {
	if l.jpeg != nil {
		err := l.jpeg.Close()
		l.jpeg = nil
		return err
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindLoader, "image_file_loader",
		`Replays image sequences (JPEG, PNG) from timestamped lists or one glob pattern per camera into pooled u8 RGB or RGBA frames; several cameras make DS3D::ColorFrame_N keys in one datamap.`,
		func() *ImageLoaderConfig {
			return &ImageLoaderConfig{RateHz: 10, ColorFormat: "rgb", PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *ImageLoaderConfig, env *ds3d.Env) (any, error) { return NewImageLoader(c, env) })
}

// PoolStats reports each camera's frame pool under its datamap key.
func (l *ImageLoader) PoolStats() []ds3d.PoolStat {
	out := make([]ds3d.PoolStat, len(l.cams))
	for i := range l.cams {
		out[i] = l.cams[i].pool.Stat(string(l.cams[i].key))
	}
	return out
}
