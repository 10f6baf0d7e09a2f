package gl_test

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// TestDocImages writes docs/img/gl_kitti.png (perspective) and gl_bev.png
// when DS3D_DOC_IMAGES is set.
func TestDocImages(t *testing.T) {
	if os.Getenv("DS3D_DOC_IMAGES") == "" {
		t.Skip("set DS3D_DOC_IMAGES=1 to rewrite docs/img/gl_{kitti,bev}.png")
	}
	needDisplay(t)
	pts, boxes := kittiSample(t)
	m := dataMap(pts, boxes)
	defer m.Release()
	dir := filepath.Join(sampledata.RepoRoot(t), "docs", "img")
	for _, name := range []string{"kitti", "bev"} {
		c := kittiConfig()
		c.WindowWidth, c.WindowHeight = 1280, 720
		c.ColorClear = [3]uint8{0, 0, 0}
		c.PointSize, c.LabelScale = 2, 2
		if name == "bev" {
			c.View = gl.ViewBEV
			c.WindowWidth, c.WindowHeight = 800, 800
			c.XRange, c.YRange = [2]float64{-10, 50}, [2]float64{-30, 30}
			c.PointSize = 1
		}
		img := render(t, c, m)[0]
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "gl_"+name+".png"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("gl_%s.png: %d bytes", name, buf.Len())
	}
}
