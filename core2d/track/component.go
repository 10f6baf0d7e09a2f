package track

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Filter is the nvtracker_2d component. On a stream_mux batch (a datamap
// with DS3D::BatchMeta) it tracks every batch slot N: the objects under
// DS3D::Object2DBboxKey_N, with the slot's source id from the batch
// metadata, so a stream keeps its targets and its ids whichever slot its
// frame lands in (slots follow arrival order). A one-frame batch whose
// detector wrote the plain DS3D::Object2DBboxKey is tracked under that key.
// Without batch metadata it tracks DS3D::Object2DBboxKey per
// DS3D::SourceId. Each stream has its own Tracker (Multi): ids count from 1
// per stream. The DeepSORT-style tracker with colour-histogram appearance
// (ReID.reidType 1) reads the slot's frame (DS3D::ColorFrame_N, or
// DS3D::ColorFrame); a datamap without one is tracked on motion alone.
type Filter struct {
	m    *Multi
	reid bool
}

// Process tracks the datamap's objects.
func (f *Filter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	if in.Has(ds3d.KeyBatchMeta) {
		if err := f.processBatch(in); err != nil {
			return err
		}
		return emit(in)
	}
	src, _ := in.Int64(ds3d.KeySourceID)
	if err := f.track(in, int32(src), ds3d.KeyObject2DBbox, ds3d.KeyColorFrame); err != nil {
		return err
	}
	return emit(in)
}

// processBatch tracks each slot of a stream_mux batch.
func (f *Filter) processBatch(in *ds3d.DataMap) error {
	bm, err := ds3d.Get[*meta.BatchMeta](in, ds3d.KeyBatchMeta)
	if err != nil {
		return err
	}
	for i := range bm.Frames {
		fm := &bm.Frames[i]
		objKey, frameKey := ds3d.KeyObject2DBbox.Sensor(i), ds3d.KeyColorFrame.Sensor(i)
		if !in.Has(objKey) {
			if len(bm.Frames) != 1 || !in.Has(ds3d.KeyObject2DBbox) {
				return fmt.Errorf("batch slot %d (source %d, frame %d) has no %s: the detector must write one object list per slot (infer_2d: cameras = batch_size)",
					i, fm.SourceID, fm.FrameNum, objKey)
			}
			objKey = ds3d.KeyObject2DBbox
		}
		if !in.Has(frameKey) {
			frameKey = ds3d.KeyColorFrame
		}
		if err := f.track(in, fm.SourceID, objKey, frameKey); err != nil {
			return fmt.Errorf("batch slot %d (source %d): %w", i, fm.SourceID, err)
		}
	}
	return nil
}

// track runs source src's tracker on the objects under objKey and writes
// the tracked objects back under it.
func (f *Filter) track(in *ds3d.DataMap, src int32, objKey, frameKey ds3d.Key) error {
	dets, err := ds3d.Get[[]ds3d.Object2D](in, objKey)
	if err != nil {
		return err
	}
	var out []ds3d.Object2D
	if frame, ferr := in.Frame(frameKey); f.reid && ferr == nil {
		if out, err = f.m.UpdateFrame(src, frame, dets); err != nil {
			return err
		}
	} else {
		out = f.m.Update(src, dets)
	}
	// Emitted values are read-only downstream: copy out of the tracker's buffer.
	in.Set(objKey, append([]ds3d.Object2D(nil), out...))
	return nil
}

func init() {
	ds3d.Register(ds3d.KindFilter, "nvtracker_2d",
		`Multi-object tracking of 2D detections per source, with nvtracker's config sections: IOU tracker (StateEstimator.stateEstimatorType = 0), SORT-style Kalman tracker (1), or DeepSORT-style (stateEstimatorType = 2 with DataAssociator.associationMatcherType = 2: Mahalanobis gating, appearance cascade by track age, then IoU; ReID.reidType = 1 for colour-histogram appearance from DS3D::ColorFrame[_N]); greedy or Hungarian association, probation and shadow tracking. On a stream_mux batch (DS3D::BatchMeta) each slot N's DS3D::Object2DBboxKey_N is tracked with the slot's source id, state and ids kept per source; otherwise DS3D::Object2DBboxKey per DS3D::SourceId.`,
		func() *Config { c := DefaultSORT(); return &c },
		func(c *Config, _ *ds3d.Env) (any, error) {
			m, err := NewMulti(*c)
			if err != nil {
				return nil, err
			}
			return &Filter{m: m, reid: c.ReID.ReIDType == ReIDHistogram}, nil
		})
}
