package ros2

import (
	"fmt"
	"math"
	"strconv"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Message types of the vision_msgs codecs (vision_msgs 4.x, as in ROS 2
// Humble and Jazzy).
const (
	Detection3DArrayType = "vision_msgs/msg/Detection3DArray"
	Detection2DArrayType = "vision_msgs/msg/Detection2DArray"
)

// classString is the ObjectHypothesis.class_id of a detection: its label
// when set, else its class number.
func classString(label string, id int32) string {
	if label != "" {
		return label
	}
	return strconv.Itoa(int(id))
}

// setClass inverts classString into *label and *id: a decimal number is a
// class id (label ""), anything else a label with class id -1. The label's
// string is reused when unchanged.
func setClass(label *string, id *int32, b []byte) {
	if n, ok := atoi(b, math.MinInt32, math.MaxInt32); ok {
		*label, *id = "", int32(n)
		return
	}
	setStr(label, b)
	*id = -1
}

// atoi parses a decimal integer in [lo, hi] without allocating.
func atoi(b []byte, lo, hi int64) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	digits := b
	if neg || len(b) > 0 && b[0] == '+' {
		digits = b[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63 {
		return 0, false
	}
	v := int64(n)
	if neg {
		v = -v
	} else if n == 1<<63 {
		return 0, false
	}
	if v < lo || v > hi {
		return 0, false
	}
	return v, true
}

func trackString(id int64) string {
	if id < 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func parseTrack(b []byte) int64 {
	if n, ok := atoi(b, 0, math.MaxInt64); ok {
		return n
	}
	return -1
}

func (w *Writer) hypothesis(class string, score float64, p *Pose) {
	w.Count(1)
	w.String(class)
	w.Float64(score)
	w.pose(p)
	var cov [36]float64
	w.Float64s(cov[:])
}

// AppendDetection3DArray appends a vision_msgs/msg/Detection3DArray of
// boxes to dst: per box one Detection3D with header h, one hypothesis
// (class_id the box's Label, or its ClassID as a decimal string when the
// label is empty; score; the box pose, zero covariance), the bounding box
// (centre pose with the quaternion of Yaw, Pitch, Roll; size DX DY DZ) and
// id the TrackID ("" while untracked).
func AppendDetection3DArray(dst []byte, h Header, boxes []ds3d.Box3D) []byte {
	w := NewWriter(dst)
	w.Header(&h)
	w.Count(len(boxes))
	for i := range boxes {
		b := &boxes[i]
		p := Pose{Position: [3]float64{float64(b.CX), float64(b.CY), float64(b.CZ)},
			Orientation: QuatFromEuler(float64(b.Yaw), float64(b.Pitch), float64(b.Roll))}
		w.Header(&h)
		w.hypothesis(classString(b.Label, b.ClassID), float64(b.Score), &p)
		w.pose(&p)
		w.Float64(float64(b.DX))
		w.Float64(float64(b.DY))
		w.Float64(float64(b.DZ))
		w.String(trackString(b.TrackID))
	}
	return w.Bytes()
}

// DecodeDetection3DArray decodes a vision_msgs/msg/Detection3DArray into
// boxes: centre and size from the bounding box, Yaw/Pitch/Roll from its
// quaternion, class and score from the best-scoring hypothesis (a numeric
// class_id becomes ClassID with an empty Label, any other string the Label
// with ClassID -1; no hypothesis leaves ClassID -1), TrackID from a numeric
// id (else -1).
func DecodeDetection3DArray(b []byte) (Header, []ds3d.Box3D, error) {
	var h Header
	boxes, err := UnmarshalDetection3DArray(b, &h, nil)
	return h, boxes, err
}

// UnmarshalDetection3DArray is DecodeDetection3DArray into h and dst's array.
func UnmarshalDetection3DArray(b []byte, h *Header, dst []ds3d.Box3D) ([]ds3d.Box3D, error) {
	d, err := newDec(b)
	if err != nil {
		return dst[:0], fmt.Errorf("Detection3DArray: %w", err)
	}
	d.header(h)
	// A Detection3D takes at least 12 (header) + 4 + 80 + 4 bytes.
	n := d.count("detections", 100)
	dst = resize(dst, n)
	var dh Header
	for i := range dst {
		bx := &dst[i]
		label := bx.Label
		*bx = ds3d.Box3D{ClassID: -1, TrackID: -1}
		d.header(&dh)
		class, best := d.results()
		if class != nil {
			bx.Label = label
			setClass(&bx.Label, &bx.ClassID, class)
			bx.Score = float32(best)
		}
		var p Pose
		d.pose(&p, "bbox.center")
		bx.CX, bx.CY, bx.CZ = float32(p.Position[0]), float32(p.Position[1]), float32(p.Position[2])
		yaw, pitch, roll := EulerFromQuat(p.Orientation)
		bx.Yaw, bx.Pitch, bx.Roll = float32(yaw), float32(pitch), float32(roll)
		bx.DX = float32(d.f64("bbox.size.x"))
		bx.DY = float32(d.f64("bbox.size.y"))
		bx.DZ = float32(d.f64("bbox.size.z"))
		bx.TrackID = parseTrack(d.strRaw("id"))
		if d.err != nil {
			return dst[:0], fmt.Errorf("Detection3DArray: detections[%d]: %w", i, d.err)
		}
	}
	return dst, d.done("Detection3DArray")
}

// results reads ObjectHypothesisWithPose[] and returns the best-scoring
// class_id (aliasing the message; nil when there is none) and its score.
func (d *dec) results() (class []byte, best float64) {
	nr := d.count("results", 340)
	var p Pose
	var cov [36]float64
	for k := range nr {
		c := d.strRaw("results.hypothesis.class_id")
		s := d.f64("results.hypothesis.score")
		d.pose(&p, "results.pose.pose")
		d.f64s(cov[:], "results.pose.covariance")
		if k == 0 || s > best {
			best, class = s, c
		}
	}
	if class == nil && nr > 0 && d.err == nil {
		class = []byte{} // an empty class_id
	}
	return class, best
}

// AppendDetection2DArray appends a vision_msgs/msg/Detection2DArray of
// objects to dst: per object one Detection2D with header h, one hypothesis
// (class_id as for AppendDetection3DArray; score; the box centre as the
// pose position), the bounding box (centre Left+Width/2, Top+Height/2,
// theta 0; size Width × Height) and id the TrackID ("" while untracked).
func AppendDetection2DArray(dst []byte, h Header, objs []ds3d.Object2D) []byte {
	w := NewWriter(dst)
	w.Header(&h)
	w.Count(len(objs))
	for i := range objs {
		o := &objs[i]
		cx, cy := float64(o.Left)+float64(o.Width)/2, float64(o.Top)+float64(o.Height)/2
		w.Header(&h)
		p := Pose{Position: [3]float64{cx, cy, 0}, Orientation: [4]float64{0, 0, 0, 1}}
		w.hypothesis(classString(o.Label, o.ClassID), float64(o.Score), &p)
		w.Float64(cx)
		w.Float64(cy)
		w.Float64(0)
		w.Float64(float64(o.Width))
		w.Float64(float64(o.Height))
		w.String(trackString(o.TrackID))
	}
	return w.Bytes()
}

// DecodeDetection2DArray decodes a vision_msgs/msg/Detection2DArray into
// objects (class, score and track as DecodeDetection3DArray; the box's
// rotation theta is dropped).
func DecodeDetection2DArray(b []byte) (Header, []ds3d.Object2D, error) {
	var h Header
	objs, err := UnmarshalDetection2DArray(b, &h, nil)
	return h, objs, err
}

// UnmarshalDetection2DArray is DecodeDetection2DArray into h and dst's array.
func UnmarshalDetection2DArray(b []byte, h *Header, dst []ds3d.Object2D) ([]ds3d.Object2D, error) {
	d, err := newDec(b)
	if err != nil {
		return dst[:0], fmt.Errorf("Detection2DArray: %w", err)
	}
	d.header(h)
	n := d.count("detections", 60)
	dst = resize(dst, n)
	var dh Header
	for i := range dst {
		o := &dst[i]
		label := o.Label
		*o = ds3d.Object2D{ClassID: -1, TrackID: -1}
		d.header(&dh)
		class, best := d.results()
		if class != nil {
			o.Label = label
			setClass(&o.Label, &o.ClassID, class)
			o.Score = float32(best)
		}
		cx := d.f64("bbox.center.position.x")
		cy := d.f64("bbox.center.position.y")
		_ = d.f64("bbox.center.theta")
		sx := d.f64("bbox.size_x")
		sy := d.f64("bbox.size_y")
		o.Left, o.Top = float32(cx-sx/2), float32(cy-sy/2)
		o.Width, o.Height = float32(sx), float32(sy)
		o.TrackID = parseTrack(d.strRaw("id"))
		if d.err != nil {
			return dst[:0], fmt.Errorf("Detection2DArray: detections[%d]: %w", i, d.err)
		}
	}
	return dst, d.done("Detection2DArray")
}
