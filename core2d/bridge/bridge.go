// Package bridge is the 2D core's bridge to the 3D side (DeepStream's
// nvds3dbridge, ds3d's createVideoBridge2d3d): it turns a 2D batch — the
// frames and meta.BatchMeta that stream_mux, infer_2d and nvtracker_2d
// produce — into a ds3d datamap holding DS3D::ColorFrame_N per frame and
// DS3D::Object2DBboxKey_N per frame's objects (with DS3D::SourceId_N,
// DS3D::FrameNumber_N and DS3D::Timestamp_N), so 2D detections meet lidar
// and other 3D data in a mixer. N is the batch slot, or the source id when
// configured, which is the camera index 3D calibration keys use. Boxes can
// be mapped back from the muxer's scaled frame to source pixels.
package bridge

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/core2d/mux"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Index choices for the _N suffix.
const (
	IndexSlot   = "slot"   // N = position in the batch
	IndexSource = "source" // N = source id (camera index)
)

// Config configures video_bridge_2d3d.
type Config struct {
	ObjectsKey        string `toml:"objects_key" nonempty:"true" doc:"key of the 2D detections in the incoming datamap (the unsuffixed key for a batch of one, else key_N per slot); used for a slot whose FrameMeta holds no objects"`
	Index             string `toml:"index" enum:"slot|source" doc:"what N in DS3D::ColorFrame_N / DS3D::Object2DBboxKey_N counts: slot (batch position) or source (source id = camera index)"`
	SourceCoordinates bool   `toml:"source_coordinates" doc:"map boxes from the muxer's scaled frame back to source-frame pixels (the muxer's Transform per frame)"`
	KeepBatchMeta     bool   `toml:"keep_batch_meta" doc:"keep DS3D::BatchMeta in the output datamap"`
}

// DefaultConfig returns the defaults: slot index, boxes as drawn on the
// batch frames.
func DefaultConfig() Config {
	return Config{ObjectsKey: string(ds3d.KeyObject2DBbox), Index: IndexSlot, KeepBatchMeta: true}
}

// Bridge is the video_bridge_2d3d component.
type Bridge struct {
	cfg Config
	key ds3d.Key
}

// New returns a bridge for cfg (validated here).
func New(cfg Config) (*Bridge, error) {
	if err := ds3d.CheckConfig(&cfg); err != nil {
		return nil, err
	}
	return &Bridge{cfg: cfg, key: ds3d.Key(cfg.ObjectsKey)}, nil
}

// Convert rewrites in (a stream_mux batch datamap) into the 3D layout in
// place. A datamap without DS3D::BatchMeta is taken as one frame under
// DS3D::ColorFrame with DS3D::SourceId and DS3D::FrameNumber.
func (b *Bridge) Convert(in *ds3d.DataMap) error {
	bm, err := ds3d.Get[*meta.BatchMeta](in, ds3d.KeyBatchMeta)
	if err != nil {
		if in.Has(ds3d.KeyBatchMeta) {
			return err
		}
		return b.convertSingle(in)
	}
	n := len(bm.Frames)
	// Frames are renamed after every slot is read: with index = source a
	// new key may be an old slot's name.
	frames := make([]*ds3d.Frame, 0, n)
	fail := func(err error) error {
		for _, f := range frames {
			f.Release()
		}
		return err
	}
	for i := range bm.Frames {
		k := ds3d.KeyColorFrame.Sensor(i)
		f, err := in.Frame(k)
		if err != nil {
			return fail(fmt.Errorf("batch slot %d: %w", i, err))
		}
		frames = append(frames, f.Retain())
		in.Delete(k)
	}
	objs := make([][]ds3d.Object2D, n)
	for i := range bm.Frames {
		fm := &bm.Frames[i]
		if len(fm.Objects) > 0 {
			objs[i] = fm.Objects2D(nil)
		} else {
			k := b.key.Sensor(i)
			if n == 1 && !in.Has(k) {
				k = b.key
			}
			if in.Has(k) {
				o, err := ds3d.Get[[]ds3d.Object2D](in, k)
				if err != nil {
					return fail(err)
				}
				objs[i] = append([]ds3d.Object2D(nil), o...)
				in.Delete(k)
			}
		}
		if b.cfg.SourceCoordinates {
			t := mux.TransformOf(fm)
			for j := range objs[i] {
				objs[i][j] = t.ToSource(objs[i][j])
			}
		}
		for j := range objs[i] {
			objs[i][j].SourceID = fm.SourceID
		}
	}
	for i := range bm.Frames {
		fm := &bm.Frames[i]
		idx := i
		if b.cfg.Index == IndexSource {
			idx = int(fm.SourceID)
		}
		in.SetFrame(ds3d.KeyColorFrame.Sensor(idx), frames[i])
		if objs[i] == nil {
			objs[i] = []ds3d.Object2D{}
		}
		in.Set(ds3d.KeyObject2DBbox.Sensor(idx), objs[i])
		in.SetInt64(ds3d.KeySourceID.Sensor(idx), int64(fm.SourceID))
		in.SetInt64(ds3d.KeyFrameNumber.Sensor(idx), fm.FrameNum)
		in.SetInt64(ds3d.KeyTimestamp.Sensor(idx), fm.PTS)
	}
	if !b.cfg.KeepBatchMeta {
		in.Delete(ds3d.KeyBatchMeta)
	}
	return nil
}

func (b *Bridge) convertSingle(in *ds3d.DataMap) error {
	f, err := in.Frame(ds3d.KeyColorFrame)
	if err != nil {
		return fmt.Errorf("no %s and no %s: not a 2D batch", ds3d.KeyBatchMeta, ds3d.KeyColorFrame)
	}
	src, _ := in.Int64(ds3d.KeySourceID)
	num, _ := in.Int64(ds3d.KeyFrameNumber)
	ts, _ := in.Timestamp()
	idx := 0
	if b.cfg.Index == IndexSource {
		idx = int(src)
	}
	objs := []ds3d.Object2D{}
	if in.Has(b.key) {
		o, err := ds3d.Get[[]ds3d.Object2D](in, b.key)
		if err != nil {
			return err
		}
		objs = append(objs, o...)
		in.Delete(b.key)
	}
	f.Retain()
	in.Delete(ds3d.KeyColorFrame)
	in.SetFrame(ds3d.KeyColorFrame.Sensor(idx), f)
	in.Set(ds3d.KeyObject2DBbox.Sensor(idx), objs)
	in.SetInt64(ds3d.KeySourceID.Sensor(idx), src)
	in.SetInt64(ds3d.KeyFrameNumber.Sensor(idx), num)
	in.SetInt64(ds3d.KeyTimestamp.Sensor(idx), ts)
	return nil
}

// Process converts the datamap and emits it.
func (b *Bridge) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	if err := b.Convert(in); err != nil {
		return err
	}
	return emit(in)
}

// FromBatch makes a datamap from a Go-API mux batch: its frames (each
// retained once more, so the batch may be released after) under
// DS3D::ColorFrame_N, its meta under DS3D::BatchMeta and DS3D::Timestamp,
// then converted as Process does. The batch's meta is shared: release
// the batch only once the datamap is no longer read.
func (b *Bridge) FromBatch(bt *mux.Batch) (*ds3d.DataMap, error) {
	m := ds3d.NewDataMap()
	for i, f := range bt.Frames {
		m.SetFrame(ds3d.KeyColorFrame.Sensor(i), f.Retain())
	}
	m.Set(ds3d.KeyBatchMeta, bt.Meta)
	m.SetTimestamp(bt.PTS)
	if err := b.Convert(m); err != nil {
		m.Release()
		return nil, err
	}
	return m, nil
}

func init() {
	ds3d.Register(ds3d.KindBridge, "video_bridge_2d3d",
		`Converts a 2D batch (stream_mux's DS3D::ColorFrame_N + DS3D::BatchMeta, with infer_2d/nvtracker_2d objects) into the 3D datamap layout: DS3D::ColorFrame_N and DS3D::Object2DBboxKey_N per frame with DS3D::SourceId_N, DS3D::FrameNumber_N and DS3D::Timestamp_N, N = batch slot or source id (DeepStream's nvds3dbridge, ds3d's createVideoBridge2d3d).`,
		func() *Config { c := DefaultConfig(); return &c },
		func(c *Config, _ *ds3d.Env) (any, error) { return New(*c) })
}
