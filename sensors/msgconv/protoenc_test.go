package msgconv

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"google.golang.org/protobuf/proto"
)

// TestMarshalProtoMatchesLibrary: the hand-written encoder writes the
// bytes google.golang.org/protobuf writes for ToProto's message, for the
// corner cases of the wire format: negative varints, -0 and NaN floats
// (written) against +0 (left out), empty and absent sub-messages, an
// object longer than 127 bytes (a two-byte length), no objects.
func TestMarshalProtoMatchesLibrary(t *testing.T) {
	h, boxes, world := exampleDetection()
	negZero := float32(math.Copysign(0, -1))
	cases := []struct {
		name  string
		h     Header
		boxes []ds3d.Box3D
		world [][3]float64
	}{
		{"example", *h, boxes, world},
		{"no world", *h, boxes, nil},
		{"no objects", *h, nil, nil},
		{"zero header", Header{}, []ds3d.Box3D{{}}, nil},
		{"negative ids", Header{SourceID: -1, FrameNumber: -1, Timestamp: -5, SensorID: "s"},
			[]ds3d.Box3D{{TrackID: -1, ClassID: -7, Label: "x"}}, nil},
		{"odd floats", *h, []ds3d.Box3D{{Score: negZero, Yaw: float32(math.NaN()), VX: float32(math.Inf(1)), VY: float32(math.Inf(-1)),
			CX: negZero, DX: 1e-45}}, [][3]float64{{math.Copysign(0, -1), 0, math.Inf(1)}}},
		{"long label", *h, []ds3d.Box3D{{Label: strings.Repeat("Lkw", 60), TrackID: 1 << 40}, {Label: strings.Repeat("é", 5000)}}, nil},
		{"unicode", Header{SensorID: "Kreuzung Süd ✓", FrameID: "lidar"}, []ds3d.Box3D{{Label: "Fußgänger"}}, nil},
	}
	for _, c := range cases {
		want, err := proto.Marshal(ToProto(&c.h, c.boxes, c.world))
		if err != nil {
			t.Fatalf("%s: proto.Marshal: %v", c.name, err)
		}
		got, err := MarshalProto([]byte("prefix"), &c.h, c.boxes, c.world)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
			t.Errorf("%s:\n got %x\nwant %x", c.name, got[6:], want)
		}
	}
}

// TestMarshalProtoInvalidUTF8: where proto.Marshal refuses a string that is
// not UTF-8, so does MarshalProto, naming the field, and dst is unchanged.
func TestMarshalProtoInvalidUTF8(t *testing.T) {
	h, boxes, _ := exampleDetection()
	bad := []ds3d.Box3D{boxes[0], boxes[1]}
	bad[1].Label = "Car\xff"
	if _, err := proto.Marshal(ToProto(h, bad, nil)); err == nil {
		t.Fatal("proto.Marshal accepts invalid UTF-8: the reference changed")
	}
	dst := []byte("keep")
	got, err := MarshalProto(dst, h, bad, nil)
	if err == nil || !strings.Contains(err.Error(), "objects[1].label") {
		t.Errorf("error %v, want one naming objects[1].label", err)
	}
	if string(got) != "keep" {
		t.Errorf("dst became %q", got)
	}
	h2 := *h
	h2.SensorID = "\xc3"
	if _, err := MarshalProto(nil, &h2, boxes, nil); err == nil || !strings.Contains(err.Error(), "sensor_id") {
		t.Errorf("sensor_id: error %v", err)
	}
}

func TestMarshalProtoAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	h, boxes, world := exampleDetection()
	many := make([]ds3d.Box3D, 0, 64)
	for len(many) < 64 {
		many = append(many, boxes...)
	}
	buf := make([]byte, 0, 64<<10)
	if n := testing.AllocsPerRun(100, func() {
		buf, _ = MarshalProto(buf[:0], h, boxes, world)
		buf, _ = MarshalProto(buf[:0], h, many, nil)
	}); n != 0 {
		t.Fatalf("%v allocations per message, want 0", n)
	}
}

// BenchmarkMarshalProtoLibrary is BenchmarkMarshalProto through
// google.golang.org/protobuf, the peer the hand-written encoder replaced.
func BenchmarkMarshalProtoLibrary(b *testing.B) {
	h, boxes, _ := exampleDetection()
	many := make([]ds3d.Box3D, 0, 64)
	for len(many) < 64 {
		many = append(many, boxes...)
	}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = proto.MarshalOptions{}.MarshalAppend(buf[:0], ToProto(h, many, nil))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
