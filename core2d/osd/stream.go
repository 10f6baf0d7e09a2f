package osd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stream sends frames live to a URL through an ffmpeg subprocess. The
// caller never waits on the network: WriteFrame packs the frame into a
// free buffer and queues it for the writer goroutine, which owns ffmpeg
// and feeds its stdin; with no free buffer (the queue is full because
// ffmpeg or the network is slow, or ffmpeg is restarting) the frame is
// dropped and counted. When ffmpeg ends early the goroutine logs its
// stderr tail and restarts it with backoff, or, with on_error = "fail",
// stops and WriteFrame returns the error.
type Stream struct {
	cfg   SinkConfig
	url   string // redacted, for messages
	args  []string
	w, h  int
	log   *slog.Logger
	drops *atomic.Uint64

	ctx    context.Context // ffmpeg's; cancelled to kill it
	cancel context.CancelFunc
	frames chan []byte // queued rgb24 frames, closed by Close
	free   chan []byte // buffers not in use
	done   chan struct{}

	sent     atomic.Int64
	restarts atomic.Int64
	mu       sync.Mutex
	err      error // set when on_error = "fail" and ffmpeg ended
	reported bool  // err returned by WriteFrame already
	closed   bool
}

// StartStream starts streaming width×height frames to cfg.Path, a URL
// that cfg.Validate accepted. drops (may be nil) counts dropped frames;
// the goroutine and ffmpeg end with ctx or Close.
func StartStream(ctx context.Context, cfg *SinkConfig, width, height int, drops *atomic.Uint64, log *slog.Logger) (*Stream, error) {
	u, err := cfg.streamURL()
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("video_sink: %q is not a stream URL", cfg.Path)
	}
	if err := evenSize(u.Redacted(), width, height); err != nil {
		return nil, err
	}
	if drops == nil {
		drops = new(atomic.Uint64)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := max(cfg.Queue, 1)
	s := &Stream{cfg: *cfg, url: u.Redacted(), w: width, h: height, log: log, drops: drops,
		frames: make(chan []byte, q+1), free: make(chan []byte, q+1), done: make(chan struct{})}
	s.args = append(encoderArgs(cfg, width, height, true), outputArgs(cfg, u)...)
	// q buffers can wait in the queue and one is being written; frames
	// holds them all, so queueing a free buffer never blocks, even with
	// the writer gone.
	for range q + 1 {
		s.free <- make([]byte, 3*width*height)
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	go s.run()
	return s, nil
}

// outputArgs are ffmpeg's output arguments for the stream URL u.
func outputArgs(cfg *SinkConfig, u *url.URL) []string {
	out := *u
	q := out.Query()
	switch strings.ToLower(u.Scheme) {
	case "srt":
		if m := cfg.SRTMode; m != "" {
			q.Set("mode", m)
		}
		out.RawQuery = q.Encode()
	case "udp":
		// Seven 188-byte TS packets fill one datagram below the Ethernet MTU.
		if cfg.format() == FormatMPEGTS && !q.Has("pkt_size") {
			q.Set("pkt_size", "1316")
			out.RawQuery = q.Encode()
		}
	}
	f := cfg.format()
	args := []string{"-f", f}
	if f == FormatRTSP {
		args = append(args, "-rtsp_transport", "tcp")
	}
	if f == FormatMPEGTS || f == FormatRTPMPEGTS {
		// Send each packet as it is muxed, not when the muxer's buffer fills.
		args = append(args, "-flush_packets", "1")
	}
	return append(args, out.String())
}

// WriteFrame queues c for ffmpeg, or drops it when the queue is full. It
// returns an error only for a frame of the wrong size, or once ffmpeg
// has failed with on_error = "fail".
func (s *Stream) WriteFrame(c Canvas) error {
	if c.Width != s.w || c.Height != s.h {
		return fmt.Errorf("stream %s: frame %dx%d, the video is %dx%d", s.url, c.Width, c.Height, s.w, s.h)
	}
	s.mu.Lock()
	err := s.err
	if err != nil {
		s.reported = true
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	var buf []byte
	select {
	case buf = <-s.free:
	default:
		s.drops.Add(1)
		return nil
	}
	n := 3 * c.Width
	for y := 0; y < c.Height; y++ {
		packRow(buf[y*n:(y+1)*n], c, y)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.free <- buf
		return fmt.Errorf("stream %s: write after Close", s.url)
	}
	s.frames <- buf // never blocks: frames has room for every buffer
	return nil
}

// Sent is the number of frames ffmpeg has taken.
func (s *Stream) Sent() int64 { return s.sent.Load() }

// Restarts is the number of times ffmpeg was restarted.
func (s *Stream) Restarts() int64 { return s.restarts.Load() }

// Close sends what is queued, ends ffmpeg's input and waits for it; after
// close_timeout it kills ffmpeg (a stalled network) and returns. The
// error of a failed stream is returned here unless WriteFrame returned it.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.frames)
	s.mu.Unlock()
	t := time.NewTimer(s.cfg.CloseTO)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		s.log.Warn("video_sink: ffmpeg did not finish the stream in time, killing it", "url", s.url, "close_timeout", s.cfg.CloseTO)
		s.cancel()
		<-s.done
	}
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil && !s.reported {
		return s.err
	}
	return nil
}

// run owns ffmpeg: one session per process, restarts with backoff.
func (s *Stream) run() {
	defer close(s.done)
	delay := s.cfg.Retry
	for {
		began := time.Now()
		err := s.session()
		if err == nil || s.ctx.Err() != nil {
			return
		}
		if s.cfg.OnError == "fail" {
			s.log.Error("video_sink: ffmpeg ended", "url", s.url, "err", err)
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			s.discard(nil)
			return
		}
		if time.Since(began) > s.cfg.RetryMax {
			delay = s.cfg.Retry // it ran well for a while: start the backoff over
		}
		s.log.Warn("video_sink: ffmpeg ended, restarting", "url", s.url, "err", err, "retry_in", delay)
		if !s.discard(time.After(delay)) {
			return
		}
		delay = min(2*delay, s.cfg.RetryMax)
		s.restarts.Add(1)
	}
}

// discard drops queued frames until wake fires (true) or the queue is
// closed or the context ends (false). A nil wake waits for the close.
func (s *Stream) discard(wake <-chan time.Time) bool {
	for {
		select {
		case buf, ok := <-s.frames:
			if !ok {
				return false
			}
			s.drops.Add(1)
			s.free <- buf
		case <-wake:
			return true
		case <-s.ctx.Done():
			return false
		}
	}
}

// session runs one ffmpeg process until the queue is closed (nil: ffmpeg
// finished the stream) or ffmpeg ends or fails (the error, with ffmpeg's
// stderr tail).
func (s *Stream) session() error {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.cfg.FFmpeg, s.args...)
	cmd.WaitDelay = time.Second
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("stream %s: %w", s.url, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("stream %s: start %s: %w", s.url, s.cfg.FFmpeg, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(werr error) error {
		if werr == nil {
			werr = errors.New("exited before its input ended")
		}
		return fmt.Errorf("stream %s: ffmpeg: %w: %s", s.url, werr, stderr.String())
	}
	for {
		select {
		case buf, ok := <-s.frames:
			if !ok {
				stdin.Close()
				if werr := <-exited; werr != nil && s.ctx.Err() == nil {
					return fail(werr)
				}
				return nil
			}
			_, werr := stdin.Write(buf)
			s.free <- buf
			if werr != nil {
				// ffmpeg closed its input; it should be exiting, but a
				// process stuck in a network call is killed.
				stdin.Close()
				select {
				case werr = <-exited:
				case <-time.After(time.Second):
					cancel()
					werr = <-exited
				}
				return fail(werr)
			}
			s.sent.Add(1)
		case werr := <-exited:
			return fail(werr)
		}
	}
}

// tailBuffer keeps the last 2 KiB written to it: ffmpeg's stderr, which
// os/exec copies from another goroutine.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 2048

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return "(no stderr)"
	}
	return s
}

var _ io.Writer = (*tailBuffer)(nil)
