package msgconv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// exampleDetection is testdata/detection3d_example.* as Go values, written
// from the text-format file, not from any encoder.
func exampleDetection() (*Header, []ds3d.Box3D, [][3]float64) {
	h := &Header{SensorID: "lidar_top", SourceID: 0, FrameNumber: 42, FrameID: "lidar",
		Timestamp: 1796687999123456789, WorldFrameID: "map"}
	boxes := []ds3d.Box3D{
		{TrackID: 7, ClassID: 0, Label: "Car", Score: 0.91, CX: 12.5, CY: -3.25, CZ: 0.9,
			DX: 4.2, DY: 1.8, DZ: 1.6, Yaw: 0.12, VX: 3.5, VY: 0.1},
		{TrackID: -1, ClassID: 2, Label: "Cyclist", Score: 0.5, CX: 5, CY: 2, CZ: -0.75,
			DX: 1.75, DY: 0.5, DZ: 1.5, Yaw: -1.5},
	}
	world := [][3]float64{{691234.125, 5334567.5, 512.25}, {math.NaN(), math.NaN(), math.NaN()}}
	return h, boxes, world
}

func sameDetection(t *testing.T, what string, got *Detection3D, h *Header, boxes []ds3d.Box3D, world [][3]float64) {
	t.Helper()
	if got.Header != *h || !reflect.DeepEqual(got.Boxes, boxes) {
		t.Fatalf("%s:\n%+v\n%+v\nwant\n%+v\n%+v", what, got.Header, got.Boxes, *h, boxes)
	}
	if len(got.World) != len(world) {
		t.Fatalf("%s: %d world positions, want %d", what, len(got.World), len(world))
	}
	for i := range world {
		for k := range 3 {
			g, w := got.World[i][k], world[i][k]
			if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Fatalf("%s: world[%d] = %v, want %v", what, i, got.World[i], world[i])
			}
		}
	}
}

func TestDecodeExampleFiles(t *testing.T) {
	h, boxes, world := exampleDetection()
	js, err := os.ReadFile("testdata/detection3d_example.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	sameDetection(t, "JSON example", d, h, boxes, world)
	pbBytes, err := os.ReadFile("testdata/detection3d_example.pb")
	if err != nil {
		t.Fatal(err)
	}
	d, err = UnmarshalProto(pbBytes)
	if err != nil {
		t.Fatal(err)
	}
	sameDetection(t, "protoc-encoded example", d, h, boxes, world)
	// The example JSON is what EncodeJSON writes, member for member.
	sameJSON(t, EncodeJSON(nil, h, boxes, world), js)
}

func TestJSONRoundTrip(t *testing.T) {
	h, boxes, world := exampleDetection()
	for _, w := range [][][3]float64{world, nil} {
		d, err := DecodeJSON(EncodeJSON(nil, h, boxes, w))
		if err != nil {
			t.Fatal(err)
		}
		hw := *h
		sameDetection(t, "round trip", d, &hw, boxes, w)
	}
	d, err := UnmarshalProto(must(MarshalProto(nil, h, boxes, world)))
	if err != nil {
		t.Fatal(err)
	}
	sameDetection(t, "protobuf round trip", d, h, boxes, world)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// schemaCases are messages the JSON Schema must accept: a frame, one object
// (message per object), no objects, values that are not finite, a negative
// time and strings that need escaping.
func schemaCases() map[string][]byte {
	h, boxes, world := exampleDetection()
	nan := boxes[1]
	nan.Score, nan.VX = float32(math.NaN()), float32(math.Inf(1))
	odd := *h
	odd.SensorID, odd.Timestamp, odd.SourceID, odd.FrameNumber = "lidar \"top\"\n\x01", -1500000001, -1, -1
	odd.WorldFrameID = ""
	return map[string][]byte{
		"frame":      EncodeJSON(nil, h, boxes, world),
		"per_object": EncodeJSON(nil, h, boxes[1:], world[1:]),
		"empty":      EncodeJSON(nil, h, nil, nil),
		"not_finite": EncodeJSON(nil, h, []ds3d.Box3D{nan}, nil),
		"odd":        EncodeJSON(nil, &odd, boxes, nil),
	}
}

// TestJSONSchemaValidates validates EncodeJSON's output with Python's
// jsonschema (Debian python3-jsonschema) against
// docs/schema/ds3d-detection3d-1.0.schema.json, and again with a strict copy
// that forbids members the schema does not name, so the encoder writes no
// stray member; Python's json also reads the values back.
func TestJSONSchemaValidates(t *testing.T) {
	dir := t.TempDir()
	cases := schemaCases()
	var files []string
	for name, b := range cases {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	files = append(files, "testdata/detection3d_example.json")
	const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
strict = json.loads(json.dumps(schema))
strict["additionalProperties"] = False
strict["$defs"]["object"]["additionalProperties"] = False
fmt = jsonschema.FormatChecker()
for s in (schema, strict):
    jsonschema.Draft202012Validator.check_schema(s)
for p in sys.argv[2:]:
    doc = json.load(open(p))
    for s in (schema, strict):
        jsonschema.Draft202012Validator(s, format_checker=fmt).validate(doc)
    o = doc["objects"][0] if doc["objects"] else {}
    print(p, doc["timestamp_ns"], doc["timestamp"], json.dumps(o.get("center")), json.dumps(o.get("score")))
`
	out := testenv.RunPython(t, []string{"jsonschema"}, append([]string{"-c", script, "../../docs/schema/ds3d-detection3d-1.0.schema.json"}, files...)...)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		t.Fatalf("python validated %d files, want %d:\n%s", len(lines), len(files), out)
	}
	// Python's reading of the frame case: centre and score as written.
	for _, l := range lines {
		if !strings.Contains(l, "/frame.json ") {
			continue
		}
		f := strings.Fields(l)
		if f[1] != "1796687999123456789" || f[2] != "2026-12-07T23:59:59.123Z" || f[3]+f[4]+f[5] != "[12.5,-3.25,0.9]" || f[6] != "0.91" {
			t.Errorf("python read %q", l)
		}
	}
	// The negative time: truncated toward the earlier millisecond.
	var odd struct{ Timestamp string }
	if err := json.Unmarshal(cases["odd"], &odd); err != nil || odd.Timestamp != "1969-12-31T23:59:58.499Z" {
		t.Errorf("timestamp of -1500000001 ns = %q, %v", odd.Timestamp, err)
	}
}

// TestProtocDecodes has protoc itself decode MarshalProto's bytes with the
// .proto file and compares its text output with the input values.
func TestProtocDecodes(t *testing.T) {
	protoc := testenv.Tool(t, "protoc", "apt-get install protobuf-compiler")
	h, boxes, world := exampleDetection()
	b, err := MarshalProto(nil, h, boxes, world)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(protoc, "-I", "proto", "--decode=ds3d.msgconv.v1.Detection3D", "ds3d_detection3d.proto")
	cmd.Stdin = bytes.NewReader(b)
	got := parseTextFormat(t, testenv.Output(t, cmd))
	want := map[string]string{
		"version": `"1.0"`, "sensor_id": `"lidar_top"`, "frame_number": "42", "frame_id": `"lidar"`,
		"timestamp_ns": "1796687999123456789", "world_frame_id": `"map"`,
		"objects.0.track_id": "7", "objects.0.label": `"Car"`, "objects.0.score": "0.91",
		"objects.0.center.x": "12.5", "objects.0.center.y": "-3.25", "objects.0.center.z": "0.9",
		"objects.0.size.x": "4.2", "objects.0.size.y": "1.8", "objects.0.size.z": "1.6",
		"objects.0.yaw": "0.12", "objects.0.velocity_x": "3.5", "objects.0.velocity_y": "0.1",
		"objects.0.world_position.x": "691234.125", "objects.0.world_position.y": "5334567.5", "objects.0.world_position.z": "512.25",
		"objects.1.track_id": "-1", "objects.1.class_id": "2", "objects.1.label": `"Cyclist"`, "objects.1.score": "0.5",
		"objects.1.center.x": "5", "objects.1.center.y": "2", "objects.1.center.z": "-0.75",
		"objects.1.size.x": "1.75", "objects.1.size.y": "0.5", "objects.1.size.z": "1.5", "objects.1.yaw": "-1.5",
	}
	if len(got) != len(want) {
		t.Errorf("protoc printed %d fields, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		if g == w {
			continue
		}
		// Floats: protoc prints a float field with the digits of float32,
		// a double with those of float64; compare the values.
		gf, err1 := strconv.ParseFloat(g, 64)
		wf, err2 := strconv.ParseFloat(w, 64)
		if err1 != nil || err2 != nil || (gf != wf && float32(gf) != float32(wf)) {
			t.Errorf("%s = %s, want %s", k, g, w)
		}
	}
}

// parseTextFormat reads protoc's text output into path → value; repeated
// messages are numbered in order.
func parseTextFormat(t *testing.T, out []byte) map[string]string {
	t.Helper()
	m := map[string]string{}
	var path []string
	counts := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case line == "}":
			path = path[:len(path)-1]
		case strings.HasSuffix(line, " {"):
			name := strings.TrimSuffix(line, " {")
			prefix := strings.Join(append(path, name), ".")
			if name == "objects" {
				name += "." + strconv.Itoa(counts[prefix])
				counts[prefix]++
			}
			path = append(path, name)
		default:
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("protoc output line %q", line)
			}
			m[strings.Join(append(path, k), ".")] = v
		}
	}
	return m
}

func TestEncodeJSONAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	h, boxes, world := exampleDetection()
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		buf = EncodeJSON(buf[:0], h, boxes, world)
	}); n != 0 {
		t.Fatalf("%v allocations per message, want 0", n)
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"version":"2.0"}`, `version "2.0"`},
		{`{}`, "no version"},
		{`{"version":"1.0","timestamp":"2026-12-07T23:59:59.123Z","timestamp_ns":5,"objects":[]}`, "disagree"},
		{`{"version":"1.0","timestamp":"1970-01-01T00:00:00.000Z","timestamp_ns":5,"objects":[{"track_id":1,"center":[1,2],"size":[1,1,1],"velocity":[0,0]}]}`, "objects[0]"},
		{`[1]`, "detection3d:"},
	} {
		if _, err := DecodeJSON([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.in, err, c.want)
		}
	}
	// A later 1.x with a member this reader does not know is read.
	if _, err := DecodeJSON([]byte(`{"version":"1.7","timestamp":"1970-01-01T00:00:00.000Z","timestamp_ns":5,"acceleration":[1,2],"objects":[]}`)); err != nil {
		t.Errorf("1.7 with a new member: %v", err)
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	h, boxes, _ := exampleDetection()
	many := make([]ds3d.Box3D, 0, 64)
	for len(many) < 64 {
		many = append(many, boxes...)
	}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = EncodeJSON(buf[:0], h, many, nil)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N*len(many))/b.Elapsed().Seconds(), "boxes/s")
}

func BenchmarkMarshalProto(b *testing.B) {
	h, boxes, _ := exampleDetection()
	many := make([]ds3d.Box3D, 0, 64)
	for len(many) < 64 {
		many = append(many, boxes...)
	}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = MarshalProto(buf[:0], h, many, nil)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestPayloadsDocExamples keeps docs/PAYLOADS.md's four example payloads
// equal (as values) to the golden files the encoders are tested against.
func TestPayloadsDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PAYLOADS.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]byte
	for rest := doc; ; {
		_, after, ok := bytes.Cut(rest, []byte("```json\n"))
		if !ok {
			break
		}
		block, after2, _ := bytes.Cut(after, []byte("```"))
		blocks, rest = append(blocks, block), after2
	}
	files := []string{"deepstream_full_test4.json", "deepstream_minimal.json", "detection3d_example.json", "analytics_example.json"}
	if len(blocks) != len(files) {
		t.Fatalf("docs/PAYLOADS.md has %d JSON examples, want %d", len(blocks), len(files))
	}
	for i, f := range files {
		want, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(blocks[i], &g); err != nil {
			t.Fatalf("docs example %d: %v", i+1, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("docs/PAYLOADS.md example %d differs from testdata/%s", i+1, f)
		}
	}
}
