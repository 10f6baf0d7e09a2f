package ros2

import (
	"strconv"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Foxglove's own schemas as ROS 2 messages (package foxglove_msgs), which
// Foxglove draws natively: SceneUpdate for 3D boxes, FrameTransform for a
// single transform.
const (
	SceneUpdateType    = "foxglove_msgs/msg/SceneUpdate"
	FrameTransformType = "foxglove_msgs/msg/FrameTransform"
)

// SceneEntityDeletion types (foxglove_msgs/msg/SceneEntityDeletion).
const (
	SceneDeleteMatchingID = 0
	SceneDeleteAll        = 1
)

// AppendSceneUpdate appends a foxglove_msgs/msg/SceneUpdate drawing boxes
// to dst: first one deletion of type ALL stamped h, so that a viewer drops
// the boxes of the previous message, then one entity per box (stamp and
// frame_id from h, id "track-N" for a box with TrackID N ≥ 0 and "box-I"
// for the I-th untracked box, lifetime lifetimeNs, 0 meaning until
// replaced) holding one cube: the box's centre and Yaw/Pitch/Roll as pose,
// DX DY DZ as size and BoxColor as colour. The other primitive lists and
// the metadata are empty.
func AppendSceneUpdate(dst []byte, h Header, boxes []ds3d.Box3D, lifetimeNs int64) []byte {
	w := NewWriter(dst)
	w.Count(1) // deletions
	w.Time(h.Sec, h.Nanosec)
	w.Uint8(SceneDeleteAll)
	w.String("")
	w.Count(len(boxes)) // entities
	var id [32]byte
	for i := range boxes {
		b := &boxes[i]
		w.Time(h.Sec, h.Nanosec)
		w.String(h.FrameID)
		// The id is built in a stack buffer: no allocation per box.
		var s []byte
		if b.TrackID >= 0 {
			s = strconv.AppendInt(append(id[:0], "track-"...), b.TrackID, 10)
		} else {
			s = strconv.AppendInt(append(id[:0], "box-"...), int64(i), 10)
		}
		w.stringBytes(s)
		w.Time(StampFromNanos(lifetimeNs))
		w.Bool(false) // frame_locked
		w.Count(0)    // metadata
		w.Count(0)    // arrows
		w.Count(1)    // cubes
		p := Pose{Position: [3]float64{float64(b.CX), float64(b.CY), float64(b.CZ)},
			Orientation: QuatFromEuler(float64(b.Yaw), float64(b.Pitch), float64(b.Roll))}
		w.pose(&p)
		w.Float64(float64(b.DX))
		w.Float64(float64(b.DY))
		w.Float64(float64(b.DZ))
		for _, c := range BoxColor(b) {
			w.Float64(float64(c))
		}
		for range 6 { // spheres, cylinders, lines, triangles, texts, models
			w.Count(0)
		}
	}
	return w.Bytes()
}

// AppendFrameTransform appends t as a foxglove_msgs/msg/FrameTransform:
// timestamp and parent_frame_id from t.Header, child_frame_id, translation
// and rotation from t.
func AppendFrameTransform(dst []byte, t *TransformStamped) []byte {
	w := NewWriter(dst)
	w.Time(t.Header.Sec, t.Header.Nanosec)
	w.String(t.Header.FrameID)
	w.String(t.ChildFrameID)
	w.Float64s(t.Transform.Translation[:])
	w.Float64s(t.Transform.Rotation[:])
	return w.Bytes()
}

// stringBytes writes b as a CDR string.
func (w *Writer) stringBytes(b []byte) {
	w.Uint32(uint32(len(b) + 1))
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, 0)
}
