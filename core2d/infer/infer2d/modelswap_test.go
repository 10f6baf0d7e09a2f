package infer2d

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// scaleModel writes y = k·x for x [1, 3, h, w] into dir.
func scaleModel(t *testing.T, path string, k float32, h, w int64) {
	t.Helper()
	g := onnxbuild.New("scale", 13)
	x := g.Input("x", onnx.Float, 1, 3, h, w)
	g.NodeOut("Mul", []string{x, g.Float("k", []int64{1}, []float32{k})}, []string{"y"})
	g.Output("y", onnx.Float, 1, 3, h, w)
	b, err := g.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDetectorSwapModel: infer_2d (raw tensors out) switches to the new
// model at the frame after SwapModel returned, with the image's
// preprocessing unchanged; a model of another input size is refused and
// the old one keeps running.
func TestDetectorSwapModel(t *testing.T) {
	models := t.TempDir()
	scaleModel(t, filepath.Join(models, "one.onnx"), 1, 4, 4)
	scaleModel(t, filepath.Join(models, "ten.onnx"), 10, 4, 4)
	scaleModel(t, filepath.Join(models, "big.onnx"), 10, 8, 8)
	c := defaultConfig(t)
	c.Model, c.ModelsDir = ds3d.Path(filepath.Join(models, "one.onnx")), ds3d.Path(models)
	c.Parser, c.NetworkType, c.OutputTensorMeta = "raw", NetworkOther, true
	c.ModelColorFormat, c.MaintainAspect, c.Threads = 0, false, 1
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	d, err := NewDetector(c)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	img := rgbFrame(t, 4, 4, func(x, y int) [3]uint8 { return [3]uint8{uint8(x), uint8(y), 7} })
	run := func() []float32 {
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.Key(c.InputKey), img)
		var out []float32
		if err := d.Process(context.Background(), m, func(m *ds3d.DataMap) error {
			out = tensorOf(t, m, c.TensorKeyPrefix+"y")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := run()
	if err := d.SwapModel(context.Background(), "big.onnx", ""); err == nil || !strings.Contains(err.Error(), "input 0 of the new model is x [1 3 8 8]") {
		t.Fatalf("8×8 model: %v", err)
	}
	if got := run(); !equal(got, before, 1) {
		t.Fatalf("after a refused swap %v, want %v", got, before)
	}
	if err := d.SwapModel(context.Background(), "ten.onnx", ""); err != nil {
		t.Fatal(err)
	}
	if got := run(); !equal(got, before, 10) {
		t.Fatalf("after the swap %v, want 10 × %v", got, before)
	}
	// The pixel (x=2, y=3) of the B plane is 7, preprocessed as 7·1.
	if before[2*16+3*4+2] != 7 {
		t.Fatalf("input %v", before)
	}
}

func equal(got, base []float32, k float32) bool {
	if len(got) != len(base) {
		return false
	}
	for i := range got {
		if got[i] != k*base[i] {
			return false
		}
	}
	return true
}
