package osd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestStreamConfig: stream URLs are accepted with the format their scheme
// implies, and bad ones are refused naming the key and what is accepted.
func TestStreamConfig(t *testing.T) {
	ok := map[string]string{ // path → format
		"rtsp://127.0.0.1:8554/live":         FormatRTSP,
		"rtsp://cam.example/live":            FormatRTSP,
		"srt://127.0.0.1:9000?latency=200":   FormatMPEGTS,
		"udp://239.0.0.1:5000":               FormatMPEGTS,
		"rtp://127.0.0.1:5004":               FormatRTPMPEGTS,
		"out/video.ts":                       FormatMPEGTS,
		"out/video.mp4":                      FormatMP4,
		"srt://127.0.0.1:9000?mode=caller":   FormatMPEGTS,
		"srt://127.0.0.1:9000?mode=listener": FormatMPEGTS,
	}
	for path, want := range ok {
		cfg := DefaultSinkConfig()
		cfg.Path = ds3d.Path(path)
		if path == "srt://127.0.0.1:9000?mode=listener" {
			cfg.SRTMode = "listener"
		}
		if err := ds3d.CheckConfig(&cfg); err != nil {
			t.Errorf("%s: %v", path, err)
		} else if got := cfg.format(); got != want {
			t.Errorf("%s: format %q, want %q", path, got, want)
		}
	}
	bad := []struct {
		path, format, srtMode string
		key                   string   // the key the error names
		want                  []string // all in the error
	}{
		{"http://127.0.0.1:8080/x", "", "", "path", []string{`unknown scheme "http"`, "rtsp://, srt://, udp:// or rtp://"}},
		{"udp://:5000", "", "", "path", []string{"no host"}},
		{"rtsp:///live", "", "", "path", []string{"no host"}},
		{"srt://127.0.0.1", "", "", "path", []string{"no port"}},
		{"rtsp://127.0.0.1/live", "mpegts", "", "format", []string{"rtsp:// streams as rtsp, not mpegts"}},
		{"rtp://127.0.0.1:5004", "mpegts", "", "format", []string{"rtp_mpegts"}},
		{"out/video.mp4", "rtsp", "", "format", []string{"is a file"}},
		{"srt://127.0.0.1:9000?mode=listener", "", "caller", "srt_mode", []string{"mode=listener"}},
		{"http://user:secret@127.0.0.1/live", "", "", "path", []string{"user:xxxxx@"}},
	}
	for _, b := range bad {
		cfg := DefaultSinkConfig()
		cfg.Path, cfg.Format, cfg.SRTMode = ds3d.Path(b.path), b.format, b.srtMode
		err := ds3d.CheckConfig(&cfg)
		if err == nil {
			t.Errorf("%s (format %q): accepted", b.path, b.format)
			continue
		}
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != b.key {
			t.Errorf("%s (format %q): error %q does not name key %q", b.path, b.format, err, b.key)
		}
		for _, w := range b.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s (format %q): error %q lacks %q", b.path, b.format, err, w)
			}
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error shows the password: %v", b.path, err)
		}
	}
}

// colourBars is the test pattern: eight vertical bars of full-level
// colours in the top half (white, yellow, cyan, green, magenta, red, blue,
// black, as SMPTE bars) over a horizontal grey ramp 0..255.
func colourBars(t testing.TB, w, h int) *ds3d.Frame {
	t.Helper()
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, w, h, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := CanvasOf(f)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := c.Pix[y*c.Pitch+3*x:]
			if y < h/2 {
				r, g, b := barColour(8 * x / w)
				p[0], p[1], p[2] = r, g, b
			} else {
				v := byte(255 * x / (w - 1))
				p[0], p[1], p[2] = v, v, v
			}
		}
	}
	return f
}

func barColour(i int) (r, g, b byte) {
	bits := [8]int{7, 6, 3, 2, 5, 4, 1, 0}[i] // r=4, g=2, b=1
	on := func(bit int) byte {
		if bits&bit != 0 {
			return 255
		}
		return 0
	}
	return on(4), on(2), on(1)
}

// psnr of two rgb24 images of the same size, in dB.
func psnr(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(len(a))))
}

// freePort returns a port on 127.0.0.1 nothing listens on now.
func freePort(t testing.TB, network string) int {
	t.Helper()
	var addr net.Addr
	switch network {
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr()
		l.Close()
	default:
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = c.LocalAddr()
		c.Close()
	}
	_, p, _ := net.SplitHostPort(addr.String())
	n, _ := strconv.Atoi(p)
	return n
}

// syncLog collects log output written from the stream's goroutine.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// renderFrames gives sink n copies of f, one every period, and returns
// the first error.
func renderFrames(t testing.TB, s *Sink, f *ds3d.Frame, n int, period time.Duration) error {
	t.Helper()
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyColorFrame, f)
	next := time.Now()
	for k := 0; k < n; k++ {
		if err := s.Render(context.Background(), m); err != nil {
			return err
		}
		next = next.Add(period)
		time.Sleep(time.Until(next))
	}
	return nil
}

// TestStreamServerGone: ffmpeg pushing to an RTSP port nobody listens on
// ends at once ("Connection refused"). With on_error = "fail" the sink's
// Render returns that error, ffmpeg's stderr included; with "retry" the
// sink keeps accepting frames (dropping them), restarts ffmpeg with
// backoff and logs the stderr, and Close returns promptly.
func TestStreamServerGone(t *testing.T) {
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg")
	port := freePort(t, "tcp")
	f := colourBars(t, 64, 48)
	url := "rtsp://127.0.0.1:" + strconv.Itoa(port) + "/live"

	t.Run("fail", func(t *testing.T) {
		cfg := DefaultSinkConfig()
		cfg.Path, cfg.OnError = ds3d.Path(url), "fail"
		s, err := NewSink(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		err = renderFrames(t, s, f, 200, 20*time.Millisecond) // up to 4 s
		if err == nil || !strings.Contains(err.Error(), "Connection refused") || !strings.Contains(err.Error(), url) {
			t.Errorf("Render after the server is gone = %v, want ffmpeg's Connection refused naming %s", err, url)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close after Render reported the failure = %v", err)
		}
	})

	t.Run("retry", func(t *testing.T) {
		var logs syncLog
		cfg := DefaultSinkConfig()
		cfg.Path, cfg.Retry, cfg.RetryMax = ds3d.Path(url), 50*time.Millisecond, 200*time.Millisecond
		s, err := NewSink(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Frames every 20 ms until ffmpeg has been restarted twice (each
		// attempt is an ffmpeg start, slow on a loaded machine), 10 s at most.
		n := 0
		for deadline := time.Now().Add(10 * time.Second); n < 50 || (s.w.(*Stream).Restarts() < 2 && time.Now().Before(deadline)); n += 5 {
			if err := renderFrames(t, s, f, 5, 20*time.Millisecond); err != nil {
				t.Fatalf("Render with on_error = retry: %v", err)
			}
		}
		st := s.w.(*Stream)
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %v", d)
		}
		if st.Restarts() < 2 {
			t.Errorf("%d restarts with a 50..200 ms backoff in 10 s, want ≥ 2", st.Restarts())
		}
		if s.Dropped() == 0 || st.Sent()+int64(s.Dropped()) > int64(n) {
			t.Errorf("sent %d, dropped %d of %d frames", st.Sent(), s.Dropped(), n)
		}
		if l := logs.String(); !strings.Contains(l, "restarting") || !strings.Contains(l, "Connection refused") {
			t.Errorf("log lacks the restart and ffmpeg's stderr:\n%s", l)
		}
	})
}
