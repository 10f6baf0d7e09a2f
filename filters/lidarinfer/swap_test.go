package lidarinfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// scaleModel writes y = k·x for an input x of the given shape: each
// model's outputs say which model ran a frame.
func scaleModel(t *testing.T, path string, k float32, shape ...int64) {
	t.Helper()
	g := onnxbuild.New("scale", 13)
	x := g.Input("x", onnx.Float, shape...)
	g.NodeOut("Mul", []string{x, g.Float("k", []int64{1}, []float32{k})}, []string{"y"})
	g.Output("y", onnx.Float, shape...)
	b, err := g.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sha(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestSwapModel: frames run through the filter while another goroutine
// swaps the model; every frame comes out, each whole on one model (its
// output is 2·x or 3·x, never a mix), and after the switch no frame runs
// on the old one. Refused swaps (shapes, paths outside models_dir, a wrong
// sha256, no models_dir) leave the running model in place.
func TestSwapModel(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	if err := os.Mkdir(models, 0o755); err != nil {
		t.Fatal(err)
	}
	scaleModel(t, filepath.Join(models, "two.onnx"), 2, 1, 4)
	scaleModel(t, filepath.Join(models, "three.onnx"), 3, 1, 4)
	scaleModel(t, filepath.Join(models, "wide.onnx"), 5, 1, 8)
	scaleModel(t, filepath.Join(dir, "outside.onnx"), 7, 1, 4)
	if err := os.Symlink(filepath.Join(dir, "outside.onnx"), filepath.Join(models, "link.onnx")); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{ModelPath: ds3d.Path(filepath.Join(models, "two.onnx")), ModelsDir: ds3d.Path(models), Threads: 1,
		PoolGroup:    ds3d.PoolGroup{MemPoolSize: 4},
		ModelInputs:  []ModelInput{{Name: "x", DatamapKey: "in"}},
		ModelOutputs: []ModelOutput{{Name: "y", DatamapKey: "out"}}}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()

	for name, tc := range map[string]struct{ path, sum, want string }{
		"shape":      {"wide.onnx", "", "input 0 of the new model is x [1 8], the running model's is x [1 4]"},
		"dotdot":     {"../outside.onnx", "", "is not inside models_dir"},
		"absolute":   {filepath.Join(dir, "outside.onnx"), "", "is not inside models_dir"},
		"symlink":    {"link.onnx", "", "is not inside models_dir"},
		"missing":    {"none.onnx", "", "no such file"},
		"dir":        {".", "", "is not inside models_dir"},
		"sha256":     {"three.onnx", strings.Repeat("0", 64), "sha256 is " + sha(t, filepath.Join(models, "three.onnx"))},
		"sha256 hex": {"three.onnx", "xyz", "not 64 hex digits"},
	} {
		if err := f.SwapModel(ctx, tc.path, tc.sum); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
	off := *cfg
	off.ModelsDir = ""
	g, err := New(&off)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.SwapModel(ctx, "three.onnx", ""); err == nil || !strings.Contains(err.Error(), "no models_dir") {
		t.Errorf("without models_dir: %v", err)
	}
	g.Close()

	const frames = 400
	var (
		mu      sync.Mutex
		factors []float32
	)
	emit := func(m *ds3d.DataMap) error {
		in, _ := m.Frame("in")
		out, err := m.Frame("out")
		if err != nil {
			return err
		}
		x, y := ds3d.AsFloat32(in), ds3d.AsFloat32(out)
		k := y[0] / x[0]
		for i := range x {
			if y[i] != k*x[i] {
				t.Errorf("frame ran on two models: x %v y %v", x, y)
			}
		}
		mu.Lock()
		factors = append(factors, k)
		mu.Unlock()
		m.Release()
		return nil
	}
	swapped := make(chan error, 1)
	go func() {
		// The swap loads while frames run; the sum is checked.
		swapped <- f.SwapModel(ctx, "three.onnx", sha(t, filepath.Join(models, "three.onnx")))
	}()
	done := false
	for i := 0; i < frames; i++ {
		if i == frames/2 && !done {
			// Wait for the load half way, so the swap lands within the run.
			if err := <-swapped; err != nil {
				t.Fatal(err)
			}
			done = true
		}
		m := ds3d.NewDataMap()
		fr := ds3d.NewTensorFrame(ds3d.DTypeF32, 1, 4)
		copy(ds3d.AsFloat32(fr), []float32{float32(i + 1), 1, -2, 0.5})
		m.SetFrame("in", fr)
		if err := f.Process(ctx, m, emit); err != nil {
			t.Fatal(err)
		}
	}
	if !done {
		if err := <-swapped; err != nil {
			t.Fatal(err)
		}
	}
	if len(factors) != frames {
		t.Fatalf("%d frames out of %d", len(factors), frames)
	}
	switched := -1
	for i, k := range factors {
		switch {
		case k == 3 && switched < 0:
			switched = i
		case k == 2 && switched >= 0:
			t.Fatalf("frame %d ran on the old model after frame %d ran on the new one", i, switched)
		case k != 2 && k != 3:
			t.Fatalf("frame %d: factor %v", i, k)
		}
	}
	if switched < 0 || switched > frames/2 {
		t.Fatalf("the new model first ran at frame %d, want within [0, %d]", switched, frames/2)
	}
	if f.running != filepath.Join(models, "three.onnx") {
		t.Errorf("running %q", f.running)
	}
	t.Logf("switched at frame %d of %d", switched, frames)
}
