package gl_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/filters/depth2point"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
	_ "github.com/ds3d-go/ds3d-go/render/writer"
	_ "github.com/ds3d-go/ds3d-go/sensors/depth"
)

func writeDocPNG(t *testing.T, name string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sampledata.RepoRoot(t), "docs", "img", name), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d bytes", name, buf.Len())
}

// TestDocImages writes, when DS3D_DOC_IMAGES is set, docs/img/gl_kitti.png
// (perspective) and gl_bev.png of the KITTI sample, nuscenes_ensemble.png
// (apps/bevfusion's ensemble on the nuScenes keyframe with its GT boxes)
// and redwood_rgbd.png (apps/depth-camera's RGB-D cloud, run through its
// pipeline):
//
//	DS3D_DOC_IMAGES=1 go test -run DocImages ./render/gl/
func TestDocImages(t *testing.T) {
	if os.Getenv("DS3D_DOC_IMAGES") == "" {
		t.Skip("set DS3D_DOC_IMAGES=1 to rewrite docs/img/gl_{kitti,bev}.png, nuscenes_ensemble.png and redwood_rgbd.png")
	}
	needDisplay(t)
	pts, boxes := kittiSample(t)
	m := dataMap(pts, boxes)
	defer m.Release()
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
		writeDocPNG(t, "gl_"+name+".png", render(t, c, m)[0])
	}

	kf := loadNuScenes(t)
	nm := kf.dataMap(t, nil)
	defer nm.Release()
	nm.SetInt64(ds3d.KeyFrameNumber, 0)
	writeDocPNG(t, "nuscenes_ensemble.png", render(t, bevfusionConfig(t), nm)[0])

	p, err := config.Load(filepath.Join(sampledata.RepoRoot(t), "apps", "depth-camera", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, c := range p.Components { // every output into the temporary folder
		if cfg, ok := c.Config.(*gl.Config); ok {
			cfg.Headless = true
		}
		if f := reflect.ValueOf(c.Config).Elem().FieldByName("OutputDir"); f.IsValid() && f.CanSet() {
			f.Set(reflect.ValueOf(ds3d.Path(out)))
		}
	}
	g, err := pipeline.New(p, pipeline.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	writeDocPNG(t, "redwood_rgbd.png", decodePNG(t, filepath.Join(out, "frame_000000.png")))
}
