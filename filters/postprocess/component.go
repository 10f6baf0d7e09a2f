package postprocess

import (
	"context"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config configures box_postprocess.
type Config struct {
	ds3d.InputGroup  `doc:"key of the []Box3D boxes to filter"`
	ds3d.OutputGroup `doc:"key the kept boxes are stored under (may equal the input key: it is replaced)"`
	ScoreThreshold   float64 `toml:"score_threshold" notnan:"true" runtime:"true" doc:"boxes with a lower score (or a NaN score) are dropped before NMS; -inf keeps every score (scores may be logits)"`
	NMSThreshold     float64 `toml:"nms_iou_threshold" min:"0" max:"1" runtime:"true" doc:"rotated BEV IoU above which a lower-scored box is suppressed (OpenPCDet KITTI: 0.01); 1 disables NMS"`
	ClassAware       bool    `toml:"class_aware" runtime:"true" doc:"only boxes of the same class_id suppress each other"`
	MaxOutput        int     `toml:"max_output" min:"-1" runtime:"true" doc:"keep at most this many boxes, highest scores first; -1: all"`
}

// Filter is the box_postprocess component.
type Filter struct {
	c   Config
	nms NMS
	idx []int32
}

// NewFilter builds box_postprocess from a validated config.
func NewFilter(c *Config) *Filter { return &Filter{c: *c} }

// Update applies new thresholds and limits between two datamaps.
func (f *Filter) Update(cfg any) error {
	f.c = *cfg.(*Config)
	return nil
}

// Process replaces the boxes with the kept ones: a new slice per datamap,
// since emitted box slices are shared read-only downstream.
func (f *Filter) Process(_ context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	boxes, err := ds3d.Get[[]ds3d.Box3D](m, ds3d.Key(f.c.InputKey))
	if err != nil {
		return err
	}
	var out []ds3d.Box3D
	thr := float32(math.Max(f.c.ScoreThreshold, -math.MaxFloat32))
	out, f.idx = f.nms.Suppress(out, boxes, thr, f.c.NMSThreshold, f.c.ClassAware, f.c.MaxOutput, f.idx)
	m.Set(ds3d.Key(f.c.OutputKey), out)
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "box_postprocess",
		`3D box post-processing: score threshold, greedy rotated-BEV NMS (exact polygon IoU, class-agnostic or class-aware) and top-k on DS3D::Lidar3DBboxRawData.`,
		func() *Config {
			k := string(ds3d.KeyLidar3DBboxRawData)
			return &Config{InputGroup: ds3d.InputGroup{InputKey: k}, OutputGroup: ds3d.OutputGroup{OutputKey: k},
				ScoreThreshold: 0.1, NMSThreshold: 0.01, MaxOutput: 500}
		},
		func(c *Config, _ *ds3d.Env) (any, error) { return NewFilter(c), nil })
}
