package raster_test

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

// previewMap is a datamap with one lidar point at (x, 0, 0).
func previewMap(x float32) *ds3d.DataMap {
	f := ds3d.NewLidarFrame(1)
	copy(ds3d.AsFloat32(f), []float32{x, 0, 0, 1})
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, f)
	return m
}

// TestLatestImage: no copy is made until someone asks; then the copy
// equals the PNG file written for the same datamap, later frames do not
// change it, and a new copy comes only after 200 ms.
func TestLatestImage(t *testing.T) {
	c := raster.NewRenderConfig()
	c.OutputDir = ds3d.Path(t.TempDir())
	c.Width, c.Height, c.Resolution = 64, 48, 0
	c.XRange, c.YRange = [2]float64{0, 48}, [2]float64{-32, 32}
	c.Labels, c.GridStep = false, 0
	r, err := raster.NewRenderer(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	render := func(k int, x float32) {
		t.Helper()
		m := previewMap(x)
		m.SetInt64(ds3d.KeyFrameNumber, int64(k))
		if err := r.Render(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	for k := range 5 {
		render(k, 10)
	}
	if img := r.LatestImage(); img != nil {
		t.Fatal("a preview image before anyone asked: the renderer copied unwatched")
	}
	render(5, 20)
	first := r.LatestImage()
	if first == nil {
		t.Fatal("no preview image after a frame drawn while watched")
	}
	want := decodePNG(t, filepath.Join(string(c.OutputDir), fmt.Sprintf("frame_%06d.png", 5)))
	if d := diffImages(first, want); d != "" {
		t.Fatalf("preview differs from the PNG written for the same frame: %s", d)
	}
	// Within 200 ms no new copy, and the one handed out stays as it was.
	render(6, 40)
	if again := r.LatestImage(); again != first {
		t.Error("a second copy within 200 ms")
	}
	if d := diffImages(first, want); d != "" {
		t.Fatalf("the preview changed under its reader: %s", d)
	}
	time.Sleep(250 * time.Millisecond)
	render(7, 40)
	later := r.LatestImage()
	if later == first {
		t.Fatal("no new copy 250 ms later")
	}
	if d := diffImages(later, decodePNG(t, filepath.Join(string(c.OutputDir), fmt.Sprintf("frame_%06d.png", 7)))); d != "" {
		t.Fatalf("second preview: %s", d)
	}
}

func diffImages(a, b image.Image) string {
	if a.Bounds().Size() != b.Bounds().Size() {
		return fmt.Sprintf("size %v vs %v", a.Bounds().Size(), b.Bounds().Size())
	}
	n := 0
	for y := 0; y < a.Bounds().Dy(); y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			r1, g1, b1, a1 := a.At(a.Bounds().Min.X+x, a.Bounds().Min.Y+y).RGBA()
			r2, g2, b2, a2 := b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				n++
			}
		}
	}
	if n > 0 {
		return fmt.Sprintf("%d pixels differ", n)
	}
	return ""
}
