package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

func needFFmpeg(tb testing.TB) {
	tb.Helper()
	testenv.Tool(tb, "ffmpeg", "apt-get install ffmpeg")
}

func newLoader(t *testing.T, c Config) *Loader {
	t.Helper()
	l, err := New(&c, &ds3d.Env{ConfigDir: "testdata"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

type got struct {
	ts, num, src int64
	first        bool
	f            *ds3d.Frame
}

// drain reads datamaps until EOS, keeping the frames (retained) for checks.
func drain(t *testing.T, l *Loader) []got {
	t.Helper()
	var out []got
	for {
		m, err := l.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var g got
		g.ts, _ = m.Timestamp()
		g.num, _ = m.Int64(ds3d.KeyFrameNumber)
		g.src, _ = m.Int64(ds3d.KeySourceID)
		g.first = m.Has(ds3d.KeyFirstSourceFrame)
		f, err := m.Frame(ds3d.KeyColorFrame)
		if err != nil {
			t.Fatal(err)
		}
		g.f = &ds3d.Frame{Type: f.Type, Plane: f.Plane, Data: bytes.Clone(f.Data)}
		m.Release()
		out = append(out, g)
	}
}

// TestURISourceInputs reads each kind of input. The MJPEG AVI (pure Go) and
// the H.264 MP4 (ffmpeg) are two encodings of the same vtest frames, so
// their first frames must agree to within the codecs' loss.
func TestURISourceInputs(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	root := sampledata.RepoRoot(t)
	cases := []struct {
		name, uri  string
		format     string
		n, w, h    int
		periodNs   int64
		wantFormat ds3d.FrameType
	}{
		{"h264", "file://vtest_10f_h264.mp4", "rgb", 10, 768, 576, 100e6, ds3d.FrameColorRGB},
		{"mjpeg", "file://vtest_3f_mjpeg.avi", "rgb", 3, 768, 576, 100e6, ds3d.FrameColorRGB},
		{"mjpeg-rgba", "vtest_3f_mjpeg.avi", "rgba", 3, 768, 576, 100e6, ds3d.FrameColorRGBA},
		{"jpeg-glob", "file://" + root + "/datasets/samples/nuscenes/*CAM_FRONT*.jpg", "rgb", 3, 1600, 900, 33333333, ds3d.FrameColorRGB},
		{"png", root + "/datasets/samples/kitti/image_2/000000.png", "rgba", 1, 1224, 370, 33333333, ds3d.FrameColorRGBA},
	}
	frames := map[string][]got{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default()
			cfg.URI, cfg.OutputFormat, cfg.SourceID = c.uri, c.format, 3
			l := newLoader(t, cfg)
			out := drain(t, l)
			if len(out) != c.n {
				t.Fatalf("%d frames, want %d", len(out), c.n)
			}
			for k, g := range out {
				if g.num != int64(k) || g.src != 3 || g.first != (k == 0) || g.ts != int64(k)*c.periodNs {
					t.Fatalf("frame %d: number %d source %d first %v ts %d, want ts %d", k, g.num, g.src, g.first, g.ts, int64(k)*c.periodNs)
				}
				if g.f.Type != c.wantFormat || g.f.Plane.Width != c.w || g.f.Plane.Height != c.h || g.f.Plane.Pitch != c.w*g.f.Plane.BytesPerPixel {
					t.Fatalf("frame %d: %s %+v", k, g.f.Type, g.f.Plane)
				}
			}
			frames[c.name] = out
		})
	}
	a, b := frames["h264"], frames["mjpeg"]
	if len(a) > 0 && len(b) > 0 {
		var sum float64
		for i := range a[0].f.Data {
			d := float64(a[0].f.Data[i]) - float64(b[0].f.Data[i])
			sum += max(d, -d)
		}
		mean := sum / float64(len(a[0].f.Data))
		t.Logf("frame 0: H.264 (ffmpeg) vs MJPEG (%s): mean abs diff %.2f", decode.JPEGBackend, mean)
		if mean > 4 {
			t.Errorf("H.264 and MJPEG frame 0 differ by %.2f levels on average", mean)
		}
	}
}

func TestURISourceLoopAndMax(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	for _, uri := range []string{"vtest_10f_h264.mp4", "vtest_3f_mjpeg.avi"} {
		cfg := Default()
		cfg.URI, cfg.Loop, cfg.MaxFrames = uri, true, 25
		out := drain(t, newLoader(t, cfg))
		if len(out) != 25 {
			t.Fatalf("%s: %d frames, want 25", uri, len(out))
		}
		for k, g := range out {
			// Both clips run at 10 fps; a loop continues the timeline.
			if g.num != int64(k) || g.ts != int64(k)*100e6 {
				t.Fatalf("%s: frame %d: number %d ts %d", uri, k, g.num, g.ts)
			}
		}
	}
}

func TestURISourcePacing(t *testing.T) {
	cfg := Default()
	cfg.URI, cfg.FrameRate = "vtest_3f_mjpeg.avi", 20
	start := time.Now()
	if out := drain(t, newLoader(t, cfg)); len(out) != 3 {
		t.Fatalf("%d frames", len(out))
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("3 frames at 20 fps took %v, want ≥ 100 ms", el)
	}
}

func TestURISourceErrors(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	for _, c := range []struct {
		uri, want string
	}{
		{"file:///no/such/clip.mp4", "/no/such/clip.mp4"},
		{"file:///no/such/clip.avi", "/no/such/clip.avi"},
		{"file:///no/such/*.jpg", "no file matches"},
		{"rtsp://127.0.0.1:1/x", "Connection refused"},
	} {
		cfg := Default()
		cfg.URI, cfg.TimeoutS = c.uri, 2
		start := time.Now()
		_, err := New(&cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "uri_source "+c.uri) {
			t.Errorf("on_error fail, %s: %v", c.uri, err)
		}
		// on_error = eos: the source opens, logs, is marked failed, ends.
		var logBuf bytes.Buffer
		cfg.OnError = "eos"
		l, err := New(&cfg, &ds3d.Env{Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Next(context.Background()); err != io.EOF || l.Failed() == nil || !strings.Contains(logBuf.String(), "source failed") {
			t.Errorf("on_error eos, %s: Next %v, Failed %v, log %q", c.uri, err, l.Failed(), logBuf.String())
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Errorf("%s: %v to fail", c.uri, el)
		}
		l.Close()
	}
	for _, c := range []struct {
		key string
		f   func(*Config)
	}{
		{"uri", func(c *Config) { c.URI = " " }},
		{"uri", func(c *Config) { c.URI = "gopher://x/y" }},
		{"output_format", func(c *Config) { c.OutputFormat = "bgr" }},
		{"on_error", func(c *Config) { c.OnError = "ignore" }},
		{"max_frames", func(c *Config) { c.MaxFrames = -1 }},
		{"frame_rate", func(c *Config) { c.FrameRate = -1 }},
		{"mem_pool_size", func(c *Config) { c.MemPoolSize = 0 }},
	} {
		cfg := Default()
		cfg.URI = "x.mp4"
		c.f(&cfg)
		_, err := New(&cfg, nil)
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != c.key {
			t.Errorf("%s: %v", c.key, err)
		}
	}
}

// corruptAVI copies the MJPEG clip with frame 1's entropy data garbled.
func corruptAVI(t *testing.T) string {
	data, err := os.ReadFile("testdata/vtest_3f_mjpeg.avi")
	if err != nil {
		t.Fatal(err)
	}
	a, err := decode.ReadAVI("x", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := a.FrameJPEG(1, nil)
	i := bytes.Index(data, b)
	for k := i + len(b)/2; k < i+len(b)/2+2000; k += 2 {
		data[k], data[k+1] = 0xff, 0xd3
	}
	p := filepath.Join(t.TempDir(), "corrupt.avi")
	os.WriteFile(p, data, 0o644)
	return p
}

func TestURISourceCorruptFrame(t *testing.T) {
	p := corruptAVI(t)
	cfg := Default()
	cfg.URI = p
	l := newLoader(t, cfg)
	if _, err := l.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := l.Next(context.Background())
	var je *decode.JPEGError
	if !errors.As(err, &je) || !strings.Contains(err.Error(), p+" frame 1") {
		t.Fatalf("corrupt frame: %v", err)
	}
	t.Log(err)
}

// mergeMixer forwards every datamap from any input: enough to join two
// sources in a pipeline test.
type mergeMixer struct{}

func (mergeMixer) Push(_ context.Context, _ int, in *ds3d.DataMap, emit ds3d.Emit) error {
	return emit(in)
}

type noConfig struct{}

func (*noConfig) Validate() error { return nil }

func init() {
	ds3d.Register(ds3d.KindMixer, "source_test_merge", "Forwards whatever arrives (a test mixer).",
		func() *noConfig { return &noConfig{} },
		func(*noConfig, *ds3d.Env) (any, error) { return mergeMixer{}, nil })
}

// TestOnErrorPipeline runs two sources into one sink: the one with a
// corrupt frame and on_error = "eos" ends after its first frame, the good
// one delivers all its frames and the pipeline ends cleanly; with "fail"
// the pipeline fails naming the frame.
func TestOnErrorPipeline(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	bad := corruptAVI(t)
	for _, c := range []struct {
		onError string
		wantErr string
	}{{"eos", ""}, {"fail", "frame 1"}} {
		toml := `[pipeline]
name = "on-error"
[[component]]
name = "bad"
type = "ds3d::dataloader"
impl = "uri_source"
link_to = "merge"
[component.config]
uri = "` + bad + `"
on_error = "` + c.onError + `"
source_id = 1
[[component]]
name = "good"
type = "ds3d::dataloader"
impl = "uri_source"
link_to = "merge"
[component.config]
uri = "vtest_10f_h264.mp4"
source_id = 0
[[component]]
name = "merge"
type = "ds3d::datamixer"
impl = "source_test_merge"
link_to = "count"
[[component]]
name = "count"
type = "ds3d::datarender"
impl = "counting_sink"
[component.config]
expect = 11
`
		dir, _ := filepath.Abs("testdata")
		p, err := config.Parse("on_error.toml", dir, []byte(toml))
		if err != nil {
			t.Fatal(err)
		}
		g, err := pipeline.New(p, pipeline.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = g.Run(context.Background())
		if c.wantErr == "" && err != nil {
			t.Errorf("on_error eos: the pipeline failed: %v", err)
		}
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("on_error fail: %v, want an error naming %q", err, c.wantErr)
		}
		if c.onError == "eos" {
			if l := g.Component("bad").(*Loader); l.Failed() == nil {
				t.Error("bad source not marked failed")
			}
		}
	}
}

func TestURISourceCancel(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	cfg := Default()
	cfg.URI, cfg.Loop = "vtest_10f_h264.mp4", true
	l := newLoader(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := l.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Release()
	cancel()
	if _, err := l.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v", err)
	}
	l.Close()
}

// BenchmarkURISource: per-frame cost and allocations of the pure-Go MJPEG
// path (JPEG decode into a pooled frame, datamap) and of the ffmpeg path
// (H.264, read from the pipe straight into the pooled frame; the loop's
// process restart every 10 frames included).
func BenchmarkURISource(b *testing.B) {
	for _, uri := range []string{"vtest_3f_mjpeg.avi", "vtest_10f_h264.mp4"} {
		b.Run(uri, func(b *testing.B) { benchSource(b, uri) })
	}
}

func benchSource(b *testing.B, uri string) {
	needFFmpeg(b)
	cfg := Default()
	cfg.URI, cfg.Loop = uri, true
	l, err := New(&cfg, &ds3d.Env{ConfigDir: "testdata"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m, err := l.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		m.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/frame")
}
