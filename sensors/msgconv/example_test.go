package msgconv_test

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// One message per object: each box goes out in its own envelope.
func ExampleEncodeJSON() {
	h := &msgconv.Header{SensorID: "lidar_top", SourceID: 0, FrameNumber: 42, FrameID: "lidar",
		Timestamp: 1796687999123456789}
	boxes := []ds3d.Box3D{
		{TrackID: 7, Label: "Car", Score: 0.91, CX: 12.5, CY: -3.25, CZ: 0.9, DX: 4.2, DY: 1.8, DZ: 1.6, Yaw: 0.12, VX: 3.5, VY: 0.1},
		{TrackID: -1, ClassID: 2, Label: "Cyclist", Score: 0.5, CX: 5, CY: 2, CZ: -0.75, DX: 1.75, DY: 0.5, DZ: 1.5, Yaw: -1.5},
	}
	var buf []byte
	for i := range boxes {
		buf = msgconv.EncodeJSON(buf[:0], h, boxes[i:i+1], nil)
		fmt.Println(string(buf))
	}
	// Output:
	// {"version":"1.0","sensor_id":"lidar_top","source_id":0,"frame_number":42,"frame_id":"lidar","timestamp":"2026-12-07T23:59:59.123Z","timestamp_ns":1796687999123456789,"objects":[{"track_id":7,"class_id":0,"label":"Car","score":0.91,"center":[12.5,-3.25,0.9],"size":[4.2,1.8,1.6],"yaw":0.12,"velocity":[3.5,0.1]}]}
	// {"version":"1.0","sensor_id":"lidar_top","source_id":0,"frame_number":42,"frame_id":"lidar","timestamp":"2026-12-07T23:59:59.123Z","timestamp_ns":1796687999123456789,"objects":[{"track_id":-1,"class_id":2,"label":"Cyclist","score":0.5,"center":[5,2,-0.75],"size":[1.75,0.5,1.5],"yaw":-1.5,"velocity":[0,0]}]}
}
