//go:build cgo

package gl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// needFFmpeg skips t without ffmpeg and ffprobe (fails it under CI).
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		testenv.Tool(t, p, "apt-get install ffmpeg")
	}
}

// probe returns the codec, size and decoded frame count of a video's first
// stream as ffprobe reports them.
func probe(t *testing.T, path string) (codec string, w, h, frames int) {
	t.Helper()
	out := testenv.Output(t, exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", path))
	var p struct {
		Streams []struct {
			Codec  string `json:"codec_name"`
			W      int    `json:"width"`
			H      int    `json:"height"`
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe %s: %s (%v)", path, out, err)
	}
	s := p.Streams[0]
	fmt.Sscan(s.Frames, &frames)
	return s.Codec, s.W, s.H, frames
}

// decodeFrame has ffmpeg decode frame n of a video into a PNG and reads it.
func decodeFrame(t *testing.T, path string, n int) *image.RGBA {
	t.Helper()
	out := filepath.Join(t.TempDir(), "frame.png")
	cmd := exec.Command("ffmpeg", "-v", "error", "-i", path, "-vf", fmt.Sprintf(`select=eq(n\,%d)`, n), "-frames:v", "1", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg decoding frame %d of %s: %v\n%s", n, path, err, b)
	}
	return decodePNG(t, out)
}

// TestVideoOutput renders the KITTI sample headless into an MP4 (H.264
// through ffmpeg) and an AVI (Motion-JPEG) beside the PNG frames: ffprobe
// finds every frame at the window size, and a frame ffmpeg decodes agrees
// with its PNG — background where the PNG is background (away from edges,
// where the codecs ring), and close overall.
func TestVideoOutput(t *testing.T) {
	needDisplay(t)
	needFFmpeg(t)
	pts, boxes := kittiSample(t)
	const n = 6
	for _, ext := range []string{".mp4", ".avi"} {
		t.Run(ext[1:], func(t *testing.T) {
			dir := t.TempDir()
			c := kittiConfig()
			c.WindowWidth, c.WindowHeight = 480, 270
			c.Headless = true
			c.OutputDir = ds3d.Path(filepath.Join(dir, "png"))
			c.OutputVideo = ds3d.Path(filepath.Join(dir, "out"+ext))
			c.VideoFPS = 5
			if err := ds3d.CheckConfig(c); err != nil {
				t.Fatal(err)
			}
			// Through the registry, as a pipeline builds it.
			spec, ok := ds3d.Lookup("gl_render")
			if !ok {
				t.Fatal("gl_render is not registered")
			}
			comp, err := spec.Build(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := comp.(*gl.VideoRenderer)
			if !ok {
				t.Fatalf("gl_render with output_video built a %T, want *gl.VideoRenderer", comp)
			}
			if err := v.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				// the points slide 0.5 m a frame, so frames differ
				shifted := append([]float32(nil), pts...)
				for k := 0; k < len(shifted); k += 4 {
					shifted[k] += float32(i) * 0.5
				}
				m := dataMap(shifted, boxes)
				m.SetInt64(ds3d.KeyFrameNumber, int64(i))
				if err := v.Render(context.Background(), m); err != nil {
					t.Fatal(err)
				}
				m.Release()
			}
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
			codec, w, h, frames := probe(t, string(c.OutputVideo))
			want := map[string]string{".mp4": "h264", ".avi": "mjpeg"}[ext]
			if codec != want || w != c.WindowWidth || h != c.WindowHeight || frames != n {
				t.Fatalf("ffprobe: %s %dx%d, %d frames; want %s %dx%d, %d frames", codec, w, h, frames, want, c.WindowWidth, c.WindowHeight, n)
			}
			// Frame k decoded against every PNG: it matches its own best
			// (the frames differ, so order and content are checked), and
			// flat background — 8 pixels from anything drawn, past the
			// codecs' ringing (JPEG's 16×16 blocks) — stays background.
			const k = 3
			got := decodeFrame(t, string(c.OutputVideo), k)
			bg := rgb(c.ColorClear)
			var mean [n]float64
			flat, flatOK := 0, 0
			for j := 0; j < n; j++ {
				png := decodePNG(t, filepath.Join(string(c.OutputDir), fmt.Sprintf("frame_%06d.png", j)))
				sum := 0
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						d := cdiff(png.RGBAAt(x, y), got.RGBAAt(x, y))
						sum += d
						if j == k && allBackground(png, x, y, 8, bg) {
							flat++
							if cdiff(got.RGBAAt(x, y), bg) <= 8 {
								flatOK++
							}
						}
					}
				}
				mean[j] = float64(sum) / float64(w*h)
			}
			t.Logf("%s: decoded frame %d: mean channel error against each PNG %.1f; %d of %d flat background pixels within 8 levels of the background",
				ext, k, mean, flatOK, flat)
			for j := range mean {
				if j != k && !(mean[k] < mean[j]/2) {
					t.Errorf("decoded frame %d is as close to PNG %d (%.1f) as to its own (%.1f)", k, j, mean[j], mean[k])
				}
			}
			if mean[k] > 20 {
				t.Errorf("mean channel error %.1f between frame %d's PNG and the decoded frame, want ≤ 20", mean[k], k)
			}
			if flat < w*h/10 || flatOK < flat*99/100 {
				t.Errorf("%d of %d flat background pixels decode as the background %v (±8)", flatOK, flat, bg)
			}
		})
	}
}

// allBackground reports whether every pixel within r of (x, y) (clipped to
// the image) is bg.
func allBackground(img *image.RGBA, x, y, r int, bg color.RGBA) bool {
	b := img.Rect
	for yy := max(y-r, b.Min.Y); yy <= min(y+r, b.Max.Y-1); yy++ {
		for xx := max(x-r, b.Min.X); xx <= min(x+r, b.Max.X-1); xx++ {
			if img.RGBAAt(xx, yy) != bg {
				return false
			}
		}
	}
	return true
}

// TestVideoNoFFmpeg: an MP4 without ffmpeg on PATH fails at Start with an
// error that says so, before the display is touched.
func TestVideoNoFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	c := gl.NewConfig()
	c.Headless = true
	c.OutputVideo = ds3d.Path(filepath.Join(t.TempDir(), "out.mp4"))
	v, err := gl.NewVideoRenderer(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = v.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ffmpeg") || !strings.Contains(err.Error(), "out.mp4") {
		t.Errorf("Start without ffmpeg: err = %v, want one naming ffmpeg and the file", err)
	}
	v.Close()
}

// TestVideoConfigErrors: bad video keys are config errors naming the key.
func TestVideoConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		key string
		set func(c *gl.Config)
	}{
		{"output_video", func(c *gl.Config) { c.OutputVideo = "out.mkv" }},
		{"video_fps", func(c *gl.Config) { c.OutputVideo, c.VideoFPS = "out.mp4", 0 }},
		{"window_width", func(c *gl.Config) { c.OutputVideo, c.WindowWidth = "out.mp4", 641 }},
		{"window_height", func(c *gl.Config) { c.OutputVideo, c.WindowHeight = "out.MP4", 361 }},
	} {
		c := gl.NewConfig()
		tc.set(c)
		var ce *ds3d.ConfigError
		if err := ds3d.CheckConfig(c); !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%s: err = %v, want a ConfigError for %s", tc.key, err, tc.key)
		}
	}
	c := gl.NewConfig()
	c.OutputVideo, c.WindowWidth = "out.avi", 641 // Motion-JPEG takes odd sizes
	if err := ds3d.CheckConfig(c); err != nil {
		t.Errorf("odd-width AVI: %v", err)
	}
}

// TestVideoAllocs: drawing, reading back and piping a frame to ffmpeg
// allocates nothing once the buffers exist (TestUploadAllocs' tolerance
// for the runtime's own thread hand-offs).
func TestVideoAllocs(t *testing.T) {
	needDisplay(t)
	needFFmpeg(t)
	testenv.SkipUnderRace(t, "the race detector allocates")
	if testing.Short() {
		t.Skip("-short: allocation count over many frames")
	}
	pts, boxes := kittiSample(t)
	m := dataMap(pts, boxes)
	defer m.Release()
	c := kittiConfig()
	c.Headless = true
	c.OutputVideo = ds3d.Path(filepath.Join(t.TempDir(), "out.mp4"))
	v, err := gl.NewVideoRenderer(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	v.Render(ctx, m)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 30; i++ {
		if err := v.Render(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 10 {
		t.Errorf("%d allocations in 30 MP4 frames, want 0", n)
	} else {
		t.Logf("%d allocations in 30 MP4 frames", n)
	}
}

// BenchmarkVideoOutput: a headless KITTI frame at 1280×720 (130k points,
// label boxes) drawn, read back and written: "readback" stops there, "png"
// writes PNG frames (png_compression fast), "mp4" pipes it to ffmpeg
// (libx264 veryfast CRF 23; the time includes waiting for ffmpeg when the
// pipe is full, and Close's flush), "avi" encodes Motion-JPEG in Go.
// write-ms/frame is the output's own share (PNG: all but readback). The
// frames cycle through 8 scenes shifted 0.5 m apart, so the encoder does
// not get repeated pictures for free.
func BenchmarkVideoOutput(b *testing.B) {
	needDisplay(b)
	pts, boxes := kittiSample(b)
	var maps []*ds3d.DataMap
	for i := 0; i < 8; i++ {
		shifted := append([]float32(nil), pts...)
		for k := 0; k < len(shifted); k += 4 {
			shifted[k] += float32(i) * 0.5
		}
		m := dataMap(shifted, boxes)
		defer m.Release()
		maps = append(maps, m)
	}
	ctx := context.Background()
	for _, mode := range []string{"readback", "png", "mp4", "avi"} {
		b.Run(mode, func(b *testing.B) {
			c := kittiConfig()
			c.WindowWidth, c.WindowHeight = 1280, 720
			c.Headless = true
			dir := b.TempDir()
			switch mode {
			case "png":
				c.OutputDir = ds3d.Path(dir)
			case "mp4", "avi":
				c.OutputVideo = ds3d.Path(filepath.Join(dir, "out."+mode))
			}
			var (
				r     *gl.Renderer
				v     *gl.VideoRenderer
				err   error
				close func() error
			)
			env := &ds3d.Env{Log: slog.New(slog.DiscardHandler)}
			if c.OutputVideo != "" {
				v, err = gl.NewVideoRenderer(c, env)
				if err == nil {
					r, close = v.Renderer, v.Close
					err = v.Start(ctx)
				}
			} else if r, err = gl.NewRenderer(c, env); err == nil {
				close = r.Close
				err = r.Start(ctx)
			}
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			frame := func() error {
				m := maps[i%len(maps)]
				i++
				switch {
				case v != nil:
					return v.Render(ctx, m)
				case mode == "png":
					return r.Render(ctx, m)
				}
				return r.Draw(m, true)
			}
			frame()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := frame(); err != nil {
					b.Fatal(err)
				}
			}
			if err := close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if v != nil {
				b.ReportMetric(float64(v.WriteTime.Microseconds())/1000/float64(b.N+1), "write-ms/frame")
			}
		})
	}
}
