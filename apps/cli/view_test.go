package cli

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	glview "github.com/ds3d-go/ds3d-go/render/gl"
)

// TestView renders the KITTI sample through viewFiles headless and finds
// the pedestrian label box's colour.
func TestView(t *testing.T) {
	out := t.TempDir()
	velo := sampledata.Sample(t, "kitti/velodyne/000000.bin")
	c := glview.NewConfig()
	c.WindowWidth, c.WindowHeight = 960, 540
	c.ViewPosition, c.ViewTarget, c.ViewUp = [3]float64{-8, 6, 9}, [3]float64{14, -1, -1.5}, [3]float64{0, 0, 1}
	c.PerspectiveFov, c.PerspectiveNear, c.PerspectiveFar = 55, 0.5, 200
	c.ColorClear = [3]uint8{12, 20, 36}
	c.ColorBy, c.ValueRange = "height", [2]float64{-2, 0.5}
	if err := viewFiles(context.Background(), []string{velo, velo}, viewOptions{Config: c, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	boxes, err := kittiBoxes(velo)
	if err != nil || len(boxes) != 1 {
		t.Fatalf("KITTI 000000 label boxes: %v, %v", boxes, err)
	}
	red := draw.BoxColor(boxes[0].Color, boxes[0].ClassID, nil) // KITTI 000000: one pedestrian
	for _, f := range []string{"frame_000000.png", "frame_000001.png"} {
		img := readPNG(t, filepath.Join(out, f))
		n := 0
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if uint8(r>>8) == red.R && uint8(g>>8) == red.G && uint8(b>>8) == red.B {
					n++
				}
			}
		}
		if n < 100 {
			t.Errorf("%s: %d pixels of the box colour %v", f, n, red)
		}
	}
	if err := viewFiles(context.Background(), nil, viewOptions{OutDir: out}); err == nil {
		t.Error("viewFiles with no files: no error")
	}
	if err := viewFiles(context.Background(), []string{filepath.Join(out, "nope.pcd")}, viewOptions{OutDir: out}); err == nil {
		t.Error("viewFiles of a missing file: no error")
	}
}

func readPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
