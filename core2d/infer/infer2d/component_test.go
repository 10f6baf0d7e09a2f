package infer2d

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// identityModel writes an Identity model [1, C, H, W] → same, so that the
// "network output" is the preprocessed input itself.
func identityModel(t *testing.T, c, h, w int) string {
	t.Helper()
	g := onnxbuild.New("id", 13)
	x := g.Input("x", onnx.Float, 1, int64(c), int64(h), int64(w))
	g.Output(g.Node("Identity", []string{x}), onnx.Float, 1, int64(c), int64(h), int64(w))
	b, err := g.Build()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// defaultConfig is infer_2d's registered defaults.
func defaultConfig(t *testing.T) *DetectorConfig {
	spec, ok := ds3d.Lookup("infer_2d")
	if !ok {
		t.Fatal("infer_2d not registered")
	}
	return spec.NewConfig().(*DetectorConfig)
}

func rgbFrame(t *testing.T, w, h int, px func(x, y int) [3]uint8) *ds3d.Frame {
	t.Helper()
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, w, h, 0)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := px(x, y)
			copy(f.Data[y*f.Plane.Pitch+3*x:], c[:])
		}
	}
	return f
}

func process(t *testing.T, c *DetectorConfig, f *ds3d.Frame) *ds3d.DataMap {
	t.Helper()
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	d, err := NewDetector(c)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.Key(c.InputKey), f)
	var out *ds3d.DataMap
	if err := d.Process(context.Background(), m, func(m *ds3d.DataMap) error { out = m; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func tensorOf(t *testing.T, m *ds3d.DataMap, key string) []float32 {
	t.Helper()
	f, err := m.Frame(ds3d.Key(key))
	if err != nil {
		t.Fatal(err)
	}
	return ds3d.AsFloat32(f)[:f.Shape.Elements()]
}

// TestPreprocessKeys: net_scale_factor, offsets, model_color_format,
// maintain_aspect_ratio, symmetric_padding and pad_value on a constant
// 4×2 image (R, G, B) = (10, 20, 30) into a 4×4 input, against values
// computed by hand: y = 0.5·(v − offset).
func TestPreprocessKeys(t *testing.T) {
	img := rgbFrame(t, 4, 2, func(int, int) [3]uint8 { return [3]uint8{10, 20, 30} })
	for _, tc := range []struct {
		name      string
		format    int
		aspect    bool
		symmetric bool
		offsets   []float64
		rows      [4]bool // which rows hold the image (else padding)
		image     []float32
		pad       []float32
	}{
		{"rgb letterbox", 0, true, false, []float64{1, 2, 3}, [4]bool{true, true, false, false}, []float32{4.5, 9, 13.5}, []float32{-0.5, -1, -1.5}},
		{"bgr letterbox", 1, true, false, []float64{1, 2, 3}, [4]bool{true, true, false, false}, []float32{14.5, 9, 3.5}, []float32{-0.5, -1, -1.5}},
		{"symmetric", 0, true, true, []float64{1, 2, 3}, [4]bool{false, true, true, false}, []float32{4.5, 9, 13.5}, []float32{-0.5, -1, -1.5}},
		{"stretch", 0, false, false, nil, [4]bool{true, true, true, true}, []float32{5, 10, 15}, nil},
		{"gray", 2, true, false, []float64{0.15}, [4]bool{true, true, false, false}, []float32{9}, []float32{-0.075}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := 3
			if tc.format == 2 {
				ch = 1
			}
			c := defaultConfig(t)
			c.Model = ds3d.Path(identityModel(t, ch, 4, 4))
			c.NetworkType, c.Parser, c.OutputTensorMeta = NetworkOther, "raw", true
			c.NetScaleFactor, c.Offsets, c.ModelColorFormat = 0.5, tc.offsets, tc.format
			c.MaintainAspect, c.SymmetricPadding, c.PadValue = tc.aspect, tc.symmetric, 0
			got := tensorOf(t, process(t, c, img), c.TensorKeyPrefix+"Identity_1")
			for k := 0; k < ch; k++ {
				for y := 0; y < 4; y++ {
					for x := 0; x < 4; x++ {
						want := float32(0)
						if tc.rows[y] {
							want = tc.image[k]
						} else {
							want = tc.pad[k]
						}
						if v := got[k*16+y*4+x]; math.Abs(float64(v-want)) > 1e-5 {
							t.Fatalf("channel %d (%d, %d): %v, want %v", k, x, y, v, want)
						}
					}
				}
			}
		})
	}
}

// fixedCands is a registered custom parser returning hand-made candidates
// (network pixels; the 4×4 identity model maps 1:1 to the 4×4 image).
var fixedCands []Candidate

func init() {
	RegisterParser("test_fixed", func(dst []Candidate, outs []Tensor, info ParseInfo) ([]Candidate, error) {
		if len(outs) != 1 || info.InputW != 4 {
			return dst, fmt.Errorf("unexpected outputs %v", shapes(outs))
		}
		return append(dst, fixedCands...), nil
	})
}

// TestClusterAndClassAttrs: a registered Go parser, per-class
// pre_cluster_threshold / nms_iou_threshold / topk, and cluster_mode 4.
func TestClusterAndClassAttrs(t *testing.T) {
	box := func(x, score float64, class int) Candidate {
		return Candidate{Left: x, Top: 0, Width: 10, Height: 10, ClassID: class, Score: float32(score)}
	}
	// class 0: A 0.9 at 0, B 0.8 at 2 (IoU with A = 80/120 = 0.667), C 0.35 at 30
	// class 1: D 0.5 at 0, E 0.45 at 5 (IoU with D = 50/150 = 0.333), F 0.44 at 40
	fixedCands = []Candidate{box(0, 0.9, 0), box(2, 0.8, 0), box(30, 0.35, 0), box(0, 0.5, 1), box(5, 0.45, 1), box(40, 0.44, 1)}
	img := rgbFrame(t, 4, 4, func(int, int) [3]uint8 { return [3]uint8{1, 2, 3} })
	f := func(v float64) *float64 { return &v }
	k := func(v int) *int { return &v }
	for _, tc := range []struct {
		name  string
		edit  func(c *DetectorConfig)
		wantX []float32 // kept boxes' Left, in descending score order
	}{
		{"defaults", func(*DetectorConfig) {}, []float32{0, 0, 5, 40, 30}}, // NMS 0.45: B suppressed, E kept (0.333)
		{"global threshold", func(c *DetectorConfig) { c.Threshold = 0.46 }, []float32{0, 0}},
		{"class 0 threshold", func(c *DetectorConfig) { c.ClassAttrs = map[string]ClassAttrs{"0": {PreClusterThreshold: f(0.4)}} }, []float32{0, 0, 5, 40}},
		{"class 1 nms", func(c *DetectorConfig) { c.ClassAttrs = map[string]ClassAttrs{"1": {NMSThreshold: f(0.3)}} }, []float32{0, 0, 40, 30}},
		{"class 0 nms loose", func(c *DetectorConfig) { c.ClassAttrs = map[string]ClassAttrs{"0": {NMSThreshold: f(0.7)}} }, []float32{0, 2, 0, 5, 40, 30}},
		{"class 1 topk", func(c *DetectorConfig) { c.ClassAttrs = map[string]ClassAttrs{"1": {TopK: k(1)}} }, []float32{0, 0, 30}},
		{"global topk", func(c *DetectorConfig) { c.TopK = 1 }, []float32{0, 0}},
		{"no clustering", func(c *DetectorConfig) { c.ClusterMode = ClusterNone }, []float32{0, 2, 0, 5, 40, 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig(t)
			c.Model = ds3d.Path(identityModel(t, 3, 4, 4))
			c.Parser = "test_fixed"
			tc.edit(c)
			dets, err := ds3d.Get[[]ds3d.Object2D](process(t, c, img), ds3d.KeyObject2DBbox)
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			for _, d := range dets {
				got = append(got, d.Left)
			}
			if !reflect.DeepEqual(got, tc.wantX) {
				t.Fatalf("kept %v, want %v (%+v)", got, tc.wantX, dets)
			}
		})
	}
}

// TestParsers decodes hand-made YOLOv8 and SSD tensors.
func TestParsers(t *testing.T) {
	all := ParseInfo{InputW: 100, InputH: 50, MinScore: func(int) float32 { return 0.5 }}
	// YOLOv8 [1, 4+2, 8]: anchors as columns; anchors 3..7 score 0
	v8 := Tensor{Shape: []int{1, 6, 8}, Data: make([]float32, 48)}
	for r, vals := range [][]float32{
		{50, 10, 70},    // cx
		{20, 10, 30},    // cy
		{10, 4, 6},      // w
		{8, 2, 4},       // h
		{0.9, 0.1, 0.2}, // class 0
		{0.3, 0.6, 0.4}, // class 1
	} {
		copy(v8.Data[r*8:], vals)
	}
	got, err := ParseYOLOv8(nil, []Tensor{v8}, all)
	if err != nil {
		t.Fatal(err)
	}
	want := []Candidate{{Left: 45, Top: 16, Width: 10, Height: 8, ClassID: 0, Score: 0.9}, {Left: 8, Top: 9, Width: 4, Height: 2, ClassID: 1, Score: 0.6}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("yolov8: %+v, want %+v", got, want)
	}
	// the same anchors transposed: [1, 8, 6]
	tr := Tensor{Shape: []int{1, 8, 6}, Data: make([]float32, 48)}
	for r := 0; r < 6; r++ {
		for i := 0; i < 8; i++ {
			tr.Data[i*6+r] = v8.Data[r*8+i]
		}
	}
	if got, _ := ParseYOLOv8(nil, []Tensor{tr}, all); !reflect.DeepEqual(got, want) {
		t.Errorf("yolov8 transposed: %+v", got)
	}
	// SSD: boxes normalised x1 y1 x2 y2, scores per class
	boxes := Tensor{Shape: []int{1, 2, 4}, Data: []float32{0.1, 0.2, 0.5, 0.6, 0, 0, 1, 1}}
	scores := Tensor{Shape: []int{1, 2, 3}, Data: []float32{0.1, 0.2, 0.7, 0.4, 0.3, 0.2}}
	got, err = ParseSSD(nil, []Tensor{scores, boxes}, all)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Candidate{{Left: 10, Top: 10, Width: 40, Height: 20, ClassID: 2, Score: 0.7}}; len(got) != 1 ||
		math.Abs(got[0].Left-10) > 1e-5 || math.Abs(got[0].Top-10) > 1e-5 || math.Abs(got[0].Width-40) > 1e-5 || math.Abs(got[0].Height-20) > 1e-5 ||
		got[0].ClassID != 2 || got[0].Score != 0.7 {
		t.Errorf("ssd: %+v, want %+v", got, want)
	}
	if err := checkSSD([]Tensor{boxes}, 0); err == nil {
		t.Error("ssd with one output accepted")
	}
}

// TestClassifierAndSegmentation: network_type 1 and 3 on identity models,
// where the "scores" are the scaled pixel values.
func TestClassifierAndSegmentation(t *testing.T) {
	c := defaultConfig(t)
	c.Model = ds3d.Path(identityModel(t, 3, 1, 1))
	c.NetworkType, c.ModelColorFormat, c.NetScaleFactor = NetworkClassifier, 0, 1.0/255
	img := rgbFrame(t, 1, 1, func(int, int) [3]uint8 { return [3]uint8{10, 200, 30} })
	dets, err := ds3d.Get[[]ds3d.Object2D](process(t, c, img), ds3d.KeyObject2DBbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 1 || dets[0].ClassID != 1 || math.Abs(float64(dets[0].Score)-200.0/255) > 1e-6 || dets[0].Width != 1 {
		t.Fatalf("classifier: %+v", dets)
	}
	c.Threshold = 0.8 // 200/255 = 0.784 < 0.8
	if dets, _ := ds3d.Get[[]ds3d.Object2D](process(t, c, img), ds3d.KeyObject2DBbox); len(dets) != 0 {
		t.Fatalf("classifier below threshold: %+v", dets)
	}

	s := defaultConfig(t)
	s.Model = ds3d.Path(identityModel(t, 3, 2, 2))
	s.NetworkType, s.ModelColorFormat, s.MaintainAspect = NetworkSegmentation, 0, false
	px := [][3]uint8{{200, 0, 0}, {0, 9, 0}, {0, 0, 1}, {5, 7, 6}} // argmax: R, G, B, G
	seg := process(t, s, rgbFrame(t, 2, 2, func(x, y int) [3]uint8 { return px[y*2+x] }))
	mask, err := seg.Frame(ds3d.Key(s.MaskKey))
	if err != nil {
		t.Fatal(err)
	}
	if got := mask.Data[:4]; !reflect.DeepEqual(got, []byte{0, 1, 2, 1}) {
		t.Fatalf("mask %v", got)
	}
}

func TestDetectorConfigErrors(t *testing.T) {
	for key, edit := range map[string]func(c *DetectorConfig){
		"cluster_mode":       func(c *DetectorConfig) { c.ClusterMode = ClusterDBSCAN },
		"model_color_format": func(c *DetectorConfig) { c.ModelColorFormat = 3 },
		"network_type":       func(c *DetectorConfig) { c.NetworkType = 2 },
		"parser":             func(c *DetectorConfig) { c.Parser = "nope" },
		"net_scale_factor":   func(c *DetectorConfig) { c.NetScaleFactor = 0 },
		"offsets":            func(c *DetectorConfig) { c.Offsets = []float64{1, 2, 3, 4} },
		"class_attrs.x":      func(c *DetectorConfig) { c.ClassAttrs = map[string]ClassAttrs{"x": {}} },
	} {
		c := defaultConfig(t)
		c.Model = "m.onnx"
		edit(c)
		if err := ds3d.CheckConfig(c); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
}

// TestDetectorMatchesYOLOX: with the default config, infer_2d's generic
// path (preprocess, parser, class attrs, clustering) returns exactly what
// YOLOX.DetectRGB returns — the path checked against the onnxruntime
// golden detections — on real COCO images.
func TestDetectorMatchesYOLOX(t *testing.T) {
	testenv.SkipUnderRace(t, "the full model is slow under -race")
	if testing.Short() {
		t.Skip("-short: the full model runs in the shipped-build passes of make test")
	}
	dir := sampledata.Shared(t, "models-2d/yolox-nano")
	c := defaultConfig(t)
	c.Model = ds3d.Path(filepath.Join(dir, "yolox_nano.onnx"))
	c.Labels = ds3d.Path(filepath.Join(dir, "coco_classes.txt"))
	c.Threads = 2
	d, err := NewDetector(c)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	classes, _ := ReadLabels(string(c.Labels))
	y, err := NewYOLOX(string(c.Model), classes, infer.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	imgs, _ := filepath.Glob(filepath.Join(dir, "images", "*.jpg"))
	if len(imgs) == 0 {
		t.Skip("no images")
	}
	for _, p := range imgs {
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
		b := rgba.Bounds()
		want, err := y.DetectRGB(rgba.Pix, b.Dx(), b.Dy(), rgba.Stride, 4)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ds3d.NewImageFrame(ds3d.FrameColorRGBA, ds3d.DTypeU8, b.Dx(), b.Dy(), rgba.Stride)
		if err != nil {
			t.Fatal(err)
		}
		copy(f.Data, rgba.Pix)
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.KeyColorFrame, f)
		var got []ds3d.Object2D
		if err := d.Process(context.Background(), m, func(m *ds3d.DataMap) error {
			got, err = ds3d.Get[[]ds3d.Object2D](m, ds3d.KeyObject2DBbox)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: infer_2d %+v\nYOLOX %+v", filepath.Base(p), got, want)
		}
	}
}
