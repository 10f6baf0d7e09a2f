package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// reader is one pass over an input: frames decoded into pooled frames.
type reader interface {
	size() (w, h int)
	// read decodes the next frame into f and returns its PTS in ns from
	// the start of the pass, or io.EOF after the last.
	read(ctx context.Context, f *ds3d.Frame) (int64, error)
	// period is the time from one frame to the next (the loop gap).
	period() int64
	// rewind starts the next pass.
	rewind(ctx context.Context) error
	Close() error
}

// input is a parsed URI.
type input struct {
	kind string // "avi", "ffmpeg", "images"
	path string // local path or glob, or the URL for network streams
	live bool
}

func isGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

// parseURI tells which reader a URI needs; relative paths are resolved
// against dir (the config file's folder).
func parseURI(uri, dir string) (input, error) {
	if i := strings.Index(uri, "://"); i > 0 && !strings.HasPrefix(uri, "file://") {
		scheme := uri[:i]
		switch scheme {
		case "rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt":
			return input{kind: "ffmpeg", path: uri, live: scheme != "http" && scheme != "https"}, nil
		}
		return input{}, ds3d.ConfigErrorf("uri", "scheme %q of %q: want file://, rtsp://, rtmp://, http(s)://, udp://, tcp:// or srt://", scheme, uri)
	}
	p := strings.TrimPrefix(uri, "file://")
	if p == "" {
		return input{}, ds3d.ConfigErrorf("uri", "%q names no file", uri)
	}
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	ext := strings.ToLower(filepath.Ext(p))
	switch {
	case isGlob(p), ext == ".jpg", ext == ".jpeg", ext == ".png":
		return input{kind: "images", path: p}, nil
	case ext == ".avi":
		return input{kind: "avi", path: p}, nil
	}
	return input{kind: "ffmpeg", path: p}, nil
}

// aviReader reads a Motion-JPEG AVI in pure Go (libjpeg-turbo with the
// turbojpeg build tag).
type aviReader struct {
	a   *decode.AVI
	dec *decode.JPEG
	k   int
	buf []byte
	per int64
}

func openAVI(path string, rateHz float64) (*aviReader, error) {
	a, err := decode.OpenAVI(path)
	if err != nil {
		return nil, err
	}
	dec, err := decode.NewJPEG()
	if err != nil {
		a.Close()
		return nil, err
	}
	r := &aviReader{a: a, dec: dec, per: a.FrameNs(1)}
	if r.per <= 0 {
		r.per = int64(1e9 / rateHz)
	}
	return r, nil
}

func (r *aviReader) size() (int, int) { return r.a.Width, r.a.Height }
func (r *aviReader) period() int64    { return r.per }
func (r *aviReader) rewind(context.Context) error {
	r.k = 0
	return nil
}

func (r *aviReader) read(_ context.Context, f *ds3d.Frame) (int64, error) {
	if r.k >= r.a.Frames() {
		return 0, io.EOF
	}
	k := r.k
	var err error
	r.buf, err = r.a.DecodeFrame(k, r.dec, f, r.buf)
	if err != nil {
		return 0, err
	}
	r.k++
	return int64(k) * r.per, nil
}

func (r *aviReader) Close() error {
	r.dec.Close()
	return r.a.Close()
}

// imageReader reads an image sequence: JPEGs through decode.JPEG, PNGs
// through image/png.
type imageReader struct {
	files []string
	w, h  int
	k     int
	per   int64
	dec   *decode.JPEG
	buf   []byte
}

func openImages(pattern string, rateHz float64) (*imageReader, error) {
	var files []string
	if isGlob(pattern) {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("image sequence %q: %w", pattern, err)
		}
		sort.Strings(m)
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && !st.IsDir() {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("image sequence %q: no file matches: %w", pattern, os.ErrNotExist)
		}
	} else {
		if _, err := os.Stat(pattern); err != nil {
			return nil, fmt.Errorf("image %w", err)
		}
		files = []string{pattern}
	}
	w, h, err := decode.ImageSize(files[0])
	if err != nil {
		return nil, err
	}
	dec, err := decode.NewJPEG()
	if err != nil {
		return nil, err
	}
	return &imageReader{files: files, w: w, h: h, per: int64(1e9 / rateHz), dec: dec}, nil
}

func (r *imageReader) size() (int, int) { return r.w, r.h }
func (r *imageReader) period() int64    { return r.per }
func (r *imageReader) rewind(context.Context) error {
	r.k = 0
	return nil
}

func isJPEG(b []byte) bool { return len(b) > 2 && b[0] == 0xff && b[1] == 0xd8 }

func (r *imageReader) read(_ context.Context, f *ds3d.Frame) (int64, error) {
	if r.k >= len(r.files) {
		return 0, io.EOF
	}
	p := r.files[r.k]
	var err error
	r.buf, err = decode.ReadFile(p, r.buf)
	if err != nil {
		return 0, err
	}
	if isJPEG(r.buf) {
		err = r.dec.Decode(p, r.buf, f)
	} else {
		err = decodeOther(p, r.buf, f)
	}
	if err != nil {
		return 0, err
	}
	k := r.k
	r.k++
	return int64(k) * r.per, nil
}

func (r *imageReader) Close() error { return r.dec.Close() }

// ffmpegReader decodes through an ffmpeg subprocess, straight into the
// frame's bytes when its rows are packed.
type ffmpegReader struct {
	in   input
	opts decode.FFmpegOptions
	ff   *decode.FFmpeg
	per  int64
	buf  []byte
	// The context the reads are for: when it ends, ffmpeg is killed so a
	// read blocked on a stalled stream returns. Registered once per
	// context, not per frame.
	watched context.Context
	stop    func() bool
}

func (r *ffmpegReader) watch(ctx context.Context) {
	if ctx == r.watched {
		return
	}
	if r.stop != nil {
		r.stop()
	}
	ff := r.ff
	r.watched, r.stop = ctx, context.AfterFunc(ctx, ff.Kill)
}

func openFFmpeg(ctx context.Context, in input, opts decode.FFmpegOptions) (*ffmpegReader, error) {
	ff, err := decode.OpenFFmpeg(ctx, in.path, opts)
	if err != nil {
		return nil, err
	}
	r := &ffmpegReader{in: in, opts: opts, ff: ff, per: int64(1e9) / 30}
	if ff.Info.FrameRate > 0 {
		r.per = int64(1e9 / ff.Info.FrameRate)
	}
	return r, nil
}

func (r *ffmpegReader) size() (int, int) { return r.ff.Info.Width, r.ff.Info.Height }
func (r *ffmpegReader) period() int64    { return r.per }

func (r *ffmpegReader) rewind(ctx context.Context) error {
	if r.in.live {
		return io.EOF
	}
	r.ff.Close()
	r.unwatch()
	ff, err := decode.OpenFFmpeg(ctx, r.in.path, r.opts)
	if err != nil {
		return err
	}
	if ff.Info.Width != r.ff.Info.Width || ff.Info.Height != r.ff.Info.Height {
		ff.Close()
		return fmt.Errorf("%s changed size between loops: %dx%d, then %dx%d", r.in.path, r.ff.Info.Width, r.ff.Info.Height, ff.Info.Width, ff.Info.Height)
	}
	r.ff = ff
	return nil
}

func (r *ffmpegReader) unwatch() {
	if r.stop != nil {
		r.stop()
		r.stop, r.watched = nil, nil
	}
}

func (r *ffmpegReader) read(ctx context.Context, f *ds3d.Frame) (int64, error) {
	r.watch(ctx)
	n := r.ff.FrameBytes()
	if f.Plane.Pitch*f.Plane.Height == n && len(f.Data) >= n {
		return r.ff.Read(f.Data)
	}
	if len(r.buf) < n {
		r.buf = make([]byte, n)
	}
	pts, err := r.ff.Read(r.buf)
	if err != nil {
		return 0, err
	}
	row := f.Plane.Width * f.Plane.BytesPerPixel
	for y := 0; y < f.Plane.Height; y++ {
		copy(f.Data[y*f.Plane.Pitch:y*f.Plane.Pitch+row], r.buf[y*row:])
	}
	return pts, nil
}

func (r *ffmpegReader) Close() error {
	r.unwatch()
	return r.ff.Close()
}

// open makes the reader for a parsed URI.
func open(ctx context.Context, in input, cfg *Config, env *ds3d.Env) (reader, error) {
	switch in.kind {
	case "images":
		return openImages(in.path, cfg.ImageRateHz)
	case "avi":
		r, err := openAVI(in.path, cfg.ImageRateHz)
		var fe *decode.FormatError
		if err != nil && errors.As(err, &fe) && strings.Contains(fe.Msg, "video codec") {
			break // not Motion-JPEG: ffmpeg reads it
		}
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	pix := decode.PixRGB24
	if cfg.OutputFormat == "rgba" {
		pix = decode.PixRGBA
	}
	return openFFmpeg(ctx, in, decode.FFmpegOptions{PixFmt: pix, HWAccel: cfg.HWAccel, Threads: cfg.DecodeThreads,
		Timeout: time.Duration(cfg.TimeoutS * float64(time.Second)), Log: env.Log})
}
