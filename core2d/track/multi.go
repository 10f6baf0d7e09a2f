package track

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Multi tracks several streams with one Config: a Tracker per source id,
// made on the source's first frame. Ids are unique within a stream (each
// stream counts from 1, as nvtracker does without useUniqueID); pair them
// with the source id to tell streams apart. Not safe for concurrent use.
type Multi struct {
	cfg     Config
	streams map[int32]*Tracker
}

// NewMulti validates cfg and returns an empty Multi.
func NewMulti(cfg Config) (*Multi, error) {
	if err := ds3d.CheckConfig(&cfg); err != nil {
		return nil, fmt.Errorf("track: %w", err)
	}
	return &Multi{cfg: cfg, streams: map[int32]*Tracker{}}, nil
}

// Update tracks one frame of stream source (see Tracker.Update). The
// returned objects carry SourceID = source.
func (m *Multi) Update(source int32, dets []ds3d.Object2D) []ds3d.Object2D {
	out := m.stream(source).Update(dets)
	for i := range out {
		out[i].SourceID = source
	}
	return out
}

// UpdateFrame tracks one frame of stream source with appearance features
// from frame (see Tracker.UpdateFrame).
func (m *Multi) UpdateFrame(source int32, frame *ds3d.Frame, dets []ds3d.Object2D) ([]ds3d.Object2D, error) {
	out, err := m.stream(source).UpdateFrame(frame, dets)
	for i := range out {
		out[i].SourceID = source
	}
	return out, err
}

func (m *Multi) stream(source int32) *Tracker {
	t, ok := m.streams[source]
	if !ok {
		t = newTracker(m.cfg)
		m.streams[source] = t
	}
	return t
}

// Remove forgets a stream (at its end of stream); a later frame of the same
// source starts again from id 1.
func (m *Multi) Remove(source int32) { delete(m.streams, source) }

// Streams is the number of streams being tracked.
func (m *Multi) Streams() int { return len(m.streams) }
