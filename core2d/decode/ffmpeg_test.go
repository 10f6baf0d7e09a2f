package decode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

func needFFmpeg(tb testing.TB) {
	tb.Helper()
	for _, t := range []string{"ffmpeg", "ffprobe"} {
		testenv.Tool(tb, t, "apt-get install ffmpeg")
	}
}

// vtestFrame0 is frame 0 of vtest.avi as PNG (PROVENANCE.md), decoded
// from the original MS-MPEG4 stream: an independent reference for frame 0
// of the H.264/H.265 re-encodes.
func vtestFrame0(t *testing.T) *image.RGBA {
	f, err := os.Open(sampledata.Shared(t, "video-vtest/vtest_frame0000.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// TestFFmpegFiles decodes the H.264 and H.265 clips: PROVENANCE.md says 100
// frames of 768×576 at 10 fps, so frame k has PTS k·100 ms; frame 0 must
// look like the original's frame 0 (mean abs diff of a crf 23/28 re-encode).
func TestFFmpegFiles(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	ref := vtestFrame0(t)
	for _, c := range []struct {
		file, codec string
		pix         string
		maxMean     float64
	}{
		{"vtest_10s_h264.mp4", "h264", PixRGB24, 4},
		{"vtest_10s_h265.mp4", "hevc", PixRGBA, 5},
		{"vtest_10s_h264.mp4", "h264", PixNV12, 4},
	} {
		t.Run(c.file+"/"+c.pix, func(t *testing.T) {
			uri := "file://" + sampledata.Shared(t, "video-vtest/"+c.file)
			f, err := OpenFFmpeg(context.Background(), uri, FFmpegOptions{PixFmt: c.pix, Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Info.Codec != c.codec || f.Info.Width != 768 || f.Info.Height != 576 || f.Info.Frames != 100 || f.Info.FrameRate != 10 {
				t.Fatalf("info %+v", f.Info)
			}
			buf := make([]byte, f.FrameBytes())
			n := 0
			for ; ; n++ {
				pts, err := f.Read(buf)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := int64(n) * 100e6; pts != want {
					t.Fatalf("frame %d: pts %d ns, want %d", n, pts, want)
				}
				if n == 0 {
					mean := meanDiff(buf, c.pix, ref)
					t.Logf("%s %s frame 0: mean abs diff %.2f vs vtest_frame0000.png", c.file, c.pix, mean)
					if mean > c.maxMean {
						t.Errorf("frame 0 differs from the original by %.2f levels on average", mean)
					}
				}
			}
			if n != 100 {
				t.Errorf("%d frames, want 100", n)
			}
		})
	}
}

// meanDiff compares a decoded frame with the reference: RGB channels, or
// for NV12 the Y plane against the reference's BT.601 limited-range luma.
func meanDiff(buf []byte, pix string, ref *image.RGBA) float64 {
	w, h := ref.Rect.Dx(), ref.Rect.Dy()
	var sum float64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r := ref.Pix[y*ref.Stride+x*4:]
			switch pix {
			case PixNV12:
				yy := 16 + (65.481*float64(r[0])+128.553*float64(r[1])+24.966*float64(r[2]))/255
				d := float64(buf[y*w+x]) - yy
				sum += max(d, -d)
			default:
				ch := 3
				if pix == PixRGBA {
					ch = 4
				}
				for k := 0; k < 3; k++ {
					d := float64(buf[(y*w+x)*ch+k]) - float64(r[k])
					sum += max(d, -d)
				}
			}
		}
	}
	if pix == PixNV12 {
		return sum / float64(w*h)
	}
	return sum / float64(w*h*3)
}

func TestFFmpegErrors(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	_, err := OpenFFmpeg(ctx, "file:///nonexistent/clip.mp4", FFmpegOptions{})
	var fe *FFmpegError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "/nonexistent/clip.mp4") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// An unreachable RTSP server: a clear error within seconds.
	start := time.Now()
	_, err = OpenFFmpeg(ctx, "rtsp://127.0.0.1:1/x", FFmpegOptions{Timeout: 2 * time.Second})
	if el := time.Since(start); err == nil || !strings.Contains(err.Error(), "rtsp://127.0.0.1:1/x") || el > 10*time.Second {
		t.Errorf("unreachable RTSP: %v after %v", err, el)
	} else {
		t.Logf("unreachable RTSP after %v: %v", el.Round(time.Millisecond), err)
	}
	// Not a video.
	notVideo := filepath.Join(t.TempDir(), "x.mp4")
	os.WriteFile(notVideo, []byte("this is not a video file"), 0o644)
	if _, err := OpenFFmpeg(ctx, notVideo, FFmpegOptions{}); err == nil || !strings.Contains(err.Error(), "probe") {
		t.Errorf("not a video: %v", err)
	}
	if _, err := OpenFFmpeg(ctx, notVideo, FFmpegOptions{PixFmt: "yuv444p"}); err == nil || !strings.Contains(err.Error(), `pixel format "yuv444p"`) {
		t.Errorf("pixel format: %v", err)
	}
	// No ffmpeg on PATH.
	t.Setenv("PATH", t.TempDir())
	if _, err := OpenFFmpeg(ctx, sampledata.Shared(t, "video-vtest/vtest_10s_h264.mp4"), FFmpegOptions{}); err == nil || !strings.Contains(err.Error(), "not found on PATH") {
		t.Errorf("no ffmpeg: %v", err)
	}
}

// TestFFmpegTruncated cuts the H.264 MP4 (moov atom first, +faststart) in
// half: the stream ends cleanly before frame 100 with a warning naming the
// last frame, or fails with an error — never a hang or a short frame.
func TestFFmpegTruncated(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	data, err := os.ReadFile(sampledata.Shared(t, "video-vtest/vtest_10s_h264.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cut.mp4")
	os.WriteFile(p, data[:len(data)/2], 0o644)
	var logBuf bytes.Buffer
	f, err := OpenFFmpeg(context.Background(), p, FFmpegOptions{Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, f.FrameBytes())
	n := 0
	for {
		_, err := f.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Logf("after %d frames: %v", n, err)
			var fe *FFmpegError
			if !errors.As(err, &fe) {
				t.Errorf("%T: %v", err, err)
			}
			return
		}
		n++
	}
	t.Logf("%d frames, warning: %s", n, logBuf.String())
	if n == 0 || n >= 100 || !strings.Contains(logBuf.String(), fmt.Sprintf("last_frame=%d", n-1)) {
		t.Errorf("%d frames; warning %q", n, logBuf.String())
	}
}

// TestFFmpegCancel stops the reader's context mid-stream: the process is
// killed and waited for (no zombie, no goroutine left).
func TestFFmpegCancel(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	f, err := OpenFFmpeg(ctx, sampledata.Shared(t, "video-vtest/vtest_10s_h265.mp4"), FFmpegOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, f.FrameBytes())
	if _, err := f.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	// Reads after the kill end with an error or EOF, not a hang.
	for i := 0; i < 200; i++ {
		if _, err := f.Read(buf); err != nil {
			break
		}
	}
	f.Close()
	if f.cmd.ProcessState == nil {
		t.Fatal("ffmpeg not waited for")
	}
	// Close of a reader whose process still runs.
	g, err := OpenFFmpeg(context.Background(), sampledata.Shared(t, "video-vtest/vtest_10s_h264.mp4"), FFmpegOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.Read(buf)
	g.Close()
	if g.cmd.ProcessState == nil {
		t.Fatal("ffmpeg not waited for after Close")
	}
}

// BenchmarkFFmpeg720p decodes a 1280×720 H.264 clip (vtest scaled up and
// looped to 600 frames, made with ffmpeg in the benchmark's TempDir) through
// the pipe into one reused buffer, 2 decoder threads.
func BenchmarkFFmpeg720p(b *testing.B) {
	needFFmpeg(b)
	src := sampledata.Shared(b, "video-vtest/vtest_10s_h264.mp4")
	clip := filepath.Join(b.TempDir(), "vtest_720p.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-stream_loop", "5", "-i", src,
		"-vf", "scale=1280:720", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "30", "-pix_fmt", "yuv420p",
		"-an", clip).CombinedOutput(); err != nil {
		b.Fatalf("making the 720p clip: %v\n%s", err, out)
	}
	for _, pix := range []string{PixNV12, PixRGB24} {
		b.Run(pix, func(b *testing.B) {
			var buf []byte
			frames := 0
			for b.Loop() {
				f, err := OpenFFmpeg(context.Background(), clip, FFmpegOptions{PixFmt: pix, Threads: 2})
				if err != nil {
					b.Fatal(err)
				}
				if buf == nil {
					buf = make([]byte, f.FrameBytes())
				}
				for {
					if _, err := f.Read(buf); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
					frames++
				}
				f.Close()
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
