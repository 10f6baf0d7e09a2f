package infer2d

import (
	"context"
	"image"
	_ "image/jpeg"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// countingRunner is a registered backend that runs the CPU engine and
// counts its runs, so the test sees infer_2d go through the registry.
type countingRunner struct {
	*infer.Session
	runs *atomic.Int64
}

func (r countingRunner) Run(in, out [][]float32) error {
	r.runs.Add(1)
	return r.Session.Run(in, out)
}

// infer_2d with backend = "<registered>" runs through that backend and gives
// the cpu backend's detections; an unknown backend or a precision the cpu
// backend cannot honour is a config error naming the key.
func TestBackendRegistry(t *testing.T) {
	var runs atomic.Int64
	var gotOpt infer.BackendOptions
	infer.RegisterBackend("counting-test", func(m *onnx.Model, opt infer.BackendOptions) (infer.Runner, error) {
		gotOpt = opt
		s, err := infer.NewSession(m, infer.Options{Threads: 1})
		if err != nil {
			return nil, err
		}
		return countingRunner{s, &runs}, nil
	})
	if b := infer.Backends(); !reflect.DeepEqual(b[:1], []string{"cpu"}) || !strings.Contains(strings.Join(b, ","), "counting-test") {
		t.Errorf("Backends() = %v", b)
	}

	dir := sampledata.Shared(t, "models-2d/yolox-nano")
	fh, err := os.Open(filepath.Join(dir, "images", "000000000785.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	frame := rgbFrame(t, b.Dx(), b.Dy(), func(x, y int) [3]uint8 {
		r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}
	})
	detect := func(backend, precision string) []ds3d.Object2D {
		c := defaultConfig(t)
		c.Model = ds3d.Path(filepath.Join(dir, "yolox_nano.onnx"))
		c.Threads = 1
		c.Backend, c.Precision = backend, precision
		if err := ds3d.CheckConfig(c); err != nil {
			t.Fatal(err)
		}
		d, err := NewDetector(c)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		m := ds3d.NewDataMap()
		defer m.Reset()
		m.SetFrame(ds3d.Key(c.InputKey), frame.Retain())
		var got []ds3d.Object2D
		if err := d.Process(context.Background(), m, func(o *ds3d.DataMap) error {
			got, err = ds3d.Get[[]ds3d.Object2D](o, ds3d.Key(c.OutputKey))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := detect("cpu", "")
	if len(want) == 0 {
		t.Fatal("no detections to compare; lower the threshold or change the image")
	}
	got := detect("counting-test", "tf32")
	if runs.Load() != 1 {
		t.Errorf("the registered backend ran %d times, want 1", runs.Load())
	}
	if gotOpt.Precision != "tf32" {
		t.Errorf("backend opened with %+v, want precision tf32", gotOpt)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backend detections differ from the cpu backend's:\n%v\n%v", got, want)
	}

	for _, tc := range []struct{ backend, precision, want string }{
		{"nope", "", `backend: must be one of "", "cpu"`},
		{"cpu", "fp16", "precision: the cpu backend computes in fp32"},
	} {
		c := defaultConfig(t)
		c.Model = "m.onnx"
		c.Backend, c.Precision = tc.backend, tc.precision
		if err := ds3d.CheckConfig(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("backend %q precision %q: %v, want %q", tc.backend, tc.precision, err, tc.want)
		}
	}
}
