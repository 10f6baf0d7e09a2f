package infer

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// DetectorConfig configures infer_2d, the nvinfer-style 2D detector.
type DetectorConfig struct {
	Model        ds3d.Path `toml:"model" required:"true" doc:"ONNX model file"`
	Labels       ds3d.Path `toml:"labelfile_path" doc:"class names, one per line (index = class id)"`
	Parser       string    `toml:"parser" doc:"output parser: yolox (YOLOX heads, letterboxed BGR 0..255 input)"`
	Threshold    float64   `toml:"pre_cluster_threshold" doc:"least detection score kept"`
	NMSThreshold float64   `toml:"nms_iou_threshold" doc:"class-wise NMS: a box overlapping a better one of its class by more than this IoU is dropped"`
	Cameras      int       `toml:"cameras" doc:"number of cameras: DS3D::ColorFrame_n in, DS3D::Object2DBboxKey_n out (1: the keys without suffix)"`
	InputKey     string    `toml:"input_datamap_key" doc:"key of the RGB/RGBA u8 image frames"`
	OutputKey    string    `toml:"output_datamap_key" doc:"key of the []Object2D detections"`
	Threads      int       `toml:"threads" doc:"inference threads; 0: all cores"`
}

// Validate checks the config.
func (c *DetectorConfig) Validate() error {
	switch {
	case c.Parser != "yolox":
		return ds3d.ConfigErrorf("parser", "only \"yolox\" is built in, got %q", c.Parser)
	case !(c.Threshold > 0 && c.Threshold < 1):
		return ds3d.ConfigErrorf("pre_cluster_threshold", "must be in (0, 1), got %v", c.Threshold)
	case !(c.NMSThreshold > 0 && c.NMSThreshold <= 1):
		return ds3d.ConfigErrorf("nms_iou_threshold", "must be in (0, 1], got %v", c.NMSThreshold)
	case c.Cameras < 1:
		return ds3d.ConfigErrorf("cameras", "must be ≥ 1, got %d", c.Cameras)
	case c.Threads < 0:
		return ds3d.ConfigErrorf("threads", "must be ≥ 0, got %d", c.Threads)
	}
	return nil
}

// ReadLabels reads a class-name file: one name per line, index = class id;
// names may hold spaces ("traffic light"), blank lines are skipped.
func ReadLabels(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// Detector is the infer_2d component.
type Detector struct {
	y    *YOLOX
	keys [][2]ds3d.Key
}

// NewDetector loads the model and labels.
func NewDetector(c *DetectorConfig) (*Detector, error) {
	var classes []string
	if c.Labels != "" {
		var err error
		if classes, err = ReadLabels(string(c.Labels)); err != nil {
			return nil, fmt.Errorf("labelfile_path: %w", err)
		}
	}
	y, err := NewYOLOX(string(c.Model), classes, Options{Threads: c.Threads})
	if err != nil {
		return nil, err
	}
	y.ScoreThreshold, y.NMSThreshold = float32(c.Threshold), float32(c.NMSThreshold)
	d := &Detector{y: y}
	for n := 0; n < c.Cameras; n++ {
		in, out := ds3d.Key(c.InputKey), ds3d.Key(c.OutputKey)
		if c.Cameras > 1 {
			in, out = in.Sensor(n), out.Sensor(n)
		}
		d.keys = append(d.keys, [2]ds3d.Key{in, out})
	}
	return d, nil
}

// Process detects objects in every camera's frame.
func (d *Detector) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	src, _ := in.Int64(ds3d.KeySourceID)
	for _, k := range d.keys {
		f, err := in.Frame(k[0])
		if err != nil {
			return err
		}
		if f.DType != ds3d.DTypeU8 || (f.Type != ds3d.FrameColorRGB && f.Type != ds3d.FrameColorRGBA) || f.Plane.Pitch == 0 {
			return fmt.Errorf("%s: want an RGB or RGBA u8 image frame, got %s %s", k[0], f.Type, f.DType)
		}
		p := f.Plane
		dets, err := d.y.DetectRGB(f.Data, p.Width, p.Height, p.Pitch, p.BytesPerPixel)
		if err != nil {
			return err
		}
		for i := range dets {
			dets[i].SourceID = int32(src)
		}
		in.Set(k[1], dets)
	}
	return emit(in)
}

// Close releases the model.
func (d *Detector) Close() error { return d.y.Close() }

func init() {
	ds3d.Register(ds3d.KindFilter, "infer_2d",
		`2D object detection on camera frames with an ONNX model run by the pure-Go engine (DeepStream's nvinfer role): letterbox preprocessing and the YOLOX output parser with class-wise NMS; writes []Object2D per camera.`,
		func() *DetectorConfig {
			return &DetectorConfig{Parser: "yolox", Threshold: 0.3, NMSThreshold: 0.45, Cameras: 1,
				InputKey: string(ds3d.KeyColorFrame), OutputKey: string(ds3d.KeyObject2DBbox)}
		},
		func(c *DetectorConfig, _ *ds3d.Env) (any, error) { return NewDetector(c) })
}
