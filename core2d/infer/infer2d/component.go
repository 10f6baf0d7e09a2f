package infer2d

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ClassAttrs overrides the clustering parameters for one class id (nvinfer's
// [class-attrs-N] groups). Unset keys take the global values.
type ClassAttrs struct {
	PreClusterThreshold *float64 `toml:"pre_cluster_threshold" doc:"least score of this class's detections"`
	NMSThreshold        *float64 `toml:"nms_iou_threshold" doc:"NMS IoU of this class"`
	TopK                *int     `toml:"topk" doc:"most detections kept of this class after clustering (≤ 0: all)"`
}

// Network types (nvinfer network-type).
const (
	NetworkDetector     = 0
	NetworkClassifier   = 1
	NetworkSegmentation = 3
	NetworkOther        = 100
)

// Cluster modes (nvinfer cluster-mode).
const (
	ClusterDBSCAN = 1
	ClusterNMS    = 2
	ClusterNone   = 4
)

// DetectorConfig configures infer_2d, the nvinfer-style 2D inference
// component. The defaults run YOLOX exactly as NewYOLOX does.
type DetectorConfig struct {
	Model        ds3d.Path `toml:"model" required:"true" nonempty:"true" path:"exists" doc:"ONNX model file"`
	ModelsDir    ds3d.Path `toml:"models_dir" path:"exists" doc:"folder that a model swapped in while the pipeline runs (a swap_model command, relative paths taken under it) must lie in; empty: no swapping"`
	Labels       ds3d.Path `toml:"labelfile_path" path:"exists" doc:"class names, one per line (index = class id)"`
	Parser       string    `toml:"parser" nonempty:"true" enum:"@infer2d.parser" doc:"output parser: yolox (YOLOX head [1, A, 5+C]), yolov8 (raw head [1, 4+C, N]), ssd (boxes [1, N, 4] x1 y1 x2 y2 normalised + scores [1, N, C]), raw (no parsing: tensors to the datamap), or a name given to RegisterParser"`
	Threshold    float64   `toml:"pre_cluster_threshold" min:">0" max:"<1" doc:"least detection score kept (classifier: least class probability)"`
	NMSThreshold float64   `toml:"nms_iou_threshold" min:">0" max:"1" doc:"class-wise NMS: a box overlapping a better one of its class by more than this IoU is dropped"`
	TopK         int       `toml:"topk" doc:"most detections kept per class after clustering; ≤ 0: all"`
	Cameras      int       `toml:"cameras" min:"1" doc:"number of cameras: DS3D::ColorFrame_n in, DS3D::Object2DBboxKey_n out (1: the keys without suffix)"`
	InputKey     string    `toml:"input_datamap_key" doc:"key of the RGB/RGBA u8 image frames"`
	OutputKey    string    `toml:"output_datamap_key" doc:"key of the []Object2D detections (classifier: one object covering the frame)"`
	Threads      int       `toml:"threads" min:"0" doc:"inference threads; 0: all cores"`
	Backend      string    `toml:"backend" enum:"@infer2d.backend" doc:"engine: cpu (the pure-Go engine of core2d/infer, default) or cuda (core2d/infer/gpuinfer; needs a binary built with -tags cuda and an NVIDIA GPU)"`
	Precision    string    `toml:"precision" enum:"|fp32|tf32|tf32-fast|fp16" doc:"cuda backend: fp32 (default), tf32 (3xTF32, fp32-level accuracy), tf32-fast or fp16; the cpu backend is fp32 only"`

	NetScaleFactor   float64               `toml:"net_scale_factor" min:">0" doc:"nvinfer net-scale-factor: input = net_scale_factor × (pixel − offset)"`
	Offsets          []float64             `toml:"offsets" len:"<=3" doc:"nvinfer offsets: per-channel value subtracted before scaling, in model channel order (one value for GRAY)"`
	ModelColorFormat int                   `toml:"model_color_format" min:"0" max:"2" doc:"nvinfer model-color-format: 0 RGB, 1 BGR, 2 GRAY (0.299 R + 0.587 G + 0.114 B)"`
	MaintainAspect   bool                  `toml:"maintain_aspect_ratio" doc:"letterbox: scale by min(W/w, H/h) and pad; false stretches to the input size"`
	SymmetricPadding bool                  `toml:"symmetric_padding" doc:"letterbox: centre the image (pad both sides); false pads right and bottom"`
	PadValue         float64               `toml:"pad_value" min:"0" max:"255" doc:"pixel value (0..255, before offsets and scale) of the letterbox padding (YOLOX: 114)"`
	NetworkType      int                   `toml:"network_type" enum:"0|1|3|100" doc:"nvinfer network-type: 0 detector, 1 classifier, 3 segmentation, 100 other (raw tensors only)"`
	ClusterMode      int                   `toml:"cluster_mode" enum:"2|4" doc:"nvinfer cluster-mode: 2 NMS, 4 none; 1 (DBSCAN) is not supported"`
	ClassAttrs       map[string]ClassAttrs `toml:"class_attrs" doc:"per-class overrides, [component.config.class_attrs.N] tables with pre_cluster_threshold, nms_iou_threshold and topk (N = class id)"`
	OutputTensorMeta bool                  `toml:"output_tensor_meta" doc:"nvinfer output-tensor-meta: also store every model output as an f32 tensor frame under <tensor_key_prefix><output name> (per camera: _n suffix)"`
	TensorKeyPrefix  string                `toml:"tensor_key_prefix" doc:"prefix of the output tensor keys"`
	MaskKey          string                `toml:"mask_datamap_key" doc:"segmentation: key of the u8 class-id mask frame [H, W] (network resolution)"`
}

// Validate checks the config.
func (c *DetectorConfig) Validate() error {
	switch {
	case (c.Backend == "" || c.Backend == "cpu") && c.Precision != "" && c.Precision != "fp32":
		return ds3d.ConfigErrorf("precision", "the cpu backend computes in fp32, got %q", c.Precision)
	case c.OutputTensorMeta && c.TensorKeyPrefix == "":
		return ds3d.ConfigErrorf("tensor_key_prefix", "must not be empty with output_tensor_meta")
	}
	if c.NetworkType == NetworkDetector && c.Parser == "raw" {
		return ds3d.ConfigErrorf("parser", "raw does not parse detections; use network_type = 100 with output_tensor_meta")
	}
	for k, a := range c.ClassAttrs {
		if id, err := strconv.Atoi(k); err != nil || id < 0 {
			return ds3d.ConfigErrorf("class_attrs."+k, "table name must be a class id ≥ 0")
		}
		if a.PreClusterThreshold != nil && !(*a.PreClusterThreshold >= 0 && *a.PreClusterThreshold <= 1) {
			return ds3d.ConfigErrorf("class_attrs."+k+".pre_cluster_threshold", "must be in [0, 1], got %v", *a.PreClusterThreshold)
		}
		if a.NMSThreshold != nil && !(*a.NMSThreshold > 0 && *a.NMSThreshold <= 1) {
			return ds3d.ConfigErrorf("class_attrs."+k+".nms_iou_threshold", "must be in (0, 1], got %v", *a.NMSThreshold)
		}
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
	c       DetectorConfig
	s       infer.Runner
	log     *slog.Logger
	swap    ModelSlot      // a model loaded by SwapModel, for Process to switch to
	ioIn    []infer.IOInfo // the first model's inputs, and outputs: a swapped one must match
	ioOut   []infer.IOInfo
	running string // path of the model that runs now
	classes []string
	parse   *Parser
	in      []float32
	outs    [][]float32
	tensors []Tensor
	pre     preprocess
	attrs   map[int]classParams
	def     classParams
	keys    []cameraKeys
	cand    []Candidate
	objs    []ds3d.Object2D
}

type cameraKeys struct {
	in, out, mask ds3d.Key
	tensors       []ds3d.Key
}

type classParams struct {
	thr, nms float64
	topk     int
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
	s, err := infer.OpenRunner(string(c.Model), c.Backend, c.Precision, c.Threads)
	if err != nil {
		return nil, err
	}
	d, err := newDetector(c, s, classes)
	if err != nil {
		s.Close()
		return nil, err
	}
	return d, nil
}

func newDetector(c *DetectorConfig, s infer.Runner, classes []string) (*Detector, error) {
	d := &Detector{c: *c, s: s, classes: classes, parse: lookupParser(c.Parser), attrs: map[int]classParams{},
		log: slog.New(slog.DiscardHandler), ioIn: s.Inputs(), ioOut: s.Outputs(), running: string(c.Model)}
	in := s.Inputs()
	if len(in) != 1 || len(in[0].Shape) != 4 || in[0].Shape[0] != 1 {
		return nil, fmt.Errorf("infer_2d %s: want one [1, C, H, W] image input, got %v", c.Model, in)
	}
	ch := in[0].Shape[1]
	if want := 3; c.ModelColorFormat == 2 {
		if ch != 1 {
			return nil, fmt.Errorf("infer_2d %s: model_color_format 2 (GRAY) needs a 1-channel input, the model's is %v", c.Model, in[0].Shape)
		}
	} else if ch != want {
		return nil, fmt.Errorf("infer_2d %s: model_color_format %d needs a 3-channel input, the model's is %v", c.Model, c.ModelColorFormat, in[0].Shape)
	}
	if len(c.Offsets) > 0 && len(c.Offsets) != ch {
		return nil, ds3d.ConfigErrorf("offsets", "%d values for a %d-channel input", len(c.Offsets), ch)
	}
	d.pre = preprocess{C: ch, H: in[0].Shape[2], W: in[0].Shape[3], scale: float32(c.NetScaleFactor), format: c.ModelColorFormat,
		keepAspect: c.MaintainAspect, symmetric: c.SymmetricPadding, pad: c.PadValue}
	for i := range c.Offsets {
		d.pre.offsets[i] = float32(c.Offsets[i])
	}
	d.in = make([]float32, in[0].Size())
	for _, o := range s.Outputs() {
		buf := make([]float32, o.Size())
		d.outs = append(d.outs, buf)
		d.tensors = append(d.tensors, Tensor{Name: o.Name, Shape: o.Shape, Data: buf})
	}
	d.def = classParams{thr: c.Threshold, nms: c.NMSThreshold, topk: c.TopK}
	for k, a := range c.ClassAttrs {
		id, _ := strconv.Atoi(k)
		p := d.def
		if a.PreClusterThreshold != nil {
			p.thr = *a.PreClusterThreshold
		}
		if a.NMSThreshold != nil {
			p.nms = *a.NMSThreshold
		}
		if a.TopK != nil {
			p.topk = *a.TopK
		}
		d.attrs[id] = p
	}
	if c.NetworkType == NetworkSegmentation {
		if o := s.Outputs(); len(o) != 1 || len(o[0].Shape) != 4 || o[0].Shape[0] != 1 {
			return nil, fmt.Errorf("infer_2d %s: segmentation needs one [1, C, H, W] output, got %v", c.Model, o)
		}
	}
	if c.NetworkType == NetworkDetector && d.parse != nil && d.parse.Check != nil {
		if err := d.parse.Check(d.tensors, len(classes)); err != nil {
			return nil, fmt.Errorf("infer_2d %s: parser %s: %w", c.Model, c.Parser, err)
		}
	}
	for n := 0; n < c.Cameras; n++ {
		k := cameraKeys{in: ds3d.Key(c.InputKey), out: ds3d.Key(c.OutputKey), mask: ds3d.Key(c.MaskKey)}
		for _, o := range s.Outputs() {
			k.tensors = append(k.tensors, ds3d.Key(c.TensorKeyPrefix+o.Name))
		}
		if c.Cameras > 1 {
			k.in, k.out, k.mask = k.in.Sensor(n), k.out.Sensor(n), k.mask.Sensor(n)
			for i := range k.tensors {
				k.tensors[i] = k.tensors[i].Sensor(n)
			}
		}
		d.keys = append(d.keys, k)
	}
	return d, nil
}

func (d *Detector) params(class int) classParams {
	if p, ok := d.attrs[class]; ok {
		return p
	}
	return d.def
}

// Process runs the network on every camera's frame.
func (d *Detector) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	d.takeSwap()
	src, _ := in.Int64(ds3d.KeySourceID)
	for _, k := range d.keys {
		f, err := in.Frame(k.in)
		if err != nil {
			return err
		}
		if f.DType != ds3d.DTypeU8 || (f.Type != ds3d.FrameColorRGB && f.Type != ds3d.FrameColorRGBA) || f.Plane.Pitch == 0 {
			return fmt.Errorf("%s: want an RGB or RGBA u8 image frame, got %s %s", k.in, f.Type, f.DType)
		}
		p := f.Plane
		lb := d.pre.run(d.in, f.Data, p.Width, p.Height, p.Pitch, p.BytesPerPixel)
		if err := d.s.Run([][]float32{d.in}, d.outs); err != nil {
			return err
		}
		if d.c.OutputTensorMeta {
			for i, t := range d.tensors {
				fr := ds3d.NewTensorFrame(ds3d.DTypeF32, t.Shape...)
				copy(ds3d.AsFloat32(fr), t.Data)
				in.SetFrame(k.tensors[i], fr)
			}
		}
		switch d.c.NetworkType {
		case NetworkDetector:
			dets, err := d.detect(lb, int32(src))
			if err != nil {
				return fmt.Errorf("%s: %w", k.in, err)
			}
			in.Set(k.out, dets)
		case NetworkClassifier:
			in.Set(k.out, d.classify(p.Width, p.Height, int32(src)))
		case NetworkSegmentation:
			in.SetFrame(k.mask, d.segment())
		}
	}
	return emit(in)
}

// detect parses the outputs, thresholds per class, maps the boxes back to
// source pixels and clusters them. The order of operations is YOLOX's
// (threshold, unmap, stable sort by score, class-wise greedy NMS), so the
// default config reproduces YOLOX.Detect exactly.
func (d *Detector) detect(lb letterboxGeom, src int32) ([]ds3d.Object2D, error) {
	var err error
	d.cand, err = d.parse.Parse(d.cand[:0], d.tensors, ParseInfo{InputW: d.pre.W, InputH: d.pre.H, Classes: len(d.classes),
		MinScore: func(class int) float32 { return float32(d.params(class).thr) }})
	if err != nil {
		return nil, err
	}
	d.objs = d.objs[:0]
	for _, c := range d.cand {
		if c.Score < float32(d.params(c.ClassID).thr) {
			continue
		}
		o := ds3d.Object2D{
			Left: float32((c.Left - lb.dx) / lb.rx), Top: float32((c.Top - lb.dy) / lb.ry),
			Width: float32(c.Width / lb.rx), Height: float32(c.Height / lb.ry),
			ClassID: int32(c.ClassID), Score: c.Score, TrackID: -1, SourceID: src,
		}
		if c.ClassID >= 0 && c.ClassID < len(d.classes) {
			o.Label = d.classes[c.ClassID]
		}
		d.objs = append(d.objs, o)
	}
	sort.SliceStable(d.objs, func(i, j int) bool { return d.objs[i].Score > d.objs[j].Score })
	var out []ds3d.Object2D
	count := map[int32]int{}
	for i := range d.objs {
		c := &d.objs[i]
		p := d.params(int(c.ClassID))
		if p.topk > 0 && count[c.ClassID] >= p.topk {
			continue
		}
		keep := true
		if d.c.ClusterMode == ClusterNMS {
			for j := range out {
				if out[j].ClassID == c.ClassID && iou2D(&out[j], c) > p.nms {
					keep = false
					break
				}
			}
		}
		if keep {
			out = append(out, *c)
			count[c.ClassID]++
		}
	}
	return out, nil
}

// classify reads the first output as class scores (probabilities or
// logits, used as they are) and reports the best class when it reaches its
// threshold, as one object covering the frame.
func (d *Detector) classify(w, h int, src int32) []ds3d.Object2D {
	scores := d.outs[0]
	best := 0
	for i, v := range scores {
		if v > scores[best] {
			best = i
		}
	}
	if len(scores) == 0 || scores[best] < float32(d.params(best).thr) {
		return []ds3d.Object2D{}
	}
	o := ds3d.Object2D{Width: float32(w), Height: float32(h), ClassID: int32(best), Score: scores[best], TrackID: -1, SourceID: src}
	if best < len(d.classes) {
		o.Label = d.classes[best]
	}
	return []ds3d.Object2D{o}
}

// segment writes the per-pixel argmax class of a [1, C, H, W] output as a
// u8 [H, W] frame (class ids above 255 saturate).
func (d *Detector) segment() *ds3d.Frame {
	t := d.tensors[0]
	C, H, W := t.Shape[1], t.Shape[2], t.Shape[3]
	fr := ds3d.NewTensorFrame(ds3d.DTypeU8, H, W)
	plane := H * W
	for i := 0; i < plane; i++ {
		best := 0
		for c := 1; c < C; c++ {
			if t.Data[c*plane+i] > t.Data[best*plane+i] {
				best = c
			}
		}
		fr.Data[i] = uint8(min(best, 255))
	}
	return fr
}

// Close releases the model (and one parked by SwapModel).
func (d *Detector) Close() error {
	d.swap.Close()
	return d.s.Close()
}

func init() {
	ds3d.RegisterEnum("infer2d.parser", func() []string {
		s := append(parserNames(), "raw")
		slices.Sort(s)
		return s
	})
	ds3d.RegisterEnum("infer2d.backend", func() []string { return append([]string{""}, infer.Backends()...) })
	ds3d.Register(ds3d.KindFilter, "infer_2d",
		`2D inference on camera frames with an ONNX model run by the pure-Go engine (DeepStream's nvinfer role): nvinfer preprocessing (net_scale_factor, offsets, colour format, letterbox), detector parsers (yolox, yolov8, ssd, registered Go functions) with per-class thresholds and class-wise NMS into []Object2D per camera, classifier and segmentation outputs, and raw output tensors (output_tensor_meta).`,
		func() *DetectorConfig {
			return &DetectorConfig{Parser: "yolox", Threshold: 0.3, NMSThreshold: 0.45, Cameras: 1,
				InputKey: string(ds3d.KeyColorFrame), OutputKey: string(ds3d.KeyObject2DBbox),
				NetScaleFactor: 1, ModelColorFormat: 1, MaintainAspect: true, PadValue: 114,
				NetworkType: NetworkDetector, ClusterMode: ClusterNMS, TensorKeyPrefix: "DS3D::InferTensor::",
				MaskKey: "DS3D::SegmentationMask"}
		},
		func(c *DetectorConfig, env *ds3d.Env) (any, error) {
			d, err := NewDetector(c)
			if err != nil {
				return nil, err
			}
			if env != nil && env.Log != nil {
				d.log = env.Log
			}
			return d, nil
		})
}
