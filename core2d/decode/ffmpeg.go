package decode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pixel formats of FFmpegOptions.PixFmt (ffmpeg's names).
const (
	PixRGB24 = "rgb24" // packed R, G, B
	PixRGBA  = "rgba"  // packed R, G, B, A (A = 255)
	PixNV12  = "nv12"  // Y plane, then interleaved U, V at half resolution: half the bytes of rgb24 and no colour conversion
)

// FFmpegOptions configures an ffmpeg decoding subprocess.
type FFmpegOptions struct {
	// PixFmt is the output layout: PixRGB24 (default), PixRGBA or PixNV12.
	PixFmt string
	// HWAccel is passed through as `-hwaccel HWAccel` (e.g. "cuda",
	// "vaapi"); empty decodes in software. Frames come back to system
	// memory either way.
	HWAccel string
	// HWAccelDevice is passed as `-hwaccel_device` when set.
	HWAccelDevice string
	// Threads is the decoder's thread count (`-threads`); 0 lets ffmpeg
	// choose (one per core).
	Threads int
	// Timeout bounds network I/O of rtsp:// and other URLs (ffmpeg's
	// `-timeout` for RTSP, `-rw_timeout` otherwise) and the probe;
	// default 5 s.
	Timeout time.Duration
	// RTSPTransport is "tcp" (default) or "udp".
	RTSPTransport string
	// Log receives warnings (decoder errors, a stream that ended early);
	// nil discards them.
	Log *slog.Logger
}

// StreamInfo is what ffprobe says about a URL's first video stream.
type StreamInfo struct {
	Codec         string
	Width, Height int
	// TimeBase is the stream's time base (seconds per PTS tick) as num/den.
	TimeBaseNum, TimeBaseDen int64
	// FrameRate is the average frame rate in frames per second, 0 when
	// unknown (some live streams).
	FrameRate float64
	// Frames is the frame count the container declares, 0 when unknown.
	Frames int
}

// FFmpegError is a failure of the ffmpeg or ffprobe subprocess, with the
// last lines it wrote to stderr.
type FFmpegError struct {
	URI    string
	Op     string // "probe", "start", "decode"
	Err    error
	Stderr string
}

func (e *FFmpegError) Error() string {
	s := fmt.Sprintf("ffmpeg %s: %s: %v", e.URI, e.Op, e.Err)
	if e.Stderr != "" {
		s += ": " + e.Stderr
	}
	return s
}

func (e *FFmpegError) Unwrap() error { return e.Err }

// lookTool finds ffmpeg or ffprobe on PATH with an error that says what to
// install.
func lookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found on PATH (install Debian's ffmpeg package: apt-get install ffmpeg): %w", name, err)
	}
	return p, nil
}

func isNetwork(uri string) bool {
	i := strings.Index(uri, "://")
	return i > 0 && !strings.HasPrefix(uri, "file://")
}

func (o *FFmpegOptions) withDefaults() FFmpegOptions {
	c := *o
	if c.PixFmt == "" {
		c.PixFmt = PixRGB24
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.RTSPTransport == "" {
		c.RTSPTransport = "tcp"
	}
	return c
}

// inputArgs are the options that go before -i for the URL.
func (o *FFmpegOptions) inputArgs(uri string) []string {
	var a []string
	if strings.HasPrefix(uri, "rtsp://") || strings.HasPrefix(uri, "rtsps://") {
		a = append(a, "-rtsp_transport", o.RTSPTransport, "-timeout", strconv.FormatInt(o.Timeout.Microseconds(), 10))
	} else if isNetwork(uri) {
		a = append(a, "-rw_timeout", strconv.FormatInt(o.Timeout.Microseconds(), 10))
	}
	return a
}

// localPath returns the file a URI names ("file:///x" or a plain path) and
// whether it is one.
func localPath(uri string) (string, bool) {
	if p, ok := strings.CutPrefix(uri, "file://"); ok {
		return p, true
	}
	return uri, !isNetwork(uri)
}

// ProbeFFmpeg runs ffprobe on uri's first video stream.
func ProbeFFmpeg(ctx context.Context, uri string, opts FFmpegOptions) (StreamInfo, error) {
	o := opts.withDefaults()
	fail := func(err error, stderr string) (StreamInfo, error) {
		return StreamInfo{}, &FFmpegError{URI: uri, Op: "probe", Err: err, Stderr: stderr}
	}
	if p, ok := localPath(uri); ok {
		if _, err := os.Stat(p); err != nil {
			return fail(err, "")
		}
	}
	bin, err := lookTool("ffprobe")
	if err != nil {
		return fail(err, "")
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout+5*time.Second)
	defer cancel()
	in, _ := localPath(uri)
	args := append([]string{"-v", "error", "-select_streams", "v:0", "-show_entries",
		"stream=codec_name,width,height,time_base,avg_frame_rate,r_frame_rate,nb_frames", "-of", "json"}, o.inputArgs(uri)...)
	cmd := exec.CommandContext(ctx, bin, append(args, in)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("no answer within %v: %w", o.Timeout+5*time.Second, err)
		}
		return fail(err, lastLines(stderr.String(), 3))
	}
	var out struct {
		Streams []struct {
			Codec    string `json:"codec_name"`
			Width    int    `json:"width"`
			Height   int    `json:"height"`
			TimeBase string `json:"time_base"`
			Avg      string `json:"avg_frame_rate"`
			R        string `json:"r_frame_rate"`
			NbFrames string `json:"nb_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return fail(fmt.Errorf("reading ffprobe's JSON: %w", err), "")
	}
	if len(out.Streams) == 0 {
		return fail(errors.New("no video stream"), lastLines(stderr.String(), 3))
	}
	s := out.Streams[0]
	if s.Width <= 0 || s.Height <= 0 || s.Width*s.Height > 1<<28 {
		return fail(fmt.Errorf("video stream %s has size %dx%d", s.Codec, s.Width, s.Height), "")
	}
	info := StreamInfo{Codec: s.Codec, Width: s.Width, Height: s.Height}
	info.TimeBaseNum, info.TimeBaseDen = ratio(s.TimeBase)
	for _, r := range []string{s.Avg, s.R} {
		if n, d := ratio(r); n > 0 && d > 0 {
			info.FrameRate = float64(n) / float64(d)
			break
		}
	}
	info.Frames, _ = strconv.Atoi(s.NbFrames)
	return info, nil
}

func ratio(s string) (int64, int64) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0
	}
	n, err1 := strconv.ParseInt(a, 10, 64)
	d, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || d == 0 {
		return 0, 0
	}
	return n, d
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// FFmpeg decodes a video file or stream with an ffmpeg subprocess that
// writes raw frames to a pipe: H.264, H.265, MPEG-4 and whatever else the
// installed ffmpeg reads, from files or rtsp:// (and other) URLs. Frame
// PTS come from ffmpeg's showinfo filter (each frame's pts in the stream
// time base, relative to the stream start), so variable frame rates and
// live streams are stamped as ffmpeg saw them.
//
// The process belongs to the FFmpeg: a goroutine drains its stderr and
// waits for it, and Close (or the context given to OpenFFmpeg ending)
// kills it and waits, so no process outlives its reader. Not safe for
// concurrent use.
type FFmpeg struct {
	URI  string
	Info StreamInfo
	opts FFmpegOptions

	cmd       *exec.Cmd
	out       *os.File // read end of ffmpeg's stdout
	pts       chan int64
	done      chan struct{} // closed when the process has been waited for
	waitErr   error
	mu        sync.Mutex
	tail      []string // last stderr lines that are not showinfo's
	decodeErr int      // stderr lines at level error seen
	frameLen  int
	n         int // frames read
	closed    bool
}

// FrameBytes is the size of one frame in the chosen pixel format.
func FrameBytes(pixFmt string, w, h int) int {
	switch pixFmt {
	case PixRGBA:
		return w * h * 4
	case PixNV12:
		return w*h + 2*((w+1)/2)*((h+1)/2)
	}
	return w * h * 3
}

// OpenFFmpeg probes uri and starts ffmpeg on it. The process stops when
// ctx ends or Close is called.
func OpenFFmpeg(ctx context.Context, uri string, opts FFmpegOptions) (*FFmpeg, error) {
	o := opts.withDefaults()
	switch o.PixFmt {
	case PixRGB24, PixRGBA, PixNV12:
	default:
		return nil, fmt.Errorf("ffmpeg %s: pixel format %q, want rgb24, rgba or nv12", uri, o.PixFmt)
	}
	info, err := ProbeFFmpeg(ctx, uri, o)
	if err != nil {
		return nil, err
	}
	bin, err := lookTool("ffmpeg")
	if err != nil {
		return nil, &FFmpegError{URI: uri, Op: "start", Err: err}
	}
	in, _ := localPath(uri)
	args := []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"}
	if o.HWAccel != "" {
		args = append(args, "-hwaccel", o.HWAccel)
		if o.HWAccelDevice != "" {
			args = append(args, "-hwaccel_device", o.HWAccelDevice)
		}
	}
	if o.Threads > 0 {
		args = append(args, "-threads", strconv.Itoa(o.Threads))
	}
	args = append(args, o.inputArgs(uri)...)
	args = append(args, "-i", in, "-map", "0:v:0", "-an", "-sn", "-dn",
		"-vf", "showinfo=checksum=0", "-fps_mode", "passthrough",
		"-f", "rawvideo", "-pix_fmt", o.PixFmt, "pipe:1")
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, &FFmpegError{URI: uri, Op: "start", Err: err}
	}
	er, ew, err := os.Pipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, &FFmpegError{URI: uri, Op: "start", Err: err}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = pw, ew
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		er.Close()
		ew.Close()
		return nil, &FFmpegError{URI: uri, Op: "start", Err: err}
	}
	pw.Close()
	ew.Close()
	f := &FFmpeg{URI: uri, Info: info, opts: o, cmd: cmd, out: pr,
		pts: make(chan int64, 1024), done: make(chan struct{}),
		frameLen: FrameBytes(o.PixFmt, info.Width, info.Height)}
	go f.own(er)
	return f, nil
}

// own reads ffmpeg's stderr — showinfo's per-frame pts, and the other
// lines for error messages — until the process closes it, then waits for
// the process.
func (f *FFmpeg) own(stderr *os.File) {
	defer close(f.done)
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	sc.Split(scanLinesCR)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "] n:"); i >= 0 && strings.Contains(line[:i], "showinfo") {
			if p, ok := showinfoPTS(line[i+4:]); ok {
				f.pts <- p
			}
			continue
		}
		if strings.Contains(line, "showinfo") || strings.TrimSpace(line) == "" {
			continue
		}
		f.mu.Lock()
		if isErrorLine(line) {
			f.decodeErr++
		}
		f.tail = append(f.tail, line)
		if len(f.tail) > 8 {
			f.tail = f.tail[1:]
		}
		f.mu.Unlock()
	}
	io.Copy(io.Discard, stderr)
	stderr.Close()
	close(f.pts)
	f.waitErr = f.cmd.Wait()
}

// scanLinesCR splits on \n and \r (ffmpeg ends progress lines with \r).
func scanLinesCR(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// showinfoPTS parses "   0 pts:   2048 pts_time:0.2 ..." (after "n:").
func showinfoPTS(s string) (int64, bool) {
	i := strings.Index(s, "pts:")
	if i < 0 {
		return 0, false
	}
	s = strings.TrimLeft(s[i+4:], " ")
	j := strings.IndexByte(s, ' ')
	if j < 0 {
		j = len(s)
	}
	p, err := strconv.ParseInt(s[:j], 10, 64)
	return p, err == nil
}

// isErrorLine tells decoder complaints from ffmpeg's informational output.
func isErrorLine(l string) bool {
	l = strings.ToLower(l)
	for _, w := range []string{"error", "invalid", "corrupt", "truncat", "missing", "partial file", "refused", "timed out", "not found"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

func (f *FFmpeg) stderrTail() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.tail, " | ")
}

// FrameBytes is the size of one frame of this stream.
func (f *FFmpeg) FrameBytes() int { return f.frameLen }

// Frames is the number of frames read so far.
func (f *FFmpeg) Frames() int { return f.n }

// Read reads the next frame into dst (at least FrameBytes long) and
// returns its presentation time in nanoseconds from the stream start. At
// the end of the stream it returns io.EOF — after logging a warning that
// names the last frame when ffmpeg reported decoder errors or the
// container declared more frames (a truncated file). A process that fails,
// or a frame cut short, is an *FFmpegError.
func (f *FFmpeg) Read(dst []byte) (ptsNs int64, err error) {
	if f.closed {
		return 0, &FFmpegError{URI: f.URI, Op: "decode", Err: errors.New("read after Close")}
	}
	if len(dst) < f.frameLen {
		return 0, fmt.Errorf("ffmpeg %s: buffer of %d bytes for a %dx%d %s frame of %d", f.URI, len(dst), f.Info.Width, f.Info.Height, f.opts.PixFmt, f.frameLen)
	}
	n, err := io.ReadFull(f.out, dst[:f.frameLen])
	if err != nil {
		<-f.done // stderr is drained and the process waited for
		if n > 0 {
			return 0, &FFmpegError{URI: f.URI, Op: "decode", Stderr: f.stderrTail(),
				Err: fmt.Errorf("frame %d cut short: %d of %d bytes", f.n, n, f.frameLen)}
		}
		if f.waitErr != nil {
			return 0, &FFmpegError{URI: f.URI, Op: "decode", Stderr: f.stderrTail(),
				Err: fmt.Errorf("after %d frames: %w", f.n, f.waitErr)}
		}
		f.mu.Lock()
		decodeErr := f.decodeErr
		f.mu.Unlock()
		if f.opts.Log != nil && (decodeErr > 0 || f.Info.Frames > 0 && f.n < f.Info.Frames) {
			f.opts.Log.Warn("ffmpeg stream ended early or with decoder errors",
				"uri", f.URI, "last_frame", f.n-1, "frames_read", f.n, "frames_declared", f.Info.Frames,
				"decoder_errors", decodeErr, "stderr", f.stderrTail())
		}
		return 0, io.EOF
	}
	k := f.n
	f.n++
	p, ok := <-f.pts
	if !ok || f.Info.TimeBaseDen == 0 {
		// No showinfo line (cannot happen with a working ffmpeg): stamp
		// by frame index.
		if f.Info.FrameRate > 0 {
			return int64(float64(k) * 1e9 / f.Info.FrameRate), nil
		}
		return 0, nil
	}
	return p * f.Info.TimeBaseNum * 1e9 / f.Info.TimeBaseDen, nil
}

// Kill stops the process without waiting: a Read blocked on the pipe
// returns. Unlike the other methods it may be called from any goroutine
// (it is how a context watcher unblocks a reader); Close still has to be
// called.
func (f *FFmpeg) Kill() {
	select {
	case <-f.done:
	default:
		f.cmd.Process.Kill()
	}
}

// Close kills ffmpeg if it still runs and waits for it.
func (f *FFmpeg) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	select {
	case <-f.done:
	default:
		f.cmd.Process.Kill()
	}
	f.out.Close() // unblocks a process writing into a full pipe
	for range f.pts {
	}
	<-f.done
	return nil
}
