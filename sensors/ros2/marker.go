package ros2

import (
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// MarkerArrayType is the ROS 2 name of the marker-array message.
const MarkerArrayType = "visualization_msgs/msg/MarkerArray"

// Marker types and actions (visualization_msgs/msg/Marker).
const (
	MarkerCube      = 1
	MarkerText      = 9
	MarkerAdd       = 0
	MarkerDeleteAll = 3
)

// MarkerNamespace is the ns of the markers AppendMarkerArray writes.
const MarkerNamespace = "ds3d/boxes"

// markerPalette colours boxes by class when they carry no colour: a
// ten-colour qualitative palette (Tableau 10).
var markerPalette = [...][3]uint8{
	{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189},
	{140, 86, 75}, {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
}

// BoxColor is the RGBA (0–1) AppendMarkerArray gives a box: its Color when
// set (alpha 255 when Color's alpha is 0), else the palette colour of its
// class (grey for a negative ClassID), at alpha 0.5 so that points inside
// show.
func BoxColor(b *ds3d.Box3D) [4]float32 {
	if b.Color != [4]uint8{} {
		a := b.Color[3]
		if a == 0 {
			a = 255
		}
		return [4]float32{float32(b.Color[0]) / 255, float32(b.Color[1]) / 255, float32(b.Color[2]) / 255, float32(a) / 255}
	}
	c := [3]uint8{160, 160, 160}
	if b.ClassID >= 0 {
		c = markerPalette[int(b.ClassID)%len(markerPalette)]
	}
	return [4]float32{float32(c[0]) / 255, float32(c[1]) / 255, float32(c[2]) / 255, 0.5}
}

// AppendMarkerArray appends a visualization_msgs/msg/MarkerArray drawing
// boxes to dst: first a DELETEALL marker (namespace MarkerNamespace), so
// that a viewer drops the boxes of the previous message, then one CUBE per
// box (namespace MarkerNamespace, id its index, pose its centre and
// Yaw/Pitch/Roll, scale DX DY DZ, colour BoxColor, lifetime lifetimeNs, 0
// meaning forever). The fields are those of ROS 2 Humble and Jazzy (texture,
// uv_coordinates and mesh_file included, left empty); Foxy and Galactic
// lack them and cannot read it.
func AppendMarkerArray(dst []byte, h Header, boxes []ds3d.Box3D, lifetimeNs int64) []byte {
	w := NewWriter(dst)
	w.Count(len(boxes) + 1)
	var none [4]float32
	w.marker(&h, MarkerNamespace, 0, 0, MarkerDeleteAll, &Pose{Orientation: [4]float64{0, 0, 0, 1}}, [3]float64{}, none, 0)
	for i := range boxes {
		b := &boxes[i]
		p := Pose{Position: [3]float64{float64(b.CX), float64(b.CY), float64(b.CZ)},
			Orientation: QuatFromEuler(float64(b.Yaw), float64(b.Pitch), float64(b.Roll))}
		w.marker(&h, MarkerNamespace, int32(i), MarkerCube, MarkerAdd, &p,
			[3]float64{float64(b.DX), float64(b.DY), float64(b.DZ)}, BoxColor(b), lifetimeNs)
	}
	return w.Bytes()
}

func (w *Writer) marker(h *Header, ns string, id, typ, action int32, p *Pose, scale [3]float64, color [4]float32, lifetimeNs int64) {
	w.Header(h)
	w.String(ns)
	w.Int32(id)
	w.Int32(typ)
	w.Int32(action)
	w.pose(p)
	w.Float64s(scale[:])
	for _, c := range color {
		w.Float32(c)
	}
	w.Time(StampFromNanos(lifetimeNs))
	w.Bool(false) // frame_locked
	w.Count(0)    // points
	w.Count(0)    // colors
	w.String("")  // texture_resource
	w.Header(&Header{})
	w.String("") // texture.format
	w.Count(0)   // texture.data
	w.Count(0)   // uv_coordinates
	w.String("") // text
	w.String("") // mesh_resource
	w.String("") // mesh_file.filename
	w.Count(0)   // mesh_file.data
	w.Bool(false)
}
