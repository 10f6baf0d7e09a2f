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
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Output formats of video_sink.
const (
	FormatAVI       = "avi"        // Motion-JPEG AVI, pure Go
	FormatMP4       = "mp4"        // H.264 MP4 through ffmpeg
	FormatPNG       = "png"        // one PNG per frame
	FormatJPEG      = "jpeg"       // one JPEG per frame
	FormatMPEGTS    = "mpegts"     // H.264 in MPEG-TS through ffmpeg: a .ts file, or a srt:// or udp:// stream
	FormatRTSP      = "rtsp"       // H.264 pushed to an RTSP server (rtsp://) through ffmpeg, RTP over TCP
	FormatRTPMPEGTS = "rtp_mpegts" // MPEG-TS in RTP packets (rtp:// or udp://) through ffmpeg
)

// SinkConfig configures video_sink.
type SinkConfig struct {
	Path     ds3d.Path     `toml:"path" nonempty:"true" required:"true" doc:"output file (.avi, .mp4, .ts; for png/jpeg a pattern with one %d verb for the frame number, out/frame_%05d.png) or a stream URL: rtsp://host[:port]/path (pushed to an RTSP server), srt://host:port, udp://host:port, rtp://host:port"`
	Format   string        `toml:"format" enum:"|avi|mp4|png|jpeg|mpegts|rtsp|rtp_mpegts" doc:"avi, mp4, png, jpeg, mpegts, rtsp or rtp_mpegts; empty: from the path's extension or the URL's scheme (rtsp → rtsp, srt and udp → mpegts, rtp → rtp_mpegts)"`
	FrameKey string        `toml:"frame_key" nonempty:"true" doc:"key of the RGB/RGBA u8 frame to write"`
	FPS      int           `toml:"fps" min:"1" max:"1000" doc:"frame rate written into the video"`
	Quality  int           `toml:"quality" min:"1" max:"100" doc:"JPEG quality 1..100 (jpeg frames and AVI)"`
	CRF      int           `toml:"crf" min:"0" max:"51" doc:"H.264 outputs: x264 constant rate factor (0 lossless … 51), used when bitrate_kbps is 0"`
	Preset   string        `toml:"preset" doc:"H.264 outputs: x264 preset (ultrafast … veryslow)"`
	FFmpeg   string        `toml:"ffmpeg" doc:"H.264 outputs: the ffmpeg executable"`
	GOP      int           `toml:"gop" min:"0" max:"10000" doc:"H.264 outputs: keyframe interval in frames (a receiver joining a stream waits for the next keyframe); 0: fps frames (one second) for streams, x264's default (250) for files"`
	Bitrate  int           `toml:"bitrate_kbps" min:"0" max:"1000000" unit:"kbit/s" doc:"H.264 outputs: target bitrate, also the cap (-maxrate) with a one-second buffer; 0: constant quality (crf)"`
	SRTMode  string        `toml:"srt_mode" enum:"|caller|listener" doc:"srt:// streams: caller connects to a listening receiver, listener waits for receivers to connect; empty: the URL's mode= query, else caller"`
	Queue    int           `toml:"queue" min:"1" max:"1000" doc:"streams: frames waiting for ffmpeg; a frame arriving while it is full is dropped and counted, so a slow network never stalls the pipeline (files are lossless and wait instead)"`
	OnError  string        `toml:"on_error" enum:"retry|fail" doc:"streams: when ffmpeg ends early (the server is gone), retry restarts it after retry_delay (doubling up to retry_max_delay), fail fails the component; either way ffmpeg's last stderr lines are logged"`
	Retry    time.Duration `toml:"retry_delay" min:">0" doc:"streams: first wait before restarting ffmpeg"`
	RetryMax time.Duration `toml:"retry_max_delay" min:">0" doc:"streams: longest wait between restarts"`
	CloseTO  time.Duration `toml:"close_timeout" min:">0" doc:"streams: how long closing waits for ffmpeg to send the queued frames before killing it"`
}

// DefaultSinkConfig returns the defaults: 10 fps, JPEG quality 85, x264
// veryfast CRF 23; streams queue 8 frames and retry from 500 ms to 10 s.
func DefaultSinkConfig() SinkConfig {
	return SinkConfig{FrameKey: string(ds3d.KeyColorFrame), FPS: 10, Quality: 85, CRF: 23, Preset: "veryfast", FFmpeg: "ffmpeg",
		Queue: 8, OnError: "retry", Retry: 500 * time.Millisecond, RetryMax: 10 * time.Second, CloseTO: 5 * time.Second}
}

// streamSchemes maps the URL schemes video_sink streams to onto the
// formats each accepts, the first being the default.
var streamSchemes = map[string][]string{
	"rtsp": {FormatRTSP},
	"srt":  {FormatMPEGTS},
	"udp":  {FormatMPEGTS, FormatRTPMPEGTS},
	"rtp":  {FormatRTPMPEGTS},
}

// streamURL returns the parsed output URL, or nil for a file.
func (c *SinkConfig) streamURL() (*url.URL, error) {
	s := string(c.Path)
	if !strings.Contains(s, "://") {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, ds3d.ConfigErrorf("path", "%v", err)
	}
	return u, nil
}

// format returns the configured or inferred format.
func (c *SinkConfig) format() string {
	if c.Format != "" {
		return c.Format
	}
	if u, _ := c.streamURL(); u != nil {
		if f := streamSchemes[strings.ToLower(u.Scheme)]; f != nil {
			return f[0]
		}
		return ""
	}
	switch strings.ToLower(filepath.Ext(string(c.Path))) {
	case ".avi":
		return FormatAVI
	case ".mp4", ".m4v", ".mov":
		return FormatMP4
	case ".ts", ".m2ts":
		return FormatMPEGTS
	case ".png":
		return FormatPNG
	case ".jpg", ".jpeg":
		return FormatJPEG
	}
	return ""
}

// Validate checks the config.
func (c *SinkConfig) Validate() error {
	u, err := c.streamURL()
	if err != nil {
		return err
	}
	if u != nil {
		return c.validateURL(u)
	}
	switch f := c.format(); {
	case f == "": // format's enum holds the rest
		return ds3d.ConfigErrorf("format", "give avi, mp4, mpegts, png or jpeg, or a path ending in one, got %q", c.Path)
	case f == FormatRTSP || f == FormatRTPMPEGTS:
		return ds3d.ConfigErrorf("format", "%s streams to a URL, but path %q is a file", f, c.Path)
	case (f == FormatPNG || f == FormatJPEG) && strings.Count(string(c.Path), "%") != 1:
		return ds3d.ConfigErrorf("path", "a %s sink needs one %%d verb for the frame number in %q", f, c.Path)
	}
	return nil
}

func (c *SinkConfig) validateURL(u *url.URL) error {
	red := u.Redacted()
	scheme := strings.ToLower(u.Scheme)
	formats, ok := streamSchemes[scheme]
	if !ok {
		return ds3d.ConfigErrorf("path", "unknown scheme %q in %q: give a file or an rtsp://, srt://, udp:// or rtp:// URL", u.Scheme, red)
	}
	if u.Hostname() == "" {
		return ds3d.ConfigErrorf("path", "%q names no host (%s://host:port)", red, scheme)
	}
	if scheme != "rtsp" && u.Port() == "" {
		return ds3d.ConfigErrorf("path", "%q names no port (%s://host:port)", red, scheme)
	}
	if f := c.format(); !slices.Contains(formats, f) {
		return ds3d.ConfigErrorf("format", "%s:// streams as %s, not %s", scheme, strings.Join(formats, " or "), f)
	}
	if scheme == "srt" {
		if m := u.Query().Get("mode"); m != "" && c.SRTMode != "" && m != c.SRTMode {
			return ds3d.ConfigErrorf("srt_mode", "is %s, but the URL %q says mode=%s", c.SRTMode, red, m)
		}
	}
	if c.RetryMax < c.Retry {
		return ds3d.ConfigErrorf("retry_max_delay", "%v is shorter than retry_delay %v", c.RetryMax, c.Retry)
	}
	return nil
}

// FrameWriter receives frames of one size in order.
type FrameWriter interface {
	WriteFrame(c Canvas) error
	Close() error
}

// Open returns the writer for cfg's format, for width×height frames.
// mp4, mpegts files and streams start ffmpeg, which ends when ctx does.
// A stream URL gets a [Stream]: frames queue for a writer goroutine and
// are dropped when it falls behind.
func Open(ctx context.Context, cfg *SinkConfig, width, height int) (FrameWriter, error) {
	u, err := cfg.streamURL()
	if err != nil {
		return nil, err
	}
	if u != nil {
		return StartStream(ctx, cfg, width, height, nil, nil)
	}
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
	case FormatMP4, FormatMPEGTS:
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
// (libx264, yuv420p) into an MP4 (or an MPEG-TS file when cfg's format
// is mpegts). Every frame is written: a slow disk slows the pipeline
// rather than losing frames. The process belongs to the context given to
// StartMP4: cancelling it kills ffmpeg.
type MP4Writer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr bytes.Buffer
	path   string
	w, h   int
	row    []byte
	frames int
}

// encoderArgs are ffmpeg's arguments up to the output's: rgb24 frames of
// width×height on stdin, encoded by libx264 into yuv420p. A live stream
// adds -tune zerolatency (no frame lookahead or B-frames, so a frame
// leaves as soon as it is encoded) and a keyframe every second by default.
func encoderArgs(cfg *SinkConfig, width, height int, live bool) []string {
	args := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", width, height), "-r", strconv.Itoa(cfg.FPS), "-i", "-",
		"-an", "-c:v", "libx264", "-preset", cfg.Preset}
	if live {
		args = append(args, "-tune", "zerolatency")
	}
	if cfg.Bitrate > 0 {
		k := strconv.Itoa(cfg.Bitrate) + "k"
		args = append(args, "-b:v", k, "-maxrate", k, "-bufsize", k)
	} else {
		args = append(args, "-crf", strconv.Itoa(cfg.CRF))
	}
	gop := cfg.GOP
	if gop == 0 && live {
		gop = cfg.FPS
	}
	if gop > 0 {
		args = append(args, "-g", strconv.Itoa(gop))
	}
	return append(args, "-pix_fmt", "yuv420p")
}

func evenSize(name string, width, height int) error {
	if width%2 != 0 || height%2 != 0 {
		return fmt.Errorf("%s: H.264 in yuv420p needs an even frame size, got %dx%d", name, width, height)
	}
	return nil
}

// StartMP4 starts ffmpeg writing cfg.Path: an MP4, or MPEG-TS when cfg's
// format is mpegts.
func StartMP4(ctx context.Context, cfg *SinkConfig, width, height int) (*MP4Writer, error) {
	if err := evenSize("mp4 "+string(cfg.Path), width, height); err != nil {
		return nil, err
	}
	args := encoderArgs(cfg, width, height, false)
	if cfg.format() == FormatMPEGTS {
		args = append(args, "-f", "mpegts", string(cfg.Path))
	} else {
		args = append(args, "-movflags", "+faststart", string(cfg.Path))
	}
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
		packRow(m.row[:n], c, y)
		if _, err := m.stdin.Write(m.row[:n]); err != nil {
			return m.wrap(err)
		}
	}
	m.frames++
	return nil
}

// packRow writes row y of c as rgb24 into dst (3×c.Width bytes).
func packRow(dst []byte, c Canvas, y int) {
	src := c.Pix[y*c.Pitch : y*c.Pitch+c.Width*c.BPP]
	if c.BPP == 3 {
		copy(dst, src)
		return
	}
	for x, j := 0, 0; j < len(dst); x, j = x+c.BPP, j+3 {
		dst[j], dst[j+1], dst[j+2] = src[x], src[x+1], src[x+2]
	}
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
	drops  atomic.Uint64
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
		if u, _ := s.cfg.streamURL(); u != nil {
			s.w, err = StartStream(s.ctx, &s.cfg, c.Width, c.Height, &s.drops, s.log)
		} else {
			s.w, err = Open(s.ctx, &s.cfg, c.Width, c.Height)
		}
		if err != nil {
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

// Frames is the number of frames given to the writer, dropped ones
// included.
func (s *Sink) Frames() int { return s.n }

// Dropped is the number of frames a stream dropped because ffmpeg (the
// network) was slow or restarting; the pipeline's metrics read it.
func (s *Sink) Dropped() uint64 { return s.drops.Load() }

// Close finishes the file or the stream.
func (s *Sink) Close() error {
	var err error
	if s.w != nil {
		err = s.w.Close()
		if st, ok := s.w.(*Stream); ok {
			s.log.Info("streamed video", "url", st.url, "format", s.cfg.format(), "frames", s.n, "sent", st.Sent(), "dropped", s.drops.Load(), "restarts", st.Restarts())
		} else {
			s.log.Info("wrote video", "path", s.cfg.Path, "format", s.cfg.format(), "frames", s.n)
		}
	}
	if s.cancel != nil {
		s.cancel()
	}
	return err
}

func init() {
	ds3d.Register(ds3d.KindRender, "video_sink",
		`Writes camera frames to a video or image files: Motion-JPEG AVI (pure Go), H.264 MP4 or MPEG-TS through an ffmpeg subprocess (rgb24 over stdin), or one PNG/JPEG per frame; or streams H.264 live through ffmpeg to an RTSP server, SRT, RTP or UDP, dropping (and counting) frames when the network is slow.`,
		func() *SinkConfig { c := DefaultSinkConfig(); return &c },
		func(c *SinkConfig, env *ds3d.Env) (any, error) { return NewSink(*c, env.Log) })
}
