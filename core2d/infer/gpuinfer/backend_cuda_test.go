//go:build cuda

package gpuinfer

import (
	"context"
	"image"
	"image/draw"
	_ "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// infer_2d with backend = "cuda" (this package, through infer's backend
// registry) finds what the cpu backend finds on the COCO images: same
// classes, IoU ≥ 0.9, score within 0.02 — the criterion for the
// golden detections — in fp32 and tf32.
func TestInfer2DBackendCUDA(t *testing.T) {
	dir := sampledata.Shared(t, "models-2d/yolox-nano")
	imgs, _ := filepath.Glob(filepath.Join(dir, "images", "*.jpg"))
	if len(imgs) == 0 {
		t.Fatal("no COCO images under models-2d/yolox-nano/images")
	}
	spec, ok := ds3d.Lookup("infer_2d")
	if !ok {
		t.Fatal("infer_2d not registered")
	}
	detector := func(backend, precision string) *infer2d.Detector {
		c := spec.NewConfig().(*infer2d.DetectorConfig)
		c.Model = ds3d.Path(filepath.Join(dir, "yolox_nano.onnx"))
		c.Labels = ds3d.Path(filepath.Join(dir, "coco_classes.txt"))
		c.Backend, c.Precision = backend, precision
		if err := ds3d.CheckConfig(c); err != nil {
			t.Fatal(err)
		}
		d, err := infer2d.NewDetector(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	cpu := detector("cpu", "")
	for _, prec := range []string{"fp32", "tf32"} {
		gpu := detector("cuda", prec)
		total := 0
		for _, p := range imgs {
			frame := loadRGB(t, p)
			want := detect(t, cpu, frame)
			got := detect(t, gpu, frame)
			total += len(want)
			if len(got) != len(want) {
				t.Errorf("%s %s: %d detections on the GPU, %d on the CPU", prec, filepath.Base(p), len(got), len(want))
				continue
			}
			for i := range want {
				if got[i].ClassID != want[i].ClassID || iou(got[i], want[i]) < 0.9 || math.Abs(float64(got[i].Score-want[i].Score)) > 0.02 {
					t.Errorf("%s %s: detection %d GPU %+v, CPU %+v", prec, filepath.Base(p), i, got[i], want[i])
				}
			}
		}
		t.Logf("backend cuda %s: %d detections on %d images match the cpu backend's", prec, total, len(imgs))
	}
}

func loadRGB(t *testing.T, path string) *ds3d.Frame {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGBA, ds3d.DTypeU8, b.Dx(), b.Dy(), rgba.Stride)
	if err != nil {
		t.Fatal(err)
	}
	copy(f.Data, rgba.Pix)
	return f
}

func detect(t *testing.T, d *infer2d.Detector, frame *ds3d.Frame) []ds3d.Object2D {
	spec, _ := ds3d.Lookup("infer_2d")
	c := spec.NewConfig().(*infer2d.DetectorConfig)
	m := ds3d.NewDataMap()
	defer m.Reset()
	m.SetFrame(ds3d.Key(c.InputKey), frame.Retain())
	var got []ds3d.Object2D
	err := d.Process(context.Background(), m, func(o *ds3d.DataMap) error {
		var err error
		got, err = ds3d.Get[[]ds3d.Object2D](o, ds3d.Key(c.OutputKey))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func iou(a, b ds3d.Object2D) float64 {
	x0, y0 := math.Max(float64(a.Left), float64(b.Left)), math.Max(float64(a.Top), float64(b.Top))
	x1 := math.Min(float64(a.Left+a.Width), float64(b.Left+b.Width))
	y1 := math.Min(float64(a.Top+a.Height), float64(b.Top+b.Height))
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	inter := (x1 - x0) * (y1 - y0)
	return inter / (float64(a.Width*a.Height) + float64(b.Width*b.Height) - inter)
}
