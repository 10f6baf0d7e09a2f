package osd

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Output formats of video_sink.
const (
	FormatAVI  = "avi"  // Motion-JPEG AVI, pure Go
	FormatMP4  = "mp4"  // H.264 MP4 through ffmpeg
	FormatPNG  = "png"  // one PNG per frame
	FormatJPEG = "jpeg" // one JPEG per frame
)

// SinkConfig configures video_sink.
type SinkConfig struct {
	Path     ds3d.Path `toml:"path" nonempty:"true" required:"true" doc:"output file: .avi or .mp4 for a video; for png/jpeg a pattern with one %d verb for the frame number (out/frame_%05d.png)"`
	Format   string    `toml:"format" enum:"|avi|mp4|png|jpeg" doc:"avi, mp4, png or jpeg; empty: from the path's extension"`
	FrameKey string    `toml:"frame_key" nonempty:"true" doc:"key of the RGB/RGBA u8 frame to write"`
	FPS      int       `toml:"fps" min:"1" max:"1000" doc:"frame rate written into the video"`
	Quality  int       `toml:"quality" min:"1" max:"100" doc:"JPEG quality 1..100 (jpeg frames and AVI)"`
	CRF      int       `toml:"crf" min:"0" max:"51" doc:"mp4: x264 constant rate factor (0 lossless … 51)"`
	Preset   string    `toml:"preset" doc:"mp4: x264 preset (ultrafast … veryslow)"`
	FFmpeg   string    `toml:"ffmpeg" doc:"mp4: the ffmpeg executable"`
}

// DefaultSinkConfig returns the defaults: 10 fps, JPEG quality 85, x264
// veryfast CRF 23.
func DefaultSinkConfig() SinkConfig {
	return SinkConfig{FrameKey: string(ds3d.KeyColorFrame), FPS: 10, Quality: 85, CRF: 23, Preset: "veryfast", FFmpeg: "ffmpeg"}
}

// format returns the configured or inferred format.
func (c *SinkConfig) format() string {
	if c.Format != "" {
		return c.Format
	}
	switch strings.ToLower(filepath.Ext(string(c.Path))) {
	case ".avi":
		return FormatAVI
	case ".mp4", ".m4v", ".mov":
		return FormatMP4
	case ".png":
		return FormatPNG
	case ".jpg", ".jpeg":
		return FormatJPEG
	}
	return ""
}

// Validate checks the config.
func (c *SinkConfig) Validate() error {
	switch f := c.format(); {
	case f == "": // format's enum holds the rest
		return ds3d.ConfigErrorf("format", "give avi, mp4, png or jpeg, or a path ending in one, got %q", c.Path)
	case (f == FormatPNG || f == FormatJPEG) && strings.Count(string(c.Path), "%") != 1:
		return ds3d.ConfigErrorf("path", "a %s sink needs one %%d verb for the frame number in %q", f, c.Path)
	}
	return nil
}

// FrameWriter receives frames of one size in order.
type FrameWriter interface {
	WriteFrame(c Canvas) error
	Close() error
}

// Open returns the writer for cfg's format, for width×height frames.
// mp4 starts ffmpeg, which ends when ctx does.
func Open(ctx context.Context, cfg *SinkConfig, width, height int) (FrameWriter, error) {
	path := string(cfg.Path)
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	switch cfg.format() {
	case FormatAVI:
		a, err := CreateAVI(path, width, height, cfg.FPS)
		if err != nil {
			return nil, err
		}
		return &aviFrames{a: a, q: cfg.Quality}, nil
	case FormatMP4:
		return StartMP4(ctx, cfg, width, height)
	case FormatPNG:
		return &fileFrames{pattern: path, png: true}, nil
	case FormatJPEG:
		return &fileFrames{pattern: path, q: cfg.Quality}, nil
	}
	return nil, fmt.Errorf("video_sink: unknown format %q", cfg.format())
}

// rgbaView fills img (reused) with c's pixels: the image encoders have fast
// paths for *image.RGBA only.
func rgbaView(img *image.RGBA, c Canvas) *image.RGBA {
	if img == nil || img.Rect.Dx() != c.Width || img.Rect.Dy() != c.Height {
		img = image.NewRGBA(image.Rect(0, 0, c.Width, c.Height))
	}
	for y := 0; y < c.Height; y++ {
		src := c.Pix[y*c.Pitch : y*c.Pitch+c.Width*c.BPP]
		dst := img.Pix[y*img.Stride : y*img.Stride+c.Width*4]
		if c.BPP == 4 {
			copy(dst, src)
			continue
		}
		for x, j := 0, 0; x < len(src); x, j = x+3, j+4 {
			dst[j], dst[j+1], dst[j+2], dst[j+3] = src[x], src[x+1], src[x+2], 255
		}
	}
	return img
}

type aviFrames struct {
	a   *AVIWriter
	q   int
	img *image.RGBA
	buf bytes.Buffer
}

func (w *aviFrames) WriteFrame(c Canvas) error {
	w.img = rgbaView(w.img, c)
	w.buf.Reset()
	if err := jpeg.Encode(&w.buf, w.img, &jpeg.Options{Quality: w.q}); err != nil {
		return err
	}
	return w.a.WriteFrame(w.buf.Bytes())
}

func (w *aviFrames) Close() error { return w.a.Close() }

type fileFrames struct {
	pattern string
	png     bool
	q       int
	n       int
	img     *image.RGBA
	enc     png.Encoder
}

func (w *fileFrames) WriteFrame(c Canvas) error {
	w.img = rgbaView(w.img, c)
	name := fmt.Sprintf(w.pattern, w.n)
	w.n++
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if w.png {
		err = w.enc.Encode(f, w.img)
	} else {
		err = jpeg.Encode(f, w.img, &jpeg.Options{Quality: w.q})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (w *fileFrames) Close() error { return nil }

// MP4Writer pipes rgb24 frames into an ffmpeg subprocess encoding H.264
// (libx264, yuv420p) into an MP4. The process belongs to the context
// given to StartMP4: cancelling it kills ffmpeg.
type MP4Writer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	path   string
	w, h   int
	row    []byte
	frames int
}

// StartMP4 starts ffmpeg writing cfg.Path.
func StartMP4(ctx context.Context, cfg *SinkConfig, width, height int) (*MP4Writer, error) {
	if width%2 != 0 || height%2 != 0 {
		return nil, fmt.Errorf("mp4 %s: H.264 in yuv420p needs an even frame size, got %dx%d", cfg.Path, width, height)
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", width, height), "-r", strconv.Itoa(cfg.FPS), "-i", "-",
		"-an", "-c:v", "libx264", "-preset", cfg.Preset, "-crf", strconv.Itoa(cfg.CRF), "-pix_fmt", "yuv420p",
		"-movflags", "+faststart", string(cfg.Path)}
	cmd := exec.CommandContext(ctx, cfg.FFmpeg, args...)
	m := &MP4Writer{cmd: cmd, path: string(cfg.Path), w: width, h: height}
	cmd.Stderr = &m.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	m.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mp4 %s: start %s: %w", cfg.Path, cfg.FFmpeg, err)
	}
	return m, nil
}

// WriteFrame sends one frame (RGBA canvases lose their alpha).
func (m *MP4Writer) WriteFrame(c Canvas) error {
	if c.Width != m.w || c.Height != m.h {
		return fmt.Errorf("mp4 %s: frame %dx%d, the video is %dx%d", m.path, c.Width, c.Height, m.w, m.h)
	}
	n := c.Width * 3
	if c.BPP == 3 && c.Pitch == n {
		_, err := m.stdin.Write(c.Pix[:n*c.Height])
		return m.wrap(err)
	}
	if len(m.row) < n {
		m.row = make([]byte, n)
	}
	for y := 0; y < c.Height; y++ {
		src := c.Pix[y*c.Pitch:]
		for x := 0; x < c.Width; x++ {
			copy(m.row[3*x:3*x+3], src[x*c.BPP:x*c.BPP+3])
		}
		if _, err := m.stdin.Write(m.row[:n]); err != nil {
			return m.wrap(err)
		}
	}
	m.frames++
	return nil
}

func (m *MP4Writer) wrap(err error) error {
	if err == nil {
		m.frames++
		return nil
	}
	// os/exec's goroutine fills stderr until Wait returns: wait for ffmpeg
	// (its input closed) before reading what it said.
	m.stdin.Close()
	werr := m.cmd.Wait()
	m.cmd = nil
	return fmt.Errorf("mp4 %s: ffmpeg: %w (exit: %v): %s", m.path, err, werr, strings.TrimSpace(m.stderr.String()))
}

// Close ends the input and waits for ffmpeg to finish the file.
func (m *MP4Writer) Close() error {
	if m.cmd == nil {
		return nil
	}
	err := m.stdin.Close()
	werr := m.cmd.Wait()
	m.cmd = nil
	if werr != nil {
		return fmt.Errorf("mp4 %s: ffmpeg: %w: %s", m.path, werr, strings.TrimSpace(m.stderr.String()))
	}
	return err
}

// Sink is the video_sink component.
type Sink struct {
	cfg    SinkConfig
	key    ds3d.Key
	ctx    context.Context
	cancel context.CancelFunc
	w      FrameWriter
	width  int
	height int
	n      int
	log    *slog.Logger
}

// NewSink returns a video_sink; the file is created at the first frame,
// when the size is known.
func NewSink(cfg SinkConfig, log *slog.Logger) (*Sink, error) {
	if err := ds3d.CheckConfig(&cfg); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sink{cfg: cfg, key: ds3d.Key(cfg.FrameKey), log: log}, nil
}

// Start keeps the pipeline's context for the ffmpeg subprocess.
func (s *Sink) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(ctx)
	return nil
}

// Render writes the datamap's frame.
func (s *Sink) Render(ctx context.Context, in *ds3d.DataMap) error {
	f, err := in.Frame(s.key)
	if err != nil {
		return err
	}
	c, err := CanvasOf(f)
	if err != nil {
		return fmt.Errorf("%s: %w", s.key, err)
	}
	if s.w == nil {
		if s.ctx == nil {
			s.ctx, s.cancel = context.WithCancel(ctx)
		}
		if s.w, err = Open(s.ctx, &s.cfg, c.Width, c.Height); err != nil {
			return err
		}
		s.width, s.height = c.Width, c.Height
	}
	if c.Width != s.width || c.Height != s.height {
		return fmt.Errorf("%s: frame %d is %dx%d, the output is %dx%d", s.key, s.n, c.Width, c.Height, s.width, s.height)
	}
	s.n++
	return s.w.WriteFrame(c)
}

// Frames is the number of frames written.
func (s *Sink) Frames() int { return s.n }

// Close finishes the file.
func (s *Sink) Close() error {
	var err error
	if s.w != nil {
		err = s.w.Close()
		s.log.Info("wrote video", "path", s.cfg.Path, "format", s.cfg.format(), "frames", s.n)
	}
	if s.cancel != nil {
		s.cancel()
	}
	return err
}

func init() {
	ds3d.Register(ds3d.KindRender, "video_sink",
		`Writes camera frames to a video or image files: Motion-JPEG AVI (pure Go), H.264 MP4 through an ffmpeg subprocess (rgb24 over stdin), or one PNG/JPEG per frame.`,
		func() *SinkConfig { c := DefaultSinkConfig(); return &c },
		func(c *SinkConfig, env *ds3d.Env) (any, error) { return NewSink(*c, env.Log) })
}
