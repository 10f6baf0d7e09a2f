package msgconv

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// The detection3d protobuf encoding written by hand, so that a message
// costs no allocation: proto.Marshal needs the message as a tree of
// pb.Object3D and pb.Vec3 values, one allocation per box and vector. The
// bytes are those proto.Marshal writes for ToProto's message (fields in
// number order, proto3 zero values left out, sub-messages always present
// for center and size), which TestMarshalProtoMatchesLibrary checks.

// Field tags: field number << 3 | wire type (0 varint, 1 fixed64, 2 bytes,
// 5 fixed32).
const (
	tagVersion      = 1<<3 | 2
	tagSensorID     = 2<<3 | 2
	tagSourceID     = 3 << 3 /* varint */
	tagFrameNumber  = 4 << 3 /* varint */
	tagFrameID      = 5<<3 | 2
	tagTimestampNs  = 6 << 3 /* varint */
	tagWorldFrameID = 7<<3 | 2
	tagObjects      = 8<<3 | 2

	tagTrackID   = 1 << 3 /* varint */
	tagClassID   = 2 << 3 /* varint */
	tagLabel     = 3<<3 | 2
	tagScore     = 4<<3 | 5
	tagCenter    = 5<<3 | 2
	tagSize      = 6<<3 | 2
	tagYaw       = 7<<3 | 5
	tagVelocityX = 8<<3 | 5
	tagVelocityY = 9<<3 | 5
	tagWorld     = 10<<3 | 2

	tagX = 1<<3 | 1
	tagY = 2<<3 | 1
	tagZ = 3<<3 | 1
)

// appendProto writes the message; invalid UTF-8 in a string is an error,
// as proto.Marshal makes it (proto3 strings are UTF-8).
func appendProto(b []byte, h *Header, boxes []ds3d.Box3D, world [][3]float64) ([]byte, error) {
	for _, s := range [...]struct{ name, v string }{{"sensor_id", h.SensorID}, {"frame_id", h.FrameID}, {"world_frame_id", h.WorldFrameID}} {
		if !utf8.ValidString(s.v) {
			return b, fmt.Errorf("detection3d protobuf: %s %q: invalid UTF-8", s.name, s.v)
		}
	}
	b = pbString(b, tagVersion, Detection3DVersion)
	b = pbString(b, tagSensorID, h.SensorID)
	b = pbVarint(b, tagSourceID, uint64(int64(h.SourceID)))
	b = pbVarint(b, tagFrameNumber, uint64(h.FrameNumber))
	b = pbString(b, tagFrameID, h.FrameID)
	b = pbVarint(b, tagTimestampNs, uint64(h.Timestamp))
	b = pbString(b, tagWorldFrameID, h.WorldFrameID)
	for i := range boxes {
		x := &boxes[i]
		if !utf8.ValidString(x.Label) {
			return b, fmt.Errorf("detection3d protobuf: objects[%d].label %q: invalid UTF-8", i, x.Label)
		}
		b = append(b, tagObjects)
		at := len(b)
		b = append(b, 0) // length, one byte while it is below 128
		b = pbVarint(b, tagTrackID, uint64(x.TrackID))
		b = pbVarint(b, tagClassID, uint64(int64(x.ClassID)))
		b = pbString(b, tagLabel, x.Label)
		b = pbFloat(b, tagScore, x.Score)
		b = pbVec3(b, tagCenter, float64(x.CX), float64(x.CY), float64(x.CZ))
		b = pbVec3(b, tagSize, float64(x.DX), float64(x.DY), float64(x.DZ))
		b = pbFloat(b, tagYaw, x.Yaw)
		b = pbFloat(b, tagVelocityX, x.VX)
		b = pbFloat(b, tagVelocityY, x.VY)
		if i < len(world) && !math.IsNaN(world[i][0]) {
			b = pbVec3(b, tagWorld, world[i][0], world[i][1], world[i][2])
		}
		b = putLength(b, at)
	}
	return b, nil
}

// putLength writes the length of b[at+1:] as the varint at b[at], moving
// the body when the length needs more than the one byte reserved.
func putLength(b []byte, at int) []byte {
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	var tmp [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(tmp[:], uint64(n))
	b = append(b, tmp[:k-1]...) // room for the extra bytes
	copy(b[at+k:], b[at+1:at+1+n])
	copy(b[at:], tmp[:k])
	return b
}

func pbVarint(b []byte, tag byte, v uint64) []byte {
	if v == 0 {
		return b
	}
	return binary.AppendUvarint(append(b, tag), v)
}

func pbString(b []byte, tag byte, s string) []byte {
	if s == "" {
		return b
	}
	b = binary.AppendUvarint(append(b, tag), uint64(len(s)))
	return append(b, s...)
}

// pbFloat leaves out +0 only, as proto3 does: -0 and NaN are written.
func pbFloat(b []byte, tag byte, v float32) []byte {
	u := math.Float32bits(v)
	if u == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint32(append(b, tag), u)
}

func pbDouble(b []byte, tag byte, v float64) []byte {
	u := math.Float64bits(v)
	if u == 0 {
		return b
	}
	return binary.LittleEndian.AppendUint64(append(b, tag), u)
}

// pbVec3 writes a Vec3 sub-message, present even when all zero; it is at
// most 27 bytes, so its length is one byte.
func pbVec3(b []byte, tag byte, x, y, z float64) []byte {
	b = append(b, tag, 0)
	at := len(b) - 1
	b = pbDouble(b, tagX, x)
	b = pbDouble(b, tagY, y)
	b = pbDouble(b, tagZ, z)
	b[at] = byte(len(b) - at - 1)
	return b
}
