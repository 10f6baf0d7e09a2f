package track

import (
	"context"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Filter is the nvtracker_2d component: it tracks the 2D objects under
// DS3D::Object2DBboxKey per DS3D::SourceId and writes them back with their
// TrackIDs.
type Filter struct {
	m *Multi
}

// Process tracks the datamap's objects.
func (f *Filter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	dets, err := ds3d.Get[[]ds3d.Object2D](in, ds3d.KeyObject2DBbox)
	if err != nil {
		return err
	}
	src, _ := in.Int64(ds3d.KeySourceID)
	// Emitted values are read-only downstream: copy out of the tracker's buffer.
	in.Set(ds3d.KeyObject2DBbox, append([]ds3d.Object2D(nil), f.m.Update(int32(src), dets)...))
	return emit(in)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "nvtracker_2d",
		`Multi-object tracking of 2D detections (DS3D::Object2DBboxKey) per source, with nvtracker's config sections: IOU tracker (StateEstimator.stateEstimatorType = 0) or SORT-style Kalman tracker (1), greedy or Hungarian association, probation and shadow tracking.`,
		func() *Config { c := DefaultSORT(); return &c },
		func(c *Config, _ *ds3d.Env) (any, error) {
			m, err := NewMulti(*c)
			if err != nil {
				return nil, err
			}
			return &Filter{m: m}, nil
		})
}
