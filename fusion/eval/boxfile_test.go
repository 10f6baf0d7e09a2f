package eval

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadBoxFileDetection3D reads detection3d lines written by hand from
// docs/PAYLOADS.md's description (the example of the schema file), mixed
// with a line of the old format, and the errors of malformed ones.
func TestReadBoxFileDetection3D(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.jsonl")
	const in = `{"version":"1.0","sensor_id":"lidar_top","source_id":0,"frame_number":42,"frame_id":"lidar","timestamp":"2026-12-07T23:59:59.123Z","timestamp_ns":1796687999123456789,"world_frame_id":"map","objects":[{"track_id":7,"class_id":0,"label":"Car","score":0.91,"center":[12.5,-3.25,0.9],"size":[4.2,1.8,1.6],"yaw":0.12,"velocity":[3.5,0.1],"world_position":[4512.25,-77.125,12.5]},{"track_id":-1,"class_id":1,"label":"Pedestrian","score":null,"center":[1,2,3],"size":[0.8,0.6,1.7],"yaw":null,"velocity":[null,0]}]}
{"version":"1.3","sensor_id":"9","source_id":-1,"frame_number":-1,"frame_id":"base_link","timestamp":"1970-01-01T00:00:00.000Z","timestamp_ns":5,"objects":[],"future_member":{"x":1}}

{"frame":3,"timestamp_ns":7,"source_id":2,"boxes":[{"center":[1,2,3],"size":[4,1.5,1.6],"yaw":0.5,"class_id":0,"label":"Car","track_id":4,"velocity":[1,0]}]}
`
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := ReadBoxFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 {
		t.Fatalf("%d frames, want 3", len(fs))
	}
	f := fs[0]
	if f.Frame != 42 || f.SourceID != 0 || f.SensorID != "lidar_top" || f.FrameID != "lidar" || f.TimestampNS != 1796687999123456789 || len(f.Boxes) != 2 {
		t.Fatalf("frame 0: %+v", f)
	}
	b := f.Boxes[0]
	if b.CX != 12.5 || b.CY != -3.25 || b.CZ != 0.9 || b.DX != 4.2 || b.DY != 1.8 || b.DZ != 1.6 || b.Yaw != 0.12 ||
		b.Score != 0.91 || b.TrackID != 7 || b.Label != "Car" || b.ClassID != 0 || b.VX != 3.5 || b.VY != 0.1 {
		t.Errorf("box 0: %+v", b)
	}
	if f.World == nil || f.World[0] != [3]float64{4512.25, -77.125, 12.5} || !math.IsNaN(f.World[1][0]) {
		t.Errorf("world: %v", f.World)
	}
	if b := f.Boxes[1]; !math.IsNaN(float64(b.Score)) || !math.IsNaN(float64(b.Yaw)) || !math.IsNaN(float64(b.VX)) || b.VY != 0 || b.TrackID != -1 || b.ClassID != 1 {
		t.Errorf("box 1 (nulls): %+v", b)
	}
	if f := fs[1]; f.Frame != -1 || f.SourceID != -1 || f.SensorID != "9" || f.FrameID != "base_link" || f.TimestampNS != 5 || f.Boxes == nil || len(f.Boxes) != 0 || f.World != nil {
		t.Errorf("frame 1 (1.3, empty, unknown member): %+v", f)
	}
	if f := fs[2]; f.Frame != 3 || f.SourceID != 2 || f.TimestampNS != 7 || f.FrameID != "" || len(f.Boxes) != 1 || f.Boxes[0].Score != 1 || f.Boxes[0].TrackID != 4 {
		t.Errorf("frame 2 (old format, no score): %+v", f)
	}

	const hdr = `{"version":"1.0","sensor_id":"0","source_id":0,"frame_number":0,"frame_id":"lidar","timestamp":"1970-01-01T00:00:00.000Z","timestamp_ns":0,`
	for _, c := range []struct{ in, want string }{
		{`{"version":"2.0","timestamp_ns":0,"objects":[]}`, `line 1: detection3d version "2.0": this reader knows 1.x`},
		{`{"version":"1","timestamp_ns":0,"objects":[]}`, `line 1: detection3d version "1"`},
		{hdr + `"boxes":[]}`, `line 1: detection3d 1.0: no "objects" array`},
		{`{"version":"1.0","objects":[]}`, `line 1: detection3d 1.0: no "timestamp_ns"`},
		{`{"frame":1,"objects":[]}`, `line 1: neither a detection3d document`},
		{"{}", `line 1: neither a detection3d document`},
		{hdr + `"objects":[{"track_id":1,"center":[1,2,3],"size":[1,null,1]}]}`, "line 1: box 0: center or size holds null"},
		{hdr + `"objects":[{"track_id":1,"center":[1,2,3],"size":[1,1]}]}`, "line 1: box 0: center and size need 3 numbers each"},
		{hdr + `"objects":[{"track_id":1,"center":[1,2,3],"size":[1,1,1],"world_position":[1,2]}]}`, "line 1: box 0: world_position needs 3 numbers"},
		{hdr + `"objects":[{"track_id":1,"center":[1,2,3],"size":[1,1,1],"score":"high"}]}`, "line 1: box 0: score: json: cannot unmarshal string"},
	} {
		if err := os.WriteFile(p, []byte(c.in), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadBoxFile(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzReadBoxFileDetection3D(f *testing.F) {
	f.Add([]byte(`{"version":"1.0","sensor_id":"0","source_id":0,"frame_number":1,"frame_id":"lidar","timestamp":"1970-01-01T00:00:00.000Z","timestamp_ns":0,"objects":[{"track_id":7,"class_id":0,"label":"Car","score":null,"center":[1,2,3],"size":[4,1.8,1.6],"yaw":0.1,"velocity":[null,0],"world_position":[1,null,3]}]}`))
	f.Add([]byte(`{"version":"1.9","timestamp_ns":1,"objects":[]}` + "\n" + `{"frame":0,"boxes":[]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.jsonl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fs, err := ReadBoxFile(p) // must not panic
		for _, fr := range fs {
			if err == nil && fr.World != nil && len(fr.World) != len(fr.Boxes) {
				t.Fatalf("%d world positions for %d boxes", len(fr.World), len(fr.Boxes))
			}
		}
	})
}
