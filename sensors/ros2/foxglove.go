package ros2

import (
	"strconv"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Foxglove's own schemas as ROS 2 messages (package foxglove_msgs), which
// Foxglove draws natively: SceneUpdate for 3D boxes, FrameTransform(s) for
// transforms, PointCloud for points and CompressedImage for images.
const (
	SceneUpdateType             = "foxglove_msgs/msg/SceneUpdate"
	FrameTransformType          = "foxglove_msgs/msg/FrameTransform"
	FrameTransformsType         = "foxglove_msgs/msg/FrameTransforms"
	FoxglovePointCloudType      = "foxglove_msgs/msg/PointCloud"
	FoxgloveCompressedImageType = "foxglove_msgs/msg/CompressedImage"
)

// PackedElementField types (foxglove_msgs/msg/PackedElementField).
const (
	PackedUnknown = 0
	PackedUint8   = 1
	PackedInt8    = 2
	PackedUint16  = 3
	PackedInt16   = 4
	PackedUint32  = 5
	PackedInt32   = 6
	PackedFloat32 = 7
	PackedFloat64 = 8
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
	appendFrameTransform(&w, t)
	return w.Bytes()
}

func appendFrameTransform(w *Writer, t *TransformStamped) {
	w.Time(t.Header.Sec, t.Header.Nanosec)
	w.String(t.Header.FrameID)
	w.String(t.ChildFrameID)
	w.Float64s(t.Transform.Translation[:])
	w.Float64s(t.Transform.Rotation[:])
}

// AppendFrameTransforms appends ts as a foxglove_msgs/msg/FrameTransforms,
// each as AppendFrameTransform writes it: Foxglove's counterpart of a
// tf2_msgs/msg/TFMessage.
func AppendFrameTransforms(dst []byte, ts []TransformStamped) []byte {
	w := NewWriter(dst)
	w.Count(len(ts))
	for i := range ts {
		appendFrameTransform(&w, &ts[i])
	}
	return w.Bytes()
}

// AppendFoxglovePointCloud appends a foxglove_msgs/msg/PointCloud of the
// point frame f (float32 [N, C] with named columns) to dst: timestamp and
// frame_id from h, the identity pose (the points are in frame_id), one
// FLOAT32 field per column at offset 4k, named as AppendPointCloud2 names
// them, point_stride 4C and the points little endian. It has the same
// fields as the PointCloud2 of the frame without width, height and
// row_step, which Foxglove's schema leaves out.
func AppendFoxglovePointCloud(dst []byte, h Header, f *ds3d.Frame) ([]byte, error) {
	n, c, size, err := pointFrame("PointCloud", f)
	if err != nil {
		return dst, err
	}
	cols := f.Columns()
	w := NewWriter(dst)
	w.Time(h.Sec, h.Nanosec)
	w.String(h.FrameID)
	w.pose(&identityPose)
	w.Uint32(uint32(4 * c))
	w.Count(c)
	for k, name := range cols {
		w.String(fieldName(name))
		w.Uint32(uint32(4 * k))
		w.Uint8(PackedFloat32)
	}
	w.Count(size)
	w.buf = appendF32LE(w.buf, f, n*c)
	return w.Bytes(), nil
}

// identityPose places a cloud at the origin of its frame.
var identityPose = Pose{Orientation: [4]float64{0, 0, 0, 1}}

// AppendFoxgloveCompressedImage appends a foxglove_msgs/msg/CompressedImage
// to dst: timestamp and frame_id from h, the encoded image data and its
// format ("jpeg", "png" or "webp"). The fields are those of
// sensor_msgs/msg/CompressedImage in another order.
func AppendFoxgloveCompressedImage(dst []byte, h Header, format string, data []byte) []byte {
	w := NewWriter(dst)
	w.Time(h.Sec, h.Nanosec)
	w.String(h.FrameID)
	w.ByteSeq(data)
	w.String(format)
	return w.Bytes()
}

// stringBytes writes b as a CDR string.
func (w *Writer) stringBytes(b []byte) {
	w.Uint32(uint32(len(b) + 1))
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, 0)
}

// Schemas a point, image or transform topic can be published in (the
// point_schema, image_schema and transform_schema keys of foxglove_ws and
// mcap_writer).
const (
	SchemaROS      = "ros"
	SchemaFoxglove = "foxglove"
	SchemaBoth     = "both"
)

// FoxgloveSuffix is appended to a topic for its Foxglove-schema twin when
// a schema is "both".
const FoxgloveSuffix = "/foxglove"

// SchemaTopics are the topics a content goes out on in the ROS and in the
// Foxglove schema, empty where it does not.
func SchemaTopics(schema, topic string) (ros, fox string) {
	switch schema {
	case SchemaFoxglove:
		return "", topic
	case SchemaBoth:
		return topic, topic + FoxgloveSuffix
	}
	return topic, ""
}
