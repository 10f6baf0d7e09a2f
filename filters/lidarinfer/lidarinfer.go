// Package lidarinfer is the lidar_infer ds3d filter, the counterpart of
// ds3d's tritoninferfilter (createLidarInferenceFilter): it feeds datamap
// frames to the inputs of an ONNX model run by the pure-Go engine
// (core2d/infer), stores the model's outputs back into the datamap as f32
// tensor frames, and optionally decodes a PointPillars / SECOND anchor head
// into 3D boxes (filters/postprocess: OpenPCDet anchors, residual decoding,
// direction bins, rotated-BEV NMS) under DS3D::Lidar3DBboxRawData.
package lidarinfer

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/postprocess"
)

// ModelInput maps a datamap frame to a model input.
type ModelInput struct {
	Name       string    `toml:"name" nonempty:"true" doc:"model input name"`
	DatamapKey string    `toml:"datamap_key" nonempty:"true" doc:"key of the frame fed to it (ds3d: the <name>From keys, e.g. DS3D::LidarFeatureTensor+1); f32, f16, f64 and integer frames (i32, i64, u8, …) are converted to the engine's float32; a frame of the model input's rank that is shorter along one non-leading axis (e.g. [B, V, 4] coords with fewer voxels) is padded per batch entry with pad_row"`
	Shape      []int     `toml:"shape" doc:"optional: the model input's shape as ds3d writes it (checked against the model at start)"`
	Datatype   string    `toml:"datatype" enum:"|FP32|FP16|FP64|INT8|INT16|INT32|INT64|UINT8|UINT16|UINT32" enumfold:"true" doc:"optional: ds3d datatype of the frame (FP32, FP16, INT32, INT64, …); checked against each frame"`
	PadRow     []float64 `toml:"pad_row" doc:"values of one padding row: a frame with fewer rows than the model's first dim is padded with it (default zeros); PointPillars coords use [0, 0, NY, 0] so padding lands in the dropped row"`
}

// ModelOutput maps a model output to a datamap key.
type ModelOutput struct {
	Name       string `toml:"name" nonempty:"true" doc:"model output name"`
	DatamapKey string `toml:"datamap_key" nonempty:"true" doc:"key the output is stored under, as an f32 tensor frame of the model's output shape"`
}

// Config configures lidar_infer.
type Config struct {
	ModelPath      ds3d.Path     `toml:"model_path" nonempty:"true" required:"true" path:"exists" doc:"ONNX model file"`
	ModelsDir      ds3d.Path     `toml:"models_dir" path:"exists" doc:"folder that a model swapped in while the pipeline runs (a swap_model command, relative paths taken under it) must lie in; empty: no swapping"`
	ModelInputs    []ModelInput  `toml:"model_inputs" nonempty:"true" doc:"model inputs and the datamap frames that feed them (ds3d model_inputs); every model input must be listed"`
	ModelOutputs   []ModelOutput `toml:"model_outputs" doc:"model outputs stored into the datamap (ds3d model_outputs); may be empty when postprocess consumes them"`
	Threads        int           `toml:"threads" min:"0" doc:"inference threads; 0: all cores"`
	ds3d.PoolGroup `doc:"output frame sets in flight before the filter waits for one to come back (ds3d mem_pool_size)"`

	Postprocess    string    `toml:"postprocess" enum:"|pointpillars" doc:"\"\" (none) or \"pointpillars\": decode the anchor head outputs (OpenPCDet KITTI anchors) and run rotated-BEV NMS"`
	ClsOutput      string    `toml:"cls_output" doc:"pointpillars: model output with the class logits [1, NY, NX, A·C]"`
	BoxOutput      string    `toml:"box_output" doc:"pointpillars: model output with the box residuals [1, NY, NX, A·7]"`
	DirOutput      string    `toml:"dir_output" doc:"pointpillars: model output with the direction logits [1, NY, NX, A·2]; empty: no direction classifier"`
	Range          []float64 `toml:"point_cloud_range" len:"6" finite:"true" ordered:"<" doc:"pointpillars: anchor range [x0, y0, z0, x1, y1, z1] (OpenPCDet POINT_CLOUD_RANGE)"`
	ScoreThreshold float64   `toml:"score_threshold" notnan:"true" doc:"pointpillars: least class score of a box (OpenPCDet SCORE_THRESH)"`
	NMSThreshold   float64   `toml:"nms_iou_threshold" min:"0" max:"1" doc:"pointpillars: rotated BEV IoU above which a lower-scored box is dropped (OpenPCDet NMS_THRESH 0.01)"`
	PreNMSMax      int       `toml:"nms_pre_max_size" min:"-1" doc:"pointpillars: best-scored boxes that go into NMS (OpenPCDet NMS_PRE_MAXSIZE); -1: all"`
	MaxOutput      int       `toml:"max_output" min:"-1" doc:"pointpillars: boxes kept after NMS, best first (OpenPCDet NMS_POST_MAXSIZE)"`
	OutputKey      string    `toml:"output_datamap_key" doc:"pointpillars: key of the []Box3D result"`
}

// Validate checks the datatypes and what pointpillars post-processing needs.
func (c *Config) Validate() error {
	if c.Postprocess == "pointpillars" {
		switch {
		case c.ClsOutput == "" || c.BoxOutput == "":
			return ds3d.ConfigErrorf("cls_output", "pointpillars needs cls_output and box_output")
		case len(c.Range) == 0:
			return ds3d.ConfigErrorf("point_cloud_range", "pointpillars needs the anchor range")
		case c.PreNMSMax == 0:
			return ds3d.ConfigErrorf("nms_pre_max_size", "must be ≥ 1 or -1, got 0")
		case c.OutputKey == "":
			return ds3d.ConfigErrorf("output_datamap_key", "pointpillars needs an output key")
		}
	}
	return nil
}

// datatypes maps ds3d's datatype names to frame element types.
var datatypes = map[string]ds3d.DataType{
	"FP32": ds3d.DTypeF32, "FP16": ds3d.DTypeF16, "FP64": ds3d.DTypeF64, "INT8": ds3d.DTypeI8, "INT16": ds3d.DTypeI16, "INT32": ds3d.DTypeI32,
	"INT64": ds3d.DTypeI64, "UINT8": ds3d.DTypeU8, "UINT16": ds3d.DTypeU16, "UINT32": ds3d.DTypeU32,
}

type boundInput struct {
	ModelInput
	dtype ds3d.DataType // 0: any
	shape []int         // the model input's shape
	size  int           // model input elements
	buf   []float32
	pad   []float32 // one padding row, resized to the frame's row size
}

type boundOutput struct {
	name  string
	key   ds3d.Key
	shape []int
	pool  *ds3d.FramePool
}

// Filter is the lidar_infer component.
type Filter struct {
	s       *infer.Session
	log     *slog.Logger
	swap    infer2d.ModelSlot // a model loaded by SwapModel, for Process to switch to
	ioIn    []infer.IOInfo    // the first model's inputs, and outputs: a swapped one must match
	ioOut   []infer.IOInfo
	running string // path of the model that runs now
	ins     []*boundInput
	inBufs  [][]float32
	outs    [][]float32 // per model output
	stored  []boundOutput
	outIdx  map[string]int
	head    *postprocess.AnchorHead
	cls     []float32
	box     []float32
	dir     []float32
	c       Config
	nms     postprocess.NMS
	decoded []ds3d.Box3D
	idx     []int32
}

// New loads the model and binds the config's inputs and outputs to it.
func New(c *Config) (*Filter, error) {
	s, err := infer.Open(string(c.ModelPath), infer.Options{Threads: c.Threads})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", c.ModelPath, err)
	}
	f, err := bind(s, c)
	if err != nil {
		s.Close()
		return nil, err
	}
	return f, nil
}

func bind(s *infer.Session, c *Config) (*Filter, error) {
	f := &Filter{s: s, c: *c, outIdx: map[string]int{}, log: slog.New(slog.DiscardHandler),
		ioIn: s.Inputs(), ioOut: s.Outputs(), running: string(c.ModelPath)}
	byName := map[string]*ModelInput{}
	for i := range c.ModelInputs {
		byName[c.ModelInputs[i].Name] = &c.ModelInputs[i]
	}
	var names []string
	for _, in := range s.Inputs() {
		names = append(names, fmt.Sprintf("%s %v", in.Name, in.Shape))
	}
	for _, in := range s.Inputs() {
		mi, ok := byName[in.Name]
		if !ok {
			return nil, ds3d.ConfigErrorf("model_inputs", "model input %q %v has no entry (model inputs: %s)", in.Name, in.Shape, strings.Join(names, ", "))
		}
		delete(byName, in.Name)
		if mi.Shape != nil && fmt.Sprint(mi.Shape) != fmt.Sprint(in.Shape) {
			return nil, ds3d.ConfigErrorf(fmt.Sprintf("model_inputs[%s].shape", in.Name), "%v, the model's input is %v", mi.Shape, in.Shape)
		}
		b := &boundInput{ModelInput: *mi, shape: in.Shape, size: in.Size(), buf: make([]float32, in.Size())}
		if mi.Datatype != "" {
			b.dtype = datatypes[strings.ToUpper(mi.Datatype)]
		}
		for _, v := range mi.PadRow {
			b.pad = append(b.pad, float32(v))
		}
		f.ins = append(f.ins, b)
	}
	for name := range byName {
		return nil, ds3d.ConfigErrorf("model_inputs", "%q is not an input of the model (model inputs: %s)", name, strings.Join(names, ", "))
	}
	var onames []string
	for i, o := range s.Outputs() {
		f.outIdx[o.Name] = i
		f.outs = append(f.outs, make([]float32, o.Size()))
		onames = append(onames, fmt.Sprintf("%s %v", o.Name, o.Shape))
	}
	for i, mo := range c.ModelOutputs {
		j, ok := f.outIdx[mo.Name]
		if !ok {
			return nil, ds3d.ConfigErrorf(fmt.Sprintf("model_outputs[%d]", i), "%q is not an output of the model (outputs: %s)", mo.Name, strings.Join(onames, ", "))
		}
		shape := s.Outputs()[j].Shape
		pool, err := ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewTensorFrame(ds3d.DTypeF32, shape...) })
		if err != nil {
			return nil, err
		}
		f.stored = append(f.stored, boundOutput{name: mo.Name, key: ds3d.Key(mo.DatamapKey), shape: shape, pool: pool})
	}
	if c.Postprocess == "pointpillars" {
		if err := f.bindHead(onames); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// bindHead sets up the KITTI anchor head on the model's cls/box/dir
// outputs: the feature map size comes from the cls output's shape
// [1, NY, NX, A·C].
func (f *Filter) bindHead(onames []string) error {
	c := &f.c
	get := func(key, name string) ([]float32, []int, error) {
		j, ok := f.outIdx[name]
		if !ok {
			return nil, nil, ds3d.ConfigErrorf(key, "%q is not an output of the model (outputs: %s)", name, strings.Join(onames, ", "))
		}
		return f.outs[j], f.s.Outputs()[j].Shape, nil
	}
	h := postprocess.KITTIPointPillars()
	for i := range h.Range {
		h.Range[i] = float32(c.Range[i])
	}
	var shape []int
	var err error
	if f.cls, shape, err = get("cls_output", c.ClsOutput); err != nil {
		return err
	}
	if len(shape) != 4 || shape[0] != 1 {
		return ds3d.ConfigErrorf("cls_output", "output %q has shape %v, want [1, NY, NX, A·C] (NHWC)", c.ClsOutput, shape)
	}
	h.NY, h.NX = shape[1], shape[2]
	A, C := h.PerCell(), len(h.Classes)
	if shape[3] != A*C {
		return ds3d.ConfigErrorf("cls_output", "output %q has %d channels, the KITTI head needs %d anchors × %d classes", c.ClsOutput, shape[3], A, C)
	}
	if f.box, shape, err = get("box_output", c.BoxOutput); err != nil {
		return err
	}
	if fmt.Sprint(shape) != fmt.Sprint([]int{1, h.NY, h.NX, A * 7}) {
		return ds3d.ConfigErrorf("box_output", "output %q has shape %v, want [1, %d, %d, %d]", c.BoxOutput, shape, h.NY, h.NX, A*7)
	}
	if c.DirOutput == "" {
		h.NumDirBins = 0
	} else {
		if f.dir, shape, err = get("dir_output", c.DirOutput); err != nil {
			return err
		}
		if fmt.Sprint(shape) != fmt.Sprint([]int{1, h.NY, h.NX, A * h.NumDirBins}) {
			return ds3d.ConfigErrorf("dir_output", "output %q has shape %v, want [1, %d, %d, %d]", c.DirOutput, shape, h.NY, h.NX, A*h.NumDirBins)
		}
	}
	if err := h.Check(); err != nil {
		return ds3d.ConfigErrorf("point_cloud_range", "%v", err)
	}
	h.Anchors() // made once, here
	f.head = h
	return nil
}

// Process runs the model on the datamap's frames.
func (f *Filter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	f.takeSwap()
	ins := f.inBufs[:0]
	for _, b := range f.ins {
		fr, err := m.Frame(ds3d.Key(b.DatamapKey))
		if err != nil {
			return fmt.Errorf("input %q: %w", b.Name, err)
		}
		if err := b.fill(fr); err != nil {
			return fmt.Errorf("input %q from %s: %w", b.Name, b.DatamapKey, err)
		}
		ins = append(ins, b.buf)
	}
	f.inBufs = ins
	if err := f.s.Run(ins, f.outs); err != nil {
		return err
	}
	for _, o := range f.stored {
		fr, err := o.pool.Get(ctx)
		if err != nil {
			return err
		}
		fr.DType, fr.Type, fr.Mem = ds3d.DTypeF32, ds3d.FrameTensor, ds3d.MemCPU
		fr.Resize(o.shape...)
		copy(ds3d.AsFloat32(fr), f.outs[f.outIdx[o.name]])
		m.SetFrame(o.key, fr)
	}
	if f.head != nil {
		var err error
		thr := float32(math.Max(f.c.ScoreThreshold, -math.MaxFloat32))
		if f.decoded, err = f.head.Decode(f.decoded[:0], f.cls, f.box, f.dir, thr); err != nil {
			return err
		}
		if f.c.PreNMSMax > 0 {
			f.decoded = postprocess.TopK(f.decoded, f.c.PreNMSMax)
		}
		var boxes []ds3d.Box3D // a new slice per datamap: shared read-only downstream
		boxes, f.idx = f.nms.Suppress(boxes, f.decoded, thr, f.c.NMSThreshold, false, f.c.MaxOutput, f.idx)
		m.Set(ds3d.Key(f.c.OutputKey), boxes)
	}
	return emit(m)
}

// fill converts a frame into the model input buffer. A frame of the
// model input's rank that is smaller along one axis (voxelize's [B, V, 4]
// coords with V below the model's, when not padded) is copied block by
// block and each missing row along that axis takes pad_row (zeros by
// default): padding stays inside its batch entry. Otherwise the frame's
// values are copied flat and the rows of its first dim beyond its own are
// padding rows.
func (b *boundInput) fill(fr *ds3d.Frame) error {
	if fr.Mem != ds3d.MemCPU {
		return fmt.Errorf("frame is in %s memory; lidar_infer reads CPU frames", fr.Mem)
	}
	if b.dtype != 0 && fr.DType != b.dtype {
		return fmt.Errorf("frame is %s, datatype says %s", fr.DType, strings.ToUpper(b.Datatype))
	}
	dims := fr.Shape.Dims()
	n := fr.Shape.Elements()
	if len(dims) == 0 {
		return fmt.Errorf("frame has no shape")
	}
	if len(fr.Data) < n*fr.DType.Size() {
		return fmt.Errorf("frame holds %d bytes, shape %s needs %d", len(fr.Data), fr.Shape, n*fr.DType.Size())
	}
	if axis, ok := b.padAxis(dims); ok {
		return b.fillAxis(fr, dims, axis)
	}
	row := n / max(dims[0], 1)
	if dims[0] == 0 {
		row = 1
		for _, d := range dims[1:] {
			row *= d
		}
	}
	if row == 0 || b.size%row != 0 {
		return fmt.Errorf("frame shape %s: its rows of %d values do not tile the model input %v of %d values", fr.Shape, row, b.shape, b.size)
	}
	if n > b.size {
		return fmt.Errorf("frame shape %s holds %d values, more than the model input %v's %d (raise the model's first dim or cap the producer)", fr.Shape, n, b.shape, b.size)
	}
	dst := b.buf
	if err := load(dst[:n], fr, 0); err != nil {
		return err
	}
	if len(b.pad) > 0 && len(b.pad) != row {
		return fmt.Errorf("pad_row has %d values, a row of frame shape %s has %d", len(b.pad), fr.Shape, row)
	}
	for o := n; o < b.size; o += row {
		if b.pad == nil {
			clear(dst[o:])
			break
		}
		copy(dst[o:o+row], b.pad)
	}
	return nil
}

// padAxis finds the one axis along which a frame of the model input's rank
// is shorter (all other dims equal), for per-block padding.
func (b *boundInput) padAxis(dims []int) (int, bool) {
	if len(dims) != len(b.shape) || len(dims) < 2 {
		return 0, false
	}
	axis := -1
	for i, d := range dims {
		if d == b.shape[i] {
			continue
		}
		if axis >= 0 || d > b.shape[i] || i == 0 {
			return 0, false
		}
		axis = i
	}
	return axis, axis > 0
}

// fillAxis copies a frame shorter along axis into the model input, padding
// every block along that axis.
func (b *boundInput) fillAxis(fr *ds3d.Frame, dims []int, axis int) error {
	outer, row := 1, 1
	for _, d := range b.shape[:axis] {
		outer *= d
	}
	for _, d := range b.shape[axis+1:] {
		row *= d
	}
	if len(b.pad) > 0 && len(b.pad) != row {
		return fmt.Errorf("pad_row has %d values, a row along axis %d of the model input %v has %d", len(b.pad), axis, b.shape, row)
	}
	have, want := dims[axis]*row, b.shape[axis]*row
	for o := 0; o < outer; o++ {
		dst := b.buf[o*want : (o+1)*want]
		if err := load(dst[:have], fr, o*have); err != nil {
			return err
		}
		for r := have; r < want; r += row {
			if b.pad == nil {
				clear(dst[r:])
				break
			}
			copy(dst[r:r+row], b.pad)
		}
	}
	return nil
}

// load converts len(dst) elements of the frame, from element start, to
// float32 (integers exact below 2²⁴, as the engine carries them).
func load(dst []float32, fr *ds3d.Frame, start int) error {
	switch fr.DType {
	case ds3d.DTypeF32:
		copy(dst, ds3d.AsFloat32(fr)[start:start+len(dst)])
	case ds3d.DTypeI32:
		for i, v := range ds3d.AsInt32(fr)[start : start+len(dst)] {
			dst[i] = float32(v)
		}
	default:
		return convert(dst, fr, start)
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindFilter, "lidar_infer",
		`Lidar/3D inference (ds3d's tritoninferfilter, createLidarInferenceFilter): feeds datamap frames to an ONNX model's inputs (model_inputs, padded to the model's first dim), runs it on the pure-Go engine and stores its outputs as f32 tensor frames (model_outputs); postprocess = "pointpillars" decodes an OpenPCDet anchor head (KITTI anchors) with rotated-BEV NMS into DS3D::Lidar3DBboxRawData.`,
		func() *Config {
			return &Config{PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}, ClsOutput: "cls_preds", BoxOutput: "box_preds", DirOutput: "dir_cls_preds",
				Range: []float64{0, -39.68, -3, 69.12, 39.68, 1}, ScoreThreshold: 0.1, NMSThreshold: 0.01, PreNMSMax: 4096, MaxOutput: 500,
				OutputKey: string(ds3d.KeyLidar3DBboxRawData)}
		},
		func(c *Config, env *ds3d.Env) (any, error) {
			f, err := New(c)
			if err != nil {
				return nil, err
			}
			if env != nil && env.Log != nil {
				f.log = env.Log
			}
			return f, nil
		})
}

// Close releases the session (and one parked by SwapModel).
func (f *Filter) Close() error {
	f.swap.Close()
	return f.s.Close()
}

// convert widens the other element types to float32, from element start.
func convert(dst []float32, fr *ds3d.Frame, start int) error {
	w := fr.DType.Size()
	if w == 0 || len(fr.Data) < (start+len(dst))*w {
		return fmt.Errorf("frame of %s holds %d bytes, shape %s needs %d", fr.DType, len(fr.Data), fr.Shape, (start+len(dst))*w)
	}
	le := binary.LittleEndian
	for i := range dst {
		b := fr.Data[(start+i)*w:]
		switch fr.DType {
		case ds3d.DTypeF64:
			dst[i] = float32(math.Float64frombits(le.Uint64(b)))
		case ds3d.DTypeF16:
			dst[i] = halfToFloat(le.Uint16(b))
		case ds3d.DTypeI64:
			dst[i] = float32(int64(le.Uint64(b)))
		case ds3d.DTypeU32:
			dst[i] = float32(le.Uint32(b))
		case ds3d.DTypeI16:
			dst[i] = float32(int16(le.Uint16(b)))
		case ds3d.DTypeU16:
			dst[i] = float32(le.Uint16(b))
		case ds3d.DTypeI8:
			dst[i] = float32(int8(b[0]))
		case ds3d.DTypeU8:
			dst[i] = float32(b[0])
		default:
			return fmt.Errorf("frame element type %s is not supported", fr.DType)
		}
	}
	return nil
}

// halfToFloat widens an IEEE 754 binary16 value (exact: every half is a
// float32).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: man·2⁻²⁴
		v := float32(man) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// PoolStats reports the pool of each stored model output under its key
// (for the metrics).
func (f *Filter) PoolStats() []ds3d.PoolStat {
	var out []ds3d.PoolStat
	for i := range f.stored {
		if f.stored[i].pool != nil {
			out = append(out, f.stored[i].pool.Stat(string(f.stored[i].key)))
		}
	}
	return out
}
