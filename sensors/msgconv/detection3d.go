package msgconv

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/ds3d-go/ds3d-go/ds3d"
	pb "github.com/ds3d-go/ds3d-go/sensors/msgconv/proto"
	"google.golang.org/protobuf/proto"
)

// Detection3DVersion is the version of the ds3d detection3d schema this
// package writes. Readers accept every 1.x: minor versions only add
// optional members (docs/PAYLOADS.md, "Versioning").
const Detection3DVersion = "1.0"

// Header is what a detection3d message says about all its boxes.
type Header struct {
	SensorID     string // the metadata's sensor id
	SourceID     int32  // DS3D::SourceId; -1 when unknown
	FrameNumber  int64  // DS3D::FrameNumber; -1 when unknown
	FrameID      string // coordinate frame of the boxes (ROS header.frame_id)
	Timestamp    int64  // nanoseconds since the Unix epoch (DS3D::Timestamp)
	WorldFrameID string // frame of the world positions; "" when there are none
}

// Detection3D is one decoded detection3d message.
type Detection3D struct {
	Version string
	Header
	Boxes []ds3d.Box3D
	// World holds each box's world position, or is nil when the message
	// carried none; a box without one is NaN.
	World [][3]float64
}

// EncodeJSON appends the detection3d 1.0 JSON of boxes (all of a frame, or
// one for a message per object) to dst and returns it; world is nil or one
// position per box (NaN: unknown, the member is left out). It allocates
// nothing once dst has room. Floats are written with the fewest digits that
// read back to the same float32 (world positions: float64); NaN and ±Inf,
// which JSON cannot hold, are written as null.
//
//	{"version":"1.0","sensor_id":"lidar_top","source_id":0,"frame_number":42,
//	 "frame_id":"lidar","timestamp":"2026-12-07T23:59:59.123Z",
//	 "timestamp_ns":1796687999123456789,"objects":[{"track_id":7,"class_id":0,
//	 "label":"Car","score":0.91,"center":[12.5,-3.25,0.9],"size":[4.2,1.8,1.6],
//	 "yaw":0.12,"velocity":[3.5,0.1]}]}
func EncodeJSON(dst []byte, h *Header, boxes []ds3d.Box3D, world [][3]float64) []byte {
	b := append(dst, `{"version":"`+Detection3DVersion+`","sensor_id":`...)
	b = appendString(b, h.SensorID)
	b = append(b, `,"source_id":`...)
	b = strconv.AppendInt(b, int64(h.SourceID), 10)
	b = append(b, `,"frame_number":`...)
	b = strconv.AppendInt(b, h.FrameNumber, 10)
	b = append(b, `,"frame_id":`...)
	b = appendString(b, h.FrameID)
	b = append(b, `,"timestamp":"`...)
	b = appendTime(b, h.Timestamp)
	b = append(b, `","timestamp_ns":`...)
	b = strconv.AppendInt(b, h.Timestamp, 10)
	if h.WorldFrameID != "" {
		b = append(b, `,"world_frame_id":`...)
		b = appendString(b, h.WorldFrameID)
	}
	b = append(b, `,"objects":[`...)
	for i := range boxes {
		if i > 0 {
			b = append(b, ',')
		}
		x := &boxes[i]
		b = append(b, `{"track_id":`...)
		b = strconv.AppendInt(b, x.TrackID, 10)
		b = append(b, `,"class_id":`...)
		b = strconv.AppendInt(b, int64(x.ClassID), 10)
		b = append(b, `,"label":`...)
		b = appendString(b, x.Label)
		b = append(b, `,"score":`...)
		b = appendFloat32(b, x.Score)
		b = append(b, `,"center":`...)
		b = appendVec32(b, x.CX, x.CY, x.CZ)
		b = append(b, `,"size":`...)
		b = appendVec32(b, x.DX, x.DY, x.DZ)
		b = append(b, `,"yaw":`...)
		b = appendFloat32(b, x.Yaw)
		b = append(b, `,"velocity":[`...)
		b = appendFloat32(b, x.VX)
		b = append(b, ',')
		b = appendFloat32(b, x.VY)
		b = append(b, ']')
		if i < len(world) && !math.IsNaN(world[i][0]) {
			w := &world[i]
			b = append(b, `,"world_position":[`...)
			b = appendFloat64(b, w[0])
			b = append(b, ',')
			b = appendFloat64(b, w[1])
			b = append(b, ',')
			b = appendFloat64(b, w[2])
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

func appendVec32(b []byte, x, y, z float32) []byte {
	b = append(b, '[')
	b = appendFloat32(b, x)
	b = append(b, ',')
	b = appendFloat32(b, y)
	b = append(b, ',')
	b = appendFloat32(b, z)
	return append(b, ']')
}

type jsonDetection3D struct {
	Version      *string        `json:"version"`
	SensorID     string         `json:"sensor_id"`
	SourceID     *int32         `json:"source_id"`
	FrameNumber  *int64         `json:"frame_number"`
	FrameID      string         `json:"frame_id"`
	Timestamp    *string        `json:"timestamp"`
	TimestampNs  *int64         `json:"timestamp_ns"`
	WorldFrameID string         `json:"world_frame_id"`
	Objects      []jsonObject3D `json:"objects"`
}

// jsonNum is a number that may be null (a value that was not finite).
type jsonNum struct{ v float64 }

func (n *jsonNum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		n.v = math.NaN()
		return nil
	}
	return json.Unmarshal(b, &n.v)
}

type jsonObject3D struct {
	TrackID  *int64    `json:"track_id"`
	ClassID  int32     `json:"class_id"`
	Label    string    `json:"label"`
	Score    jsonNum   `json:"score"`
	Center   []jsonNum `json:"center"`
	Size     []jsonNum `json:"size"`
	Yaw      jsonNum   `json:"yaw"`
	Velocity []jsonNum `json:"velocity"`
	World    []jsonNum `json:"world_position"`
}

// DecodeJSON parses a detection3d JSON message of any 1.x version; members
// it does not know are ignored, as the versioning rule asks of readers.
func DecodeJSON(data []byte) (*Detection3D, error) {
	var j jsonDetection3D
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("detection3d: %w", err)
	}
	if j.Version == nil {
		return nil, errors.New("detection3d: no version")
	}
	if err := checkVersion(*j.Version); err != nil {
		return nil, err
	}
	if j.TimestampNs == nil || j.Timestamp == nil {
		return nil, errors.New("detection3d: timestamp and timestamp_ns are required")
	}
	if ms, err := parseTime(*j.Timestamp); err != nil {
		return nil, fmt.Errorf("detection3d: timestamp: %w", err)
	} else if ms/1e6 != floorDiv(*j.TimestampNs, 1e6) {
		return nil, fmt.Errorf("detection3d: timestamp %s and timestamp_ns %d disagree", *j.Timestamp, *j.TimestampNs)
	}
	d := &Detection3D{Version: *j.Version, Header: Header{SensorID: j.SensorID, SourceID: -1, FrameNumber: -1,
		FrameID: j.FrameID, Timestamp: *j.TimestampNs, WorldFrameID: j.WorldFrameID}}
	if j.SourceID != nil {
		d.SourceID = *j.SourceID
	}
	if j.FrameNumber != nil {
		d.FrameNumber = *j.FrameNumber
	}
	d.Boxes = make([]ds3d.Box3D, len(j.Objects))
	for i := range j.Objects {
		o := &j.Objects[i]
		if o.TrackID == nil {
			return nil, fmt.Errorf("detection3d: objects[%d]: no track_id", i)
		}
		if len(o.Center) != 3 || len(o.Size) != 3 || len(o.Velocity) != 2 {
			return nil, fmt.Errorf("detection3d: objects[%d]: center and size need 3 numbers, velocity 2", i)
		}
		d.Boxes[i] = ds3d.Box3D{
			CX: f32(o.Center[0]), CY: f32(o.Center[1]), CZ: f32(o.Center[2]),
			DX: f32(o.Size[0]), DY: f32(o.Size[1]), DZ: f32(o.Size[2]),
			Yaw: f32(o.Yaw), ClassID: o.ClassID, Label: o.Label, Score: f32(o.Score),
			TrackID: *o.TrackID, VX: f32(o.Velocity[0]), VY: f32(o.Velocity[1]),
		}
		if o.World != nil {
			if len(o.World) != 3 {
				return nil, fmt.Errorf("detection3d: objects[%d]: world_position needs 3 numbers", i)
			}
			if d.World == nil {
				d.World = make([][3]float64, len(j.Objects))
				for k := range d.World {
					d.World[k] = [3]float64{math.NaN(), math.NaN(), math.NaN()}
				}
			}
			d.World[i] = [3]float64{o.World[0].v, o.World[1].v, o.World[2].v}
		}
	}
	return d, nil
}

func f32(n jsonNum) float32 { return float32(n.v) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// checkVersion accepts "1.<minor>".
func checkVersion(v string) error {
	if len(v) < 3 || v[:2] != "1." {
		return fmt.Errorf("detection3d: version %q: this reader knows 1.x", v)
	}
	if _, err := strconv.ParseUint(v[2:], 10, 32); err != nil {
		return fmt.Errorf("detection3d: version %q: want major.minor", v)
	}
	return nil
}

// ToProto converts a message to its protobuf form.
func ToProto(h *Header, boxes []ds3d.Box3D, world [][3]float64) *pb.Detection3D {
	m := &pb.Detection3D{Version: Detection3DVersion, SensorId: h.SensorID, SourceId: h.SourceID,
		FrameNumber: h.FrameNumber, FrameId: h.FrameID, TimestampNs: h.Timestamp, WorldFrameId: h.WorldFrameID,
		Objects: make([]*pb.Object3D, len(boxes))}
	for i := range boxes {
		x := &boxes[i]
		o := &pb.Object3D{TrackId: x.TrackID, ClassId: x.ClassID, Label: x.Label, Score: x.Score,
			Center: &pb.Vec3{X: float64(x.CX), Y: float64(x.CY), Z: float64(x.CZ)},
			Size:   &pb.Vec3{X: float64(x.DX), Y: float64(x.DY), Z: float64(x.DZ)},
			Yaw:    x.Yaw, VelocityX: x.VX, VelocityY: x.VY}
		if i < len(world) && !math.IsNaN(world[i][0]) {
			o.WorldPosition = &pb.Vec3{X: world[i][0], Y: world[i][1], Z: world[i][2]}
		}
		m.Objects[i] = o
	}
	return m
}

// MarshalProto appends the protobuf encoding of a message to dst: the
// bytes proto.Marshal writes for ToProto's message, without building it,
// so it allocates nothing once dst has room. A string that is not valid
// UTF-8 is an error (proto3 strings are UTF-8); dst is then returned as it
// was.
func MarshalProto(dst []byte, h *Header, boxes []ds3d.Box3D, world [][3]float64) ([]byte, error) {
	b, err := appendProto(dst, h, boxes, world)
	if err != nil {
		return dst, err
	}
	return b, nil
}

// UnmarshalProto parses a protobuf detection3d message of any 1.x version.
func UnmarshalProto(data []byte) (*Detection3D, error) {
	var m pb.Detection3D
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("detection3d protobuf: %w", err)
	}
	if err := checkVersion(m.Version); err != nil {
		return nil, err
	}
	return FromProto(&m), nil
}

// FromProto converts the protobuf form back.
func FromProto(m *pb.Detection3D) *Detection3D {
	d := &Detection3D{Version: m.Version, Header: Header{SensorID: m.SensorId, SourceID: m.SourceId,
		FrameNumber: m.FrameNumber, FrameID: m.FrameId, Timestamp: m.TimestampNs, WorldFrameID: m.WorldFrameId},
		Boxes: make([]ds3d.Box3D, len(m.Objects))}
	for i, o := range m.Objects {
		c, s := o.GetCenter(), o.GetSize()
		d.Boxes[i] = ds3d.Box3D{
			CX: float32(c.GetX()), CY: float32(c.GetY()), CZ: float32(c.GetZ()),
			DX: float32(s.GetX()), DY: float32(s.GetY()), DZ: float32(s.GetZ()),
			Yaw: o.Yaw, ClassID: o.ClassId, Label: o.Label, Score: o.Score,
			TrackID: o.TrackId, VX: o.VelocityX, VY: o.VelocityY,
		}
		if w := o.WorldPosition; w != nil {
			if d.World == nil {
				d.World = make([][3]float64, len(m.Objects))
				for k := range d.World {
					d.World[k] = [3]float64{math.NaN(), math.NaN(), math.NaN()}
				}
			}
			d.World[i] = [3]float64{w.X, w.Y, w.Z}
		}
	}
	return d
}
