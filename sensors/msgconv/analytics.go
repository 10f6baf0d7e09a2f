package msgconv

import (
	"strconv"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// AnalyticsVersion is the version of the ds3d analytics event schema.
// Like detection3d, readers accept every 1.x: minor versions only add
// optional members.
const AnalyticsVersion = "1.0"

// AppendAnalyticsJSON appends one analytics event (filters/analytics: an
// entry, exit, line crossing or violation) as a ds3d analytics JSON object
// and returns b; sensorID is the metadata's sensor id of the event's
// source. It allocates nothing once b has room. The event's object is
// "object" (the 2D box, pixels) when the event came from 2D tracks and
// "box" (centre, size, yaw, velocity: detection3d's members) from 3D
// tracks; speed, dwell and count are left out when they do not apply.
//
//	{"version":"1.0","type":"line_crossing","sensor_id":"cam0","source_id":0,
//	 "frame_number":42,"timestamp":"2026-12-07T23:59:59.123Z","timestamp_ns":1796687999123456789,
//	 "rule":"gate","rule_index":3,"direction":1,"space":"ground","track_id":7,"class_id":0,
//	 "label":"person","position":[12.5,-3.25],"speed":1.4,
//	 "object":{"bbox":[100,200,40,90],"score":0.9}}
func AppendAnalyticsJSON(b []byte, sensorID string, e *ds3d.AnalyticsEvent) []byte {
	b = append(b, `{"version":"`+AnalyticsVersion+`","type":`...)
	b = appendString(b, string(e.Type))
	b = append(b, `,"sensor_id":`...)
	b = appendString(b, sensorID)
	b = append(b, `,"source_id":`...)
	b = strconv.AppendInt(b, int64(e.SourceID), 10)
	b = append(b, `,"frame_number":`...)
	b = strconv.AppendInt(b, e.FrameNumber, 10)
	b = append(b, `,"timestamp":"`...)
	b = appendTime(b, e.Timestamp)
	b = append(b, `","timestamp_ns":`...)
	b = strconv.AppendInt(b, e.Timestamp, 10)
	b = append(b, `,"rule":`...)
	b = appendString(b, e.RuleID)
	b = append(b, `,"rule_index":`...)
	b = strconv.AppendInt(b, int64(e.Rule), 10)
	if e.Direction != 0 {
		b = append(b, `,"direction":`...)
		b = strconv.AppendInt(b, int64(e.Direction), 10)
	}
	b = append(b, `,"space":`...)
	b = appendString(b, e.Space.String())
	b = append(b, `,"track_id":`...)
	b = strconv.AppendInt(b, e.TrackID, 10)
	b = append(b, `,"class_id":`...)
	b = strconv.AppendInt(b, int64(e.ClassID), 10)
	b = append(b, `,"label":`...)
	b = appendString(b, e.Label)
	if e.TrackID >= 0 {
		b = append(b, `,"position":[`...)
		b = appendFloat64(b, e.Pos[0])
		b = append(b, ',')
		b = appendFloat64(b, e.Pos[1])
		b = append(b, ']')
	}
	if e.Speed == e.Speed && e.TrackID >= 0 { // not NaN
		b = append(b, `,"speed":`...)
		b = appendFloat32(b, e.Speed)
	}
	if e.Type == ds3d.EventZoneExit {
		b = append(b, `,"dwell":`...)
		b = appendFloat32(b, e.Dwell)
	}
	if e.Type == ds3d.EventOvercrowding {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(e.Count), 10)
	}
	switch {
	case e.Box != (ds3d.Box3D{}):
		x := &e.Box
		b = append(b, `,"box":{"center":`...)
		b = appendVec32(b, x.CX, x.CY, x.CZ)
		b = append(b, `,"size":`...)
		b = appendVec32(b, x.DX, x.DY, x.DZ)
		b = append(b, `,"yaw":`...)
		b = appendFloat32(b, x.Yaw)
		b = append(b, `,"score":`...)
		b = appendFloat32(b, x.Score)
		b = append(b, `,"velocity":[`...)
		b = appendFloat32(b, x.VX)
		b = append(b, ',')
		b = appendFloat32(b, x.VY)
		b = append(b, "]}"...)
	case e.Object != (ds3d.Object2D{}):
		o := &e.Object
		b = append(b, `,"object":{"bbox":[`...)
		b = appendFloat32(b, o.Left)
		b = append(b, ',')
		b = appendFloat32(b, o.Top)
		b = append(b, ',')
		b = appendFloat32(b, o.Width)
		b = append(b, ',')
		b = appendFloat32(b, o.Height)
		b = append(b, `],"score":`...)
		b = appendFloat32(b, o.Score)
		b = append(b, '}')
	}
	return append(b, '}')
}
