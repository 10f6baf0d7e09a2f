package osd

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/ds3d-go/ds3d-go/core2d/source"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// listening reports whether something on this host listens on port:
// a bound UDP socket, or a TCP socket in state LISTEN (0A), read from
// /proc/net, so a test can start sending once its receiver is ready.
func listening(network string, port int) bool {
	hexPort := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/" + network, "/proc/net/" + network + "6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 3 && strings.HasSuffix(fs[1], hexPort) && (network == "udp" || fs[3] == "0A") {
				return true
			}
		}
	}
	return false
}

// receiver is an ffmpeg decoding a stream into raw rgb24 frames.
type receiver struct {
	cmd    *exec.Cmd
	out    string
	stderr bytes.Buffer
	done   chan error
}

// startReceiver starts `ffmpeg INPUT_ARGS -f rawvideo -pix_fmt rgb24 OUT`
// and waits until it listens on port.
func startReceiver(t *testing.T, network string, port int, input ...string) *receiver {
	t.Helper()
	r := &receiver{out: filepath.Join(t.TempDir(), "received.rgb"), done: make(chan error, 1)}
	args := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, input...)
	// passthrough: each decoded frame once, none duplicated or dropped to
	// keep a constant rate.
	args = append(args, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", r.out)
	r.cmd = exec.Command("ffmpeg", args...)
	r.cmd.Stderr = &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	for deadline := time.Now().Add(5 * time.Second); !listening(network, port); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("receiver ffmpeg %s does not listen on %s port %d after 5 s: %s", strings.Join(args, " "), network, port, r.stderr.String())
		}
	}
	return r
}

// wait waits up to d for the receiver to end, then interrupts it (RTP
// input has no read timeout, and a blocked RTP read ignores SIGINT, so it
// is killed a second later: rawvideo output is on disk as it goes), and
// returns the frames it decoded.
func (r *receiver) wait(t *testing.T, d time.Duration, frameSize int) [][]byte {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		if err != nil {
			t.Logf("receiver ended: %v: %s", err, r.stderr.String())
		}
	case <-time.After(d):
		r.cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-r.done:
			r.done <- err
		case <-time.After(time.Second):
			r.cmd.Process.Kill()
			t.Logf("receiver still running 1 s after SIGINT, killed")
		}
	}
	b, err := os.ReadFile(r.out)
	if err != nil {
		t.Fatalf("receiver wrote nothing: %v: %s", err, r.stderr.String())
	}
	var frames [][]byte
	for len(b) >= frameSize {
		frames, b = append(frames, b[:frameSize]), b[frameSize:]
	}
	return frames
}

// TestE2EStreamReceive streams 40 frames of colour bars (320×240, 20 fps,
// one keyframe a second) through video_sink to an ffmpeg receiver started
// first on the loopback, for each transport, and checks what the receiver
// decoded: all 40 frames, less up to 3 for the transport (SRT's live mode
// discards what is unsent when the caller closes: 38 of 40 measured) or,
// for RTP, one GOP (20): ffmpeg's RTP demuxer loses the stream's first
// packets while it starts (34 of 40 measured with an SDP file, 12 without),
// so it decodes from the second keyframe at worst; and
// every decoded frame within 30 dB PSNR of the sent
// one — x264 at CRF 23 keeps flat bars and a ramp near 40 dB; a wrong
// colour order, size or pixel format gives under 15 dB. Each bar's mean
// colour in the last frame is within 8 levels of the sent one.
func TestE2EStreamReceive(t *testing.T) {
	testenv.E2E(t)
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg")
	const w, h, n, fps = 320, 240, 40, 20
	sent := colourBars(t, w, h)
	cases := []struct {
		name, network string
		url           func(port int) string
		input         func(port int) []string
		format        string
		lose          int // frames the receiver may lose
	}{
		{"udp-mpegts", "udp",
			func(p int) string { return fmt.Sprintf("udp://127.0.0.1:%d", p) },
			func(p int) []string {
				return []string{"-i", fmt.Sprintf("udp://127.0.0.1:%d?timeout=1500000&buffer_size=4194304", p)}
			}, "", 3},
		{"udp-rtp-mpegts", "udp",
			func(p int) string { return fmt.Sprintf("udp://127.0.0.1:%d", p) },
			func(p int) []string { return rtpInput(t, p) }, FormatRTPMPEGTS, fps},
		{"rtp", "udp",
			func(p int) string { return fmt.Sprintf("rtp://127.0.0.1:%d", p) },
			func(p int) []string { return rtpInput(t, p) }, "", fps},
		{"srt", "udp",
			func(p int) string { return fmt.Sprintf("srt://127.0.0.1:%d", p) },
			func(p int) []string { return []string{"-i", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener", p)} }, "", 3},
		{"rtsp", "tcp",
			func(p int) string { return fmt.Sprintf("rtsp://127.0.0.1:%d/live", p) },
			func(p int) []string {
				return []string{"-rtsp_flags", "listen", "-rtsp_transport", "tcp", "-i", fmt.Sprintf("rtsp://127.0.0.1:%d/live", p)}
			}, "", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "srt" && !ffmpegHasProtocol(t, "srt") {
				testenv.SkipOrFail(t, "this ffmpeg is built without libsrt (Debian's has it: apt-get install ffmpeg)")
			}
			port := freePort(t, tc.network)
			r := startReceiver(t, tc.network, port, tc.input(port)...)
			cfg := DefaultSinkConfig()
			cfg.Path, cfg.Format, cfg.FPS, cfg.OnError = ds3d.Path(tc.url(port)), tc.format, fps, "fail"
			// Room for every frame while ffmpeg starts and connects, so the
			// count received is the transport's alone.
			cfg.Queue = n
			s, err := NewSink(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := renderFrames(t, s, sent, n, time.Second/fps); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			// The receivers end on their own (a read timeout, the sender
			// closing) but RTP's; a loaded machine decodes late.
			wait := 15 * time.Second
			if tc.lose == fps {
				wait = 4 * time.Second
			}
			got := r.wait(t, wait, w*h*3)
			st := s.w.(*Stream)
			t.Logf("%s: sent %d (dropped %d) in %v, received %d frames", tc.name, st.Sent(), s.Dropped(), elapsed.Round(time.Millisecond), len(got))
			if st.Sent()+int64(s.Dropped()) != n || s.Dropped() != 0 {
				t.Errorf("sent %d and dropped %d of %d frames with a queue of %d", st.Sent(), s.Dropped(), n, n)
			}
			if len(got) < n-tc.lose || len(got) > n {
				t.Errorf("receiver decoded %d frames, sent %d", len(got), n)
			}
			c, _ := CanvasOf(sent)
			worst := 1e9
			for _, g := range got {
				worst = min(worst, psnr(g, c.Pix))
			}
			if worst < 30 {
				t.Errorf("worst PSNR of a received frame %.1f dB, want ≥ 30", worst)
			}
			t.Logf("worst PSNR %.1f dB", worst)
			if len(got) > 0 {
				last := got[len(got)-1]
				for i := 0; i < 8; i++ {
					wr, wg, wb := barColour(i)
					r, g, b := meanColour(last, w, i*w/8+4, (i+1)*w/8-4, 4, h/2-4)
					if d := max(absf(r-float64(wr)), absf(g-float64(wg)), absf(b-float64(wb))); d > 8 {
						t.Errorf("bar %d: mean colour %.0f,%.0f,%.0f, sent %d,%d,%d", i, r, g, b, wr, wg, wb)
					}
				}
			}
		})
	}
}

// TestE2EStreamStalled: an RTSP "server" that accepts the connection and
// never answers stalls ffmpeg in its handshake, so it stops reading its
// input. The sink must not stall the pipeline: 100 frames given as fast
// as they come take well under a second, nearly all are dropped and
// counted, and Close kills ffmpeg after close_timeout (300 ms).
func TestE2EStreamStalled(t *testing.T) {
	testenv.E2E(t)
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // held open, never read
		}
	}()
	defer func() {
		l.Close()
		for c := range accepted {
			c.Close()
		}
	}()
	cfg := DefaultSinkConfig()
	cfg.Path, cfg.Queue, cfg.CloseTO = ds3d.Path("rtsp://"+l.Addr().String()+"/live"), 4, 300*time.Millisecond
	s, err := NewSink(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 100
	start := time.Now()
	if err := renderFrames(t, s, colourBars(t, 320, 240), n, 0); err != nil {
		t.Fatal(err)
	}
	rendered := time.Since(start)
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	total := time.Since(start)
	st := s.w.(*Stream)
	t.Logf("%d frames rendered in %v, closed after %v: sent %d, dropped %d", n, rendered, total, st.Sent(), s.Dropped())
	if rendered > time.Second {
		t.Errorf("rendering %d frames to a stalled server took %v", n, rendered)
	}
	if total > rendered+2*time.Second {
		t.Errorf("Close took %v with close_timeout 300ms", total-rendered)
	}
	// The queue holds 4, one is in ffmpeg's stdin pipe, and the pipe's 64 KiB
	// buffer takes part of one more 230 kB frame.
	if s.Dropped() < n-8 {
		t.Errorf("dropped %d of %d frames, want ≥ %d", s.Dropped(), n, n-8)
	}
}

func ffmpegHasProtocol(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-protocols").Output()
	if err != nil {
		t.Fatalf("ffmpeg -protocols: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		if f == name {
			return true
		}
	}
	return false
}

// meanColour is the mean r, g, b of rgb24 pixels x0..x1-1, y0..y1-1.
func meanColour(pix []byte, w, x0, x1, y0, y1 int) (r, g, b float64) {
	var n float64
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			p := pix[3*(y*w+x):]
			r, g, b, n = r+float64(p[0]), g+float64(p[1]), b+float64(p[2]), n+1
		}
	}
	return r / n, g / n, b / n
}

func absf(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// rtpInput are the receiver's input arguments for MPEG-TS over RTP on
// port: an SDP file naming payload type 33 (MP2T), so the RTP demuxer
// need not guess the payload from the first packets.
func rtpInput(t *testing.T, port int) []string {
	sdp := filepath.Join(t.TempDir(), "stream.sdp")
	body := fmt.Sprintf("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=ds3d\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video %d RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\n", port)
	if err := os.WriteFile(sdp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-protocol_whitelist", "file,rtp,udp", "-i", sdp}
}

// TestE2EStreamReconnect: the sink starts before its RTSP server (an
// ffmpeg listening, started 1 s later), so the first ffmpeg attempts are
// refused; with on_error = "retry" (100..400 ms) the sink reconnects once
// the server is up and the server decodes frames of the sent pattern,
// while the pipeline never waits (frames during the outage are dropped).
func TestE2EStreamReconnect(t *testing.T) {
	testenv.E2E(t)
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg")
	const w, h, fps = 160, 120, 20
	port := freePort(t, "tcp")
	url := fmt.Sprintf("rtsp://127.0.0.1:%d/live", port)
	cfg := DefaultSinkConfig()
	cfg.Path, cfg.FPS, cfg.Retry, cfg.RetryMax = ds3d.Path(url), fps, 100*time.Millisecond, 400*time.Millisecond
	var logs syncLog
	s, err := NewSink(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := colourBars(t, w, h)
	errc := make(chan error, 1)
	go func() { errc <- renderFrames(t, s, sent, 4*fps, time.Second/fps) }() // 4 s
	time.Sleep(time.Second)
	r := startReceiver(t, "tcp", port, "-rtsp_flags", "listen", "-rtsp_transport", "tcp", "-i", url)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := r.wait(t, 15*time.Second, w*h*3)
	st := s.w.(*Stream)
	t.Logf("restarts %d, sent %d, dropped %d, received %d", st.Restarts(), st.Sent(), s.Dropped(), len(got))
	if st.Restarts() < 1 || s.Dropped() == 0 {
		t.Errorf("restarts %d, dropped %d: the first second had no server", st.Restarts(), s.Dropped())
	}
	// 3 s with the server up at 20 fps is 60 frames; reconnecting takes up
	// to 400 ms plus ffmpeg's start.
	if len(got) < fps {
		t.Errorf("server decoded %d frames after the reconnect, want ≥ %d", len(got), fps)
	}
	c, _ := CanvasOf(sent)
	for i, g := range got {
		if p := psnr(g, c.Pix); p < 30 {
			t.Errorf("received frame %d: PSNR %.1f dB, want ≥ 30", i, p)
			break
		}
	}
	if !strings.Contains(logs.String(), "Connection refused") {
		t.Errorf("log lacks ffmpeg's stderr from the refused attempts:\n%s", logs.String())
	}
}

// TestE2EExampleVideoStream runs apps/examples/video-stream.toml (its UDP
// port moved to a free one) with an ffmpeg receiver started first: the
// 30 frames (vtest's 10, looped) arrive at 10 fps, the receiver decodes
// all the sink sent less up to 3 lost to UDP, and each decoded frame is
// identified as one of vtest's frames as ffmpeg itself decodes the clip:
// PSNR ≥ 30 dB at 2 Mbit/s (measured 41–43) and 5 dB better than against
// any other frame (measured: 16 dB), in sending order.
func TestE2EExampleVideoStream(t *testing.T) {
	testenv.E2E(t)
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg")
	root := sampledata.RepoRoot(t)
	clip := filepath.Join(root, "core2d", "source", "testdata", "vtest_10f_h264.mp4")
	ref, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", clip, "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil {
		t.Fatalf("decoding %s: %v", clip, err)
	}
	const w, h = 768, 576
	if len(ref) != 10*w*h*3 {
		t.Fatalf("ffmpeg decodes %d bytes of %s, want 10 frames of %dx%d", len(ref), clip, w, h)
	}
	p, err := config.Load(filepath.Join(root, "apps", "examples", "video-stream.toml"))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t, "udp")
	var sinkCfg *SinkConfig
	for _, c := range p.Components {
		if sc, ok := c.Config.(*SinkConfig); ok {
			sinkCfg = sc
		}
	}
	if sinkCfg == nil || !strings.HasPrefix(string(sinkCfg.Path), "udp://") {
		t.Fatalf("video-stream.toml has no video_sink streaming to udp://")
	}
	sinkCfg.Path = ds3d.Path(fmt.Sprintf("udp://127.0.0.1:%d", port))
	// uri_source restarting its decoder at the loop pauses the stream for
	// up to a second: the receiver's read timeout is 4 s.
	r := startReceiver(t, "udp", port, "-i", fmt.Sprintf("udp://127.0.0.1:%d?timeout=4000000&buffer_size=4194304", port))
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	got := r.wait(t, 20*time.Second, w*h*3) // it ends 4 s after the last packet
	sink := g.Component("stream").(*Sink)
	t.Logf("pipeline ran %v; sink dropped %d; receiver decoded %d frames", elapsed.Round(time.Millisecond), sink.Dropped(), len(got))
	// A loaded machine encodes slower than 10 fps at times: the sink then
	// drops frames, as a live stream should.
	if sent := 30 - int(sink.Dropped()); len(got) < sent-3 || len(got) > sent {
		t.Errorf("receiver decoded %d frames, the sink sent %d", len(got), sent)
	}
	// Identify each received frame as the clip frame it matches best; the
	// indices must advance by one (mod 10) but where a frame was lost.
	prev, pos := -1, -1
	for i, f := range got {
		best, second := -1, 0.0
		var ps [10]float64
		for k := range ps {
			ps[k] = psnr(f, ref[k*w*h*3:(k+1)*w*h*3])
			if best < 0 || ps[k] > ps[best] {
				best = k
			}
		}
		for k := range ps {
			if k != best {
				second = max(second, ps[k])
			}
		}
		if ps[best] < 30 || ps[best]-second < 5 {
			t.Errorf("received frame %d: best PSNR %.1f dB (vtest frame %d), next best %.1f dB: want ≥ 30 dB and a 5 dB margin", i, ps[best], best, second)
			continue
		}
		step := best + 1 // from before frame 0
		if prev >= 0 {
			step = (best - prev + 10) % 10
		}
		if step == 0 {
			step = 10
		}
		pos += step
		prev = best
		if i == 0 {
			t.Logf("frame 0: PSNR %.1f dB against vtest frame %d, %.1f dB against the next best", ps[best], best, second)
		}
	}
	if pos >= 30 {
		t.Errorf("received frames span %d sent frames, 30 were sent", pos+1)
	}
}

// TestE2EStreamSRTListener: with srt_mode = "listener" the sink's ffmpeg
// waits for players; an ffmpeg receiver calls in once the sink listens
// (its UDP port bound), and decodes frames of the sent pattern. Frames
// before a player connects are dropped, never queued without bound.
func TestE2EStreamSRTListener(t *testing.T) {
	testenv.E2E(t)
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg")
	if !ffmpegHasProtocol(t, "srt") {
		testenv.SkipOrFail(t, "this ffmpeg is built without libsrt (Debian's has it: apt-get install ffmpeg)")
	}
	const w, h, fps = 160, 120, 20
	port := freePort(t, "udp")
	cfg := DefaultSinkConfig()
	cfg.Path, cfg.SRTMode, cfg.FPS, cfg.OnError = ds3d.Path(fmt.Sprintf("srt://127.0.0.1:%d", port)), "listener", fps, "fail"
	s, err := NewSink(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := colourBars(t, w, h)
	errc := make(chan error, 1)
	go func() { errc <- renderFrames(t, s, sent, 3*fps, time.Second/fps) }() // 3 s
	for deadline := time.Now().Add(5 * time.Second); !listening("udp", port); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sink's ffmpeg does not listen on udp port %d after 5 s", port)
		}
	}
	r := startReceiver(t, "udp", port, "-i", fmt.Sprintf("srt://127.0.0.1:%d?mode=caller", port))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := r.wait(t, 15*time.Second, w*h*3)
	st := s.w.(*Stream)
	t.Logf("sent %d, dropped %d, received %d", st.Sent(), s.Dropped(), len(got))
	if len(got) < fps || int64(len(got)) > st.Sent() {
		t.Errorf("receiver decoded %d frames of the %d sent, want ≥ %d", len(got), st.Sent(), fps)
	}
	c, _ := CanvasOf(sent)
	for i, g := range got {
		if p := psnr(g, c.Pix); p < 30 {
			t.Errorf("received frame %d: PSNR %.1f dB, want ≥ 30", i, p)
			break
		}
	}
}
