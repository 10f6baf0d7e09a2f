package osd

import (
	"context"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

func newCanvas(t testing.TB, w, h int) (*ds3d.Frame, Canvas) {
	t.Helper()
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, w, h, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := CanvasOf(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func noLabels() Config {
	c := DefaultConfig()
	c.ShowLabel, c.TrailLength, c.ColorByTrack = false, 0, false
	return c
}

// TestBoxEdgePixels draws one box and checks pixels at hand-computed
// places: the box (10.4, 20.6, 30×15) rounds to pixel columns 10..39 and
// rows 21..35; a 2-pixel border covers columns 10–11 and 38–39 and rows
// 21–22 and 34–35, in class 0's colour (draw.DefaultPalette[0] =
// 0,200,0); pixels just inside and just outside stay black.
func TestBoxEdgePixels(t *testing.T) {
	_, c := newCanvas(t, 64, 48)
	o, err := New(noLabels())
	if err != nil {
		t.Fatal(err)
	}
	o.Draw(c, []ds3d.Object2D{{Left: 10.4, Top: 20.6, Width: 30, Height: 15, ClassID: 0, TrackID: -1}})
	green, black := color.RGBA{0, 200, 0, 255}, color.RGBA{0, 0, 0, 255}
	for _, p := range []struct {
		x, y int
		want color.RGBA
	}{
		{10, 21, green}, {11, 28, green}, {39, 28, green}, {38, 35, green}, {25, 21, green}, {25, 22, green},
		{25, 34, green}, {25, 35, green},
		{12, 28, black}, {37, 28, black}, {25, 23, black}, {25, 33, black},
		{9, 28, black}, {40, 28, black}, {25, 20, black}, {25, 36, black},
	} {
		if got := c.At(p.x, p.y); got != p.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", p.x, p.y, got, p.want)
		}
	}
}

// TestLabel: the label box sits on top of the box (8 px font cell + 1 px
// margin: rows 12..20 for a box at row 21), filled with the box colour,
// with black text pixels inside it.
func TestLabel(t *testing.T) {
	_, c := newCanvas(t, 120, 60)
	cfg := noLabels()
	cfg.ShowLabel = true
	o, _ := New(cfg)
	o.Draw(c, []ds3d.Object2D{{Left: 10, Top: 21, Width: 60, Height: 30, ClassID: 0, Label: "person", Score: 0.87, TrackID: -1}})
	green := color.RGBA{0, 200, 0, 255}
	w, h := TextSize("person 0.87", 1)
	if c.At(10, 12) != green || c.At(10+w+1, 20) != green || c.At(10, 11) == green || c.At(10+w+2, 15) == green {
		t.Errorf("label box not at [10, %d)×[12, 21)", 10+w+2)
	}
	text := 0
	for y := 12; y < 12+h+1; y++ {
		for x := 10; x < 10+w+2; x++ {
			if c.At(x, y) == (color.RGBA{0, 0, 0, 255}) {
				text++
			}
		}
	}
	// "person 0.87" has 10 glyphs with a dozen or more lit pixels each.
	if text < 100 {
		t.Errorf("%d text pixels in the label", text)
	}
}

// TestTrail: a track moving 10 px right per frame leaves a line through
// its centres in the track's colour.
func TestTrail(t *testing.T) {
	_, c := newCanvas(t, 100, 60)
	cfg := noLabels()
	cfg.TrailLength, cfg.ColorByTrack, cfg.TrailWidth, cfg.BorderWidth = 5, true, 1, 1
	o, _ := New(cfg)
	for k := 0; k < 3; k++ {
		o.Draw(c, []ds3d.Object2D{{Left: float32(10 + 10*k), Top: 20, Width: 10, Height: 20, TrackID: 3}})
	}
	col := draw.DefaultPalette[3]
	// Centres (15,30), (25,30), (35,30): every pixel of row 30 from 15 to 35.
	for x := 15; x <= 35; x++ {
		if got := c.At(x, 30); got != col {
			t.Errorf("trail pixel (%d,30) = %v, want %v", x, got, col)
		}
	}
	if got := c.At(15, 29); got == col {
		t.Errorf("1-px trail is thicker: (15,29) = %v", got)
	}
}

// TestMaskBlend: a 2×2 class mask stretched over a 4×4 white canvas
// blends class 1's colour (palette[0] = 0,200,0) at alpha 0.5 into the
// top-left quadrant only: 0.502·(0,200,0) + 0.498·255 = (127, 227, 127)
// within rounding.
func TestMaskBlend(t *testing.T) {
	f, c := newCanvas(t, 4, 4)
	for i := range f.Data {
		f.Data[i] = 255
	}
	m := ds3d.NewTensorFrame(ds3d.DTypeU8, 2, 2)
	m.Data[0] = 1
	dm := ds3d.NewDataMap()
	defer dm.Release()
	dm.SetFrame(ds3d.KeyColorFrame, f)
	dm.SetFrame("mask", m)
	cfg := noLabels()
	cfg.MaskKey, cfg.MaskAlpha = "mask", 0.5
	o, _ := New(cfg)
	if err := o.Process(context.Background(), dm, func(*ds3d.DataMap) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := [3]float64{0.50196*0 + 0.49804*255, 0.50196*200 + 0.49804*255, 0.50196*0 + 0.49804*255}
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			p := c.At(x, y)
			got := [3]float64{float64(p.R), float64(p.G), float64(p.B)}
			for k := range got {
				exp := 255.0
				if x < 2 && y < 2 {
					exp = want[k]
				}
				if d := got[k] - exp; d > 1 || d < -1 {
					t.Errorf("pixel (%d,%d) channel %d = %v, want %.1f", x, y, k, got[k], exp)
				}
			}
		}
	}
}

// TestPoints: a point at (5.5, 7.2) at the near depth is drawn at pixel
// (5, 7) in the colour map's warm end (draw.Colormap(1)); a far one at
// (20, 3) in its cool end; points outside or behind the camera are not.
func TestPoints(t *testing.T) {
	_, c := newCanvas(t, 32, 16)
	c.Points([]float32{5.5, 7.2, 2, 20, 3, 60, -1, 4, 5, 10, 10, -3}, 3, 1, 2, 60, color.RGBA{})
	if got := c.At(5, 7); got != draw.Colormap(1) {
		t.Errorf("near point = %v, want %v", got, draw.Colormap(1))
	}
	if got := c.At(20, 3); got != draw.Colormap(0) {
		t.Errorf("far point = %v, want %v", got, draw.Colormap(0))
	}
	if got := c.At(10, 10); got != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("point behind the camera drawn: %v", got)
	}
}

// vtestCanvas loads the first vtest frame (768×576) as an RGB frame.
func vtestCanvas(t testing.TB) (*ds3d.Frame, Canvas) {
	fh, err := os.Open(sampledata.Shared(t, "video-vtest/vtest_frame0000.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	f, c := newCanvas(t, b.Dx(), b.Dy())
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			i := y*c.Pitch + 3*x
			f.Data[i], f.Data[i+1], f.Data[i+2] = byte(r>>8), byte(g>>8), byte(bl>>8)
		}
	}
	return f, c
}

// ffprobeFrames counts the decoded video frames of path with ffprobe.
func ffprobeFrames(t *testing.T, path string) int {
	t.Helper()
	out := testenv.Output(t, exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", path))
	parts := strings.Split(strings.TrimSpace(string(out)), ",")
	n, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil {
		t.Fatalf("ffprobe output %q", out)
	}
	return n
}

// TestWriters writes 12 annotated vtest frames as MJPEG AVI and H.264 MP4
// and counts the frames ffprobe decodes; the AVI also reads back through
// core2d/decode's reader at the right size.
func TestWriters(t *testing.T) {
	testenv.Tool(t, "ffprobe", "apt-get install ffmpeg")
	_, c := vtestCanvas(t)
	o, _ := New(DefaultConfig())
	dir := t.TempDir()
	const n = 12
	for _, name := range []string{"out.avi", "out.mp4"} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultSinkConfig()
			cfg.Path = ds3d.Path(filepath.Join(dir, name))
			if err := ds3d.CheckConfig(&cfg); err != nil {
				t.Fatal(err)
			}
			w, err := Open(context.Background(), &cfg, c.Width, c.Height)
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < n; k++ {
				o.Draw(c, []ds3d.Object2D{{Left: float32(100 + 5*k), Top: 200, Width: 40, Height: 90, Label: "person", Score: 0.9, TrackID: 1}})
				if err := w.WriteFrame(c); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := ffprobeFrames(t, string(cfg.Path)); got != n {
				t.Errorf("ffprobe counts %d frames, wrote %d", got, n)
			}
		})
	}
	a, err := decode.OpenAVI(filepath.Join(dir, "out.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Frames() != n || a.Width != 768 || a.Height != 576 {
		t.Errorf("decode reads %d frames %dx%d", a.Frames(), a.Width, a.Height)
	}
	img, _, err := a.Frame(n-1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The last box's left edge (x = 155) is drawn in track 1's colour;
	// JPEG keeps it within a few levels.
	r, g, b, _ := img.At(155, 240).RGBA()
	want := draw.DefaultPalette[1]
	if d := absDiff(r>>8, want.R) + absDiff(g>>8, want.G) + absDiff(b>>8, want.B); d > 90 {
		t.Errorf("box edge after JPEG = %d,%d,%d, want near %v", r>>8, g>>8, b>>8, want)
	}
}

func absDiff(a uint32, b uint8) int {
	d := int(a) - int(b)
	if d < 0 {
		return -d
	}
	return d
}

// TestAVIErrors: bad sizes are refused with the file named.
func TestAVIErrors(t *testing.T) {
	if _, err := CreateAVI(filepath.Join(t.TempDir(), "x.avi"), 0, 10, 10); err == nil || !strings.Contains(err.Error(), "x.avi") {
		t.Errorf("CreateAVI with width 0 = %v", err)
	}
	cfg := DefaultSinkConfig()
	cfg.Path = "frames.png"
	if err := ds3d.CheckConfig(&cfg); err == nil || !strings.Contains(err.Error(), "%d") {
		t.Errorf("png sink without %%d: %v", err)
	}
}

// BenchmarkDraw draws 20 labelled, tracked boxes with trails on a vtest
// frame.
func BenchmarkDraw(b *testing.B) {
	_, c := vtestCanvas(b)
	o, _ := New(DefaultConfig())
	objs := make([]ds3d.Object2D, 20)
	for i := range objs {
		objs[i] = ds3d.Object2D{Left: float32(30 * i), Top: float32(10 * i), Width: 40, Height: 90, Label: "person", Score: 0.8, TrackID: int64(i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		o.Draw(c, objs)
	}
}
