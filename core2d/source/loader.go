package source

import (
	"context"

	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Loader is the uri_source dataloader; see Config for what it emits.
type Loader struct {
	cfg  Config
	in   input
	env  *ds3d.Env
	log  *slog.Logger
	key  ds3d.Key
	rgba bool

	r       reader
	pool    *ds3d.FramePool
	w, h    int
	n       int64         // frames emitted
	emitted atomic.Uint64 // n, for readers on other goroutines (metrics)
	loopOff int64         // timestamp offset of the current pass
	lastPTS int64
	start   time.Time
	timer   *time.Timer

	mu     sync.Mutex
	failed error
	done   bool
}

// New checks cfg and opens the input. With on_error = "fail" an input that
// cannot be opened is an error here; with "eos" the error is kept and the
// first Next logs it, marks the source failed and ends its stream.
func New(cfg *Config, env *ds3d.Env) (*Loader, error) {
	if err := ds3d.CheckConfig(cfg); err != nil {
		return nil, err
	}
	if env == nil {
		env = &ds3d.Env{}
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in, err := parseURI(cfg.URI, env.ConfigDir)
	if err != nil {
		return nil, err
	}
	l := &Loader{cfg: *cfg, in: in, env: env, log: log, key: ds3d.Key(cfg.OutputKey), rgba: cfg.OutputFormat == "rgba"}
	if err := l.open(context.Background()); err != nil {
		err = fmt.Errorf("uri_source %s: %w", cfg.URI, err)
		if cfg.OnError == "fail" {
			return nil, err
		}
		l.failed = err
	}
	return l, nil
}

func (l *Loader) open(ctx context.Context) error {
	r, err := open(ctx, l.in, &l.cfg, l.env)
	if err != nil {
		return err
	}
	w, h := r.size()
	pool, err := ds3d.NewFramePool(l.cfg.MemPoolSize, func() *ds3d.Frame {
		ft := ds3d.FrameColorRGB
		if l.rgba {
			ft = ds3d.FrameColorRGBA
		}
		f, _ := ds3d.NewImageFrame(ft, ds3d.DTypeU8, w, h, 0) // size checked by the reader
		return f
	})
	if err != nil {
		r.Close()
		return err
	}
	l.r, l.pool, l.w, l.h = r, pool, w, h
	return nil
}

// Size is the frame size, 0×0 when the input failed to open.
func (l *Loader) Size() (width, height int) { return l.w, l.h }

// Failed returns the error that ended a source with on_error = "eos", or
// nil.
func (l *Loader) Failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// fail applies on_error to err: the error itself, or a logged failure and
// end of stream.
func (l *Loader) fail(err error) error {
	if l.cfg.OnError == "fail" {
		return err
	}
	l.mu.Lock()
	l.failed, l.done = err, true
	l.mu.Unlock()
	l.Close()
	l.log.Error("source failed; ending its stream (on_error = eos)", "uri", l.cfg.URI, "source_id", l.cfg.SourceID, "frames", l.n, "err", err)
	return io.EOF
}

// Next decodes the next frame.
func (l *Loader) Next(ctx context.Context) (*ds3d.DataMap, error) {
	if err := l.Failed(); err != nil {
		if !l.done {
			return nil, l.fail(err)
		}
		return nil, io.EOF
	}
	if l.done || (l.cfg.MaxFrames > 0 && l.n >= int64(l.cfg.MaxFrames)) {
		l.Close() // an ffmpeg process is not left running until the pipeline ends
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := l.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	pts, err := l.r.read(ctx, f)
	if err == io.EOF && l.cfg.Loop && l.n > 0 {
		l.loopOff += l.lastPTS + l.r.period()
		if err = l.r.rewind(ctx); err == nil {
			pts, err = l.r.read(ctx, f)
		}
	}
	if err != nil {
		f.Release()
		if err == io.EOF {
			l.done = true
			l.Close()
			return nil, io.EOF
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, l.fail(fmt.Errorf("uri_source %s: frame %d: %w", l.cfg.URI, l.n, err))
	}
	if err := l.pace(ctx); err != nil {
		f.Release()
		return nil, err
	}
	l.lastPTS = pts
	m := ds3d.NewDataMap()
	m.SetFrame(l.key, f)
	m.SetTimestamp(l.loopOff + pts)
	m.SetInt64(ds3d.KeySourceID, int64(l.cfg.SourceID))
	m.SetInt64(ds3d.KeyFrameNumber, l.n)
	if l.n == 0 {
		m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
	}
	l.n++
	l.emitted.Add(1)
	return m, nil
}

// PoolStats reports the frame pool (nil before the input opened).
func (l *Loader) PoolStats() []ds3d.PoolStat {
	if l.pool == nil {
		return nil
	}
	return []ds3d.PoolStat{l.pool.Stat("frames")}
}

// SourceCounts reports the datamaps emitted under the source's id.
func (l *Loader) SourceCounts(fn func(source int64, datamaps uint64)) {
	fn(int64(l.cfg.SourceID), l.emitted.Load())
}

// pace holds frame n back until n/frame_rate after the first.
func (l *Loader) pace(ctx context.Context) error {
	if l.cfg.FrameRate <= 0 {
		return nil
	}
	if l.n == 0 {
		l.start = time.Now()
		return nil
	}
	d := time.Until(l.start.Add(time.Duration(float64(l.n) * 1e9 / l.cfg.FrameRate)))
	if d <= 0 {
		return nil
	}
	if l.timer == nil {
		l.timer = time.NewTimer(d)
	} else {
		l.timer.Reset(d)
	}
	select {
	case <-l.timer.C:
		return nil
	case <-ctx.Done():
		l.timer.Stop()
		return ctx.Err()
	}
}

// Close stops the decoder (and its ffmpeg process).
func (l *Loader) Close() error {
	if l.r != nil {
		err := l.r.Close()
		l.r = nil
		return err
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindLoader, "uri_source",
		`Decodes one video or image source (DeepStream's uridecodebin): Motion-JPEG AVI in pure Go, other files and rtsp:// through an ffmpeg subprocess, or a JPEG/PNG glob; emits one datamap per frame with DS3D::ColorFrame (pooled u8 RGB/RGBA, packed rows), DS3D::Timestamp (stream PTS, ns), DS3D::FrameNumber, DS3D::SourceId and DS3D::FirstSourceFrame; loop, max_frames, real-time pacing; on_error = eos ends only this source.`,
		func() *Config { c := Default(); return &c },
		func(c *Config, env *ds3d.Env) (any, error) { return New(c, env) })
}
