package track

import (
	"context"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Filter is the nvtracker_2d component: it tracks the 2D objects under
// DS3D::Object2DBboxKey per DS3D::SourceId and writes them back with their
// TrackIDs. The DeepSORT-style tracker with colour-histogram appearance
// (ReID.reidType 1) reads the frame under DS3D::ColorFrame; a datamap
// without one is tracked on motion alone.
type Filter struct {
	m    *Multi
	reid bool
}

// Process tracks the datamap's objects.
func (f *Filter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	dets, err := ds3d.Get[[]ds3d.Object2D](in, ds3d.KeyObject2DBbox)
	if err != nil {
		return err
	}
	src, _ := in.Int64(ds3d.KeySourceID)
	var out []ds3d.Object2D
	if frame, ferr := in.Frame(ds3d.KeyColorFrame); f.reid && ferr == nil {
		if out, err = f.m.UpdateFrame(int32(src), frame, dets); err != nil {
			return err
		}
	} else {
		out = f.m.Update(int32(src), dets)
	}
	// Emitted values are read-only downstream: copy out of the tracker's buffer.
	in.Set(ds3d.KeyObject2DBbox, append([]ds3d.Object2D(nil), out...))
	return emit(in)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "nvtracker_2d",
		`Multi-object tracking of 2D detections (DS3D::Object2DBboxKey) per source, with nvtracker's config sections: IOU tracker (StateEstimator.stateEstimatorType = 0), SORT-style Kalman tracker (1), or DeepSORT-style (stateEstimatorType = 2 with DataAssociator.associationMatcherType = 2: Mahalanobis gating, appearance cascade by track age, then IoU; ReID.reidType = 1 for colour-histogram appearance from DS3D::ColorFrame); greedy or Hungarian association, probation and shadow tracking.`,
		func() *Config { c := DefaultSORT(); return &c },
		func(c *Config, _ *ds3d.Env) (any, error) {
			m, err := NewMulti(*c)
			if err != nil {
				return nil, err
			}
			return &Filter{m: m, reid: c.ReID.ReIDType == ReIDHistogram}, nil
		})
}
