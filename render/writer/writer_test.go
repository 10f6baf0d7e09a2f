package writer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/ds3d-go/ds3d-go/core2d/osd" // object_file_sink
	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin" // test_source feeds the writers
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/fusion/eval"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/render/writer"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// build makes a registered component from a TOML config body.
func build(t *testing.T, impl, body string, env *ds3d.Env) any {
	t.Helper()
	doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"test_source\"\nlink_to = \"w\"\n" +
		"[[component]]\nname = \"w\"\ntype = \"ds3d::datarender\"\nimpl = \"" + impl + "\"\n[component.config]\n" + body + "\n"
	p, err := config.Parse("test.toml", t.TempDir(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Components[1]
	if env == nil {
		env = &ds3d.Env{Name: "w"}
	}
	v, err := c.Spec.Build(c.Config, env)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := v.(ds3d.Starter); ok {
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func render(t *testing.T, r any, m *ds3d.DataMap) {
	t.Helper()
	if err := r.(ds3d.Render).Render(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// TestKITTILabelRoundTrip: label_2 → Box3D (datasets/kitti, lidar frame) →
// kitti_label_writer → label_2 again. Sizes and positions come back within
// 1e-3; rotation_y within 1e-3 too, though not exactly: Box3D is upright in
// the lidar frame and KITTI boxes in the rectified camera frame (≈0.6°
// apart), so the heading loses its small component along the camera's y
// axis on the way in (see KITTIConverter.Convert).
func TestKITTILabelRoundTrip(t *testing.T) {
	type set struct {
		root string
		ids  []string
	}
	sets := []set{{filepath.Dir(filepath.Dir(sampledata.Sample(t, "kitti/calib/000000.txt"))), []string{"000000"}}}
	if testenv.CI() || dirExists(filepath.Join(sampledata.SharedDir(t), "kitti-object/training")) {
		sets = append(sets, set{sampledata.Shared(t, "kitti-object/training"), []string{"000000", "000001", "000002", "000003", "000004"}})
	} else {
		t.Log("shared KITTI training set absent: round trip on the bundled 000000 only")
	}
	var worst [7]float64
	names := [7]string{"h", "w", "l", "x", "y", "z", "ry"}
	objects := 0
	for _, s := range sets {
		ds, err := kitti.Open(s.root)
		if err != nil {
			t.Fatal(err)
		}
		for fi, id := range s.ids {
			fr, err := ds.Frame(id)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			w := build(t, "kitti_label_writer", fmt.Sprintf("output_dir = %q\ncalib_file = %q\nscore_column = \"never\"\nimage_width = 1242\nimage_height = 375", out, fr.CalibPath), nil)
			m := ds3d.NewDataMap()
			m.Set(ds3d.KeyLidar3DBboxRawData, fr.Boxes())
			m.SetInt64(ds3d.KeyFrameNumber, int64(fi+7))
			render(t, w, m)
			m.Release()
			back, err := kitti.ReadLabels(filepath.Join(out, fmt.Sprintf("%06d.txt", fi+7)))
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != len(fr.Objects) {
				t.Fatalf("%s: %d rows back, want %d", id, len(back), len(fr.Objects))
			}
			for i, o := range fr.Objects {
				b := back[i]
				if b.Type != o.Type {
					t.Errorf("%s row %d: type %q, want %q", id, i, b.Type, o.Type)
				}
				got := [7]float64{b.H, b.W, b.L, b.X, b.Y, b.Z, b.RotY}
				want := [7]float64{o.H, o.W, o.L, o.X, o.Y, o.Z, o.RotY}
				for k := range got {
					d := math.Abs(got[k] - want[k])
					if k == 6 {
						d = math.Abs(math.Remainder(got[k]-want[k], 2*math.Pi))
					}
					worst[k] = max(worst[k], d)
					if d > 1e-4 { // 4 decimals written; the tilt is carried, so nothing else is lost
						t.Errorf("%s row %d (%s): %s = %.5f, want %.5f", id, i, o.Type, names[k], got[k], want[k])
					}
				}
				// The projected 2D box is close to the annotated one (KITTI's
				// 2D boxes are drawn by hand, so only roughly).
				if math.Abs(float64(b.BBox.Left-o.BBox.Left)) > 40 || math.Abs(float64(b.BBox.Top-o.BBox.Top)) > 40 {
					t.Errorf("%s row %d: 2D box %+v, label %+v", id, i, b.BBox, o.BBox)
				}
				if math.Abs(math.Remainder(b.Alpha-o.Alpha, 2*math.Pi)) > 0.02 {
					t.Errorf("%s row %d: alpha %.3f, want %.3f", id, i, b.Alpha, o.Alpha)
				}
				objects++
			}
		}
	}
	t.Logf("%d objects; largest differences: h %.1e w %.1e l %.1e x %.1e y %.1e z %.1e ry %.1e",
		objects, worst[0], worst[1], worst[2], worst[3], worst[4], worst[5], worst[6])
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func TestKITTIScoreColumn(t *testing.T) {
	calibPath := sampledata.Sample(t, "kitti/calib/000000.txt")
	out := t.TempDir()
	w := build(t, "kitti_label_writer", fmt.Sprintf("output_dir = %q\ncalib_file = %q", out, calibPath), nil)
	m := ds3d.NewDataMap()
	m.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{
		{CX: 10, CY: 1, CZ: -1, DX: 4, DY: 2, DZ: 1.5, ClassID: 0, Score: 0.75, TrackID: -1},
		{CX: 20, CY: -3, CZ: -1, DX: 4, DY: 2, DZ: 1.5, ClassID: 5, Label: "my class", TrackID: -1},
		{CX: float32(math.NaN()), DX: 1, DY: 1, DZ: 1},
	})
	render(t, w, m)
	m.Release()
	data, _ := os.ReadFile(filepath.Join(out, "000000.txt"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%q", data)
	}
	f0, f1 := strings.Fields(lines[0]), strings.Fields(lines[1])
	if len(f0) != 16 || f0[0] != "Car" || f0[15] != "0.7500" || len(f1) != 15 || f1[0] != "my_class" {
		t.Errorf("lines:\n%s", data)
	}
	labels, err := kitti.ParseLabels(strings.NewReader(string(data)), "out")
	if err != nil || labels[0].Score != 0.75 {
		t.Fatalf("%v %+v", err, labels)
	}
	// Yaw 0 (heading +x lidar = forward) is rotation_y ≈ −π/2 in KITTI.
	if math.Abs(labels[0].RotY+math.Pi/2) > 0.02 {
		t.Errorf("rotation_y %v, want about −π/2", labels[0].RotY)
	}
}

// jsonBoxes are the boxes the JSON tests write: an ordinary tracked box,
// one with values JSON cannot hold and a label that needs escaping.
func jsonBoxes() []ds3d.Box3D {
	return []ds3d.Box3D{
		{CX: 1.5, CY: -2.25, CZ: 0.1, DX: 4.2, DY: 1.8, DZ: 1.6, Yaw: 0.3, ClassID: 0, Label: "Car \"quoted\"\n", Score: 0.9, TrackID: 12, VX: 3},
		{CX: 7, CY: 8, CZ: -1, DX: 0.8, DY: 0.6, DZ: 1.7, Yaw: float32(math.NaN()), ClassID: -1, Label: "bad\xff", Score: float32(math.Inf(1)), TrackID: -1, VX: float32(math.NaN())},
	}
}

// writeJSONBoxes runs json_box_writer (body: its config) over three
// datamaps of source 4: frame 0 with one box, frame 1 without the boxes
// key, frame 2 with both boxes; it returns the file's lines.
func writeJSONBoxes(t *testing.T, body string) (string, []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "sub", "boxes.jsonl")
	w := build(t, "json_box_writer", fmt.Sprintf("path = %q\n%s", out, body), nil)
	boxes := jsonBoxes()
	for i := 0; i < 3; i++ {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		m.SetTimestamp(1796687999123456789 + int64(i)*100_000_000)
		m.SetInt64(ds3d.KeySourceID, 4)
		if i != 1 {
			m.Set(ds3d.KeyLidar3DBboxRawData, boxes[:i/2+1])
		}
		render(t, w, m)
		m.Release()
	}
	if err := w.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestJSONLines decodes json_box_writer's lines with encoding/json into the
// members docs/schema/ds3d-detection3d-1.0.schema.json names, refusing any
// other: every value as written, NaN and ±Inf as null, invalid UTF-8 as
// U+FFFD, an empty frame as "objects":[].
func TestJSONLines(t *testing.T) {
	_, text := writeJSONBoxes(t, "")
	type jbox struct {
		TrackID  int64      `json:"track_id"`
		ClassID  int32      `json:"class_id"`
		Label    string     `json:"label"`
		Score    *float32   `json:"score"`
		Center   []*float32 `json:"center"`
		Size     []*float32 `json:"size"`
		Yaw      *float32   `json:"yaw"`
		Velocity []*float32 `json:"velocity"`
	}
	type jline struct {
		Version     string `json:"version"`
		SensorID    string `json:"sensor_id"`
		SourceID    int32  `json:"source_id"`
		FrameNumber int64  `json:"frame_number"`
		FrameID     string `json:"frame_id"`
		Timestamp   string `json:"timestamp"`
		TimestampNs int64  `json:"timestamp_ns"`
		Objects     []jbox `json:"objects"`
	}
	var lines []jline
	for _, l := range text {
		var v jline
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, v)
	}
	if len(lines) != 3 || lines[1].Objects == nil || len(lines[1].Objects) != 0 || len(lines[2].Objects) != 2 {
		t.Fatalf("%+v", lines)
	}
	h := lines[2]
	if h.Version != "1.0" || h.SensorID != "4" || h.SourceID != 4 || h.FrameNumber != 2 || h.FrameID != "lidar" ||
		h.Timestamp != "2026-12-07T23:59:59.323Z" || h.TimestampNs != 1796687999323456789 {
		t.Errorf("header %+v", h)
	}
	b := lines[0].Objects[0]
	if *b.Center[0] != 1.5 || *b.Center[1] != -2.25 || *b.Center[2] != 0.1 || *b.Size[0] != 4.2 || *b.Yaw != 0.3 ||
		b.Label != "Car \"quoted\"\n" || *b.Score != 0.9 || b.TrackID != 12 || *b.Velocity[0] != 3 || *b.Velocity[1] != 0 {
		t.Errorf("box back %+v", b)
	}
	if bad := lines[2].Objects[1]; bad.Yaw != nil || bad.Score != nil || bad.Velocity[0] != nil || *bad.Center[0] != 7 ||
		bad.Label != "bad\ufffd" || bad.ClassID != -1 || bad.TrackID != -1 {
		t.Errorf("NaN box back %+v", bad)
	}
}

// TestJSONSchemaAndRoundTrip validates json_box_writer's lines against
// docs/schema's JSON Schema with Python's jsonschema (Debian
// python3-jsonschema), strictly too (no member the schema does not name),
// and reads the file back with fusion/eval's ReadBoxFile, the reader of
// `ds3d eval`: every box comes back exactly, non-finite values as NaN.
func TestJSONSchemaAndRoundTrip(t *testing.T) {
	out, _ := writeJSONBoxes(t, `frame_id = "velodyne"`)
	const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
strict = json.loads(json.dumps(schema))
strict["additionalProperties"] = False
strict["$defs"]["object"]["additionalProperties"] = False
fmt = jsonschema.FormatChecker()
n = 0
for line in open(sys.argv[2]):
    doc = json.loads(line)
    for s in (schema, strict):
        jsonschema.Draft202012Validator(s, format_checker=fmt).validate(doc)
    n += 1
print(n)
`
	got := testenv.RunPython(t, []string{"jsonschema"}, "-c", script, "../../docs/schema/ds3d-detection3d-1.0.schema.json", out)
	if strings.TrimSpace(string(got)) != "3" {
		t.Fatalf("python validated %q lines, want 3", got)
	}
	fs, err := eval.ReadBoxFile(out)
	if err != nil {
		t.Fatal(err)
	}
	boxes := jsonBoxes()
	want := [][]ds3d.Box3D{boxes[:1], {}, boxes}
	if len(fs) != 3 {
		t.Fatalf("%d frames back", len(fs))
	}
	for i, f := range fs {
		if f.Frame != int64(i) || f.SourceID != 4 || f.SensorID != "4" || f.FrameID != "velodyne" ||
			f.TimestampNS != 1796687999123456789+int64(i)*100_000_000 || len(f.Boxes) != len(want[i]) || f.World != nil {
			t.Errorf("frame %d: %+v", i, f)
			continue
		}
		for k, b := range f.Boxes {
			w := want[i][k]
			if w.Label == "bad\xff" {
				w.Label = "bad\ufffd"
			}
			if !sameBox(b, w) {
				t.Errorf("frame %d box %d: %+v, want %+v", i, k, b, w)
			}
		}
	}
}

// sameBox compares boxes with NaN equal to NaN and +Inf read back as NaN
// (JSON's null).
func sameBox(a, b ds3d.Box3D) bool {
	eq := func(x, y float32) bool {
		if math.IsNaN(float64(y)) || math.IsInf(float64(y), 0) {
			return math.IsNaN(float64(x))
		}
		return x == y
	}
	return eq(a.CX, b.CX) && eq(a.CY, b.CY) && eq(a.CZ, b.CZ) && eq(a.DX, b.DX) && eq(a.DY, b.DY) && eq(a.DZ, b.DZ) &&
		eq(a.Yaw, b.Yaw) && eq(a.Score, b.Score) && eq(a.VX, b.VX) && eq(a.VY, b.VY) &&
		a.ClassID == b.ClassID && a.Label == b.Label && a.TrackID == b.TrackID
}

// TestJSONLineIsBrokerPayload: each line of json_box_writer is the
// detection3d JSON payload msgbroker sends for the same datamap
// (schema = "ds3d_json", message_per = "frame"): a Header of the datamap's
// sensor (metadata file), source, frame number, frame_id and time, encoded
// by msgconv.EncodeJSON, as render/msgbroker's Render builds it.
func TestJSONLineIsBrokerPayload(t *testing.T) {
	meta := filepath.Join(t.TempDir(), "meta.toml")
	if err := os.WriteFile(meta, []byte("[sensor.4]\nid = \"lidar_top\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, lines := writeJSONBoxes(t, fmt.Sprintf("frame_id = \"base_link\"\nmetadata_file = %q", meta))
	boxes := jsonBoxes()
	for i, l := range lines {
		h := msgconv.Header{SensorID: "lidar_top", SourceID: 4, FrameNumber: int64(i), FrameID: "base_link", Timestamp: 1796687999123456789 + int64(i)*100_000_000}
		var b []ds3d.Box3D
		if i != 1 {
			b = boxes[:i/2+1]
		}
		if want := string(msgconv.EncodeJSON(nil, &h, b, nil)); l != want {
			t.Errorf("line %d:\n%s\nbroker payload:\n%s", i, l, want)
		}
		d, err := msgconv.DecodeJSON([]byte(l))
		if err != nil || d.SensorID != "lidar_top" || d.FrameID != "base_link" || len(d.Boxes) != len(b) {
			t.Errorf("line %d: msgconv.DecodeJSON: %v %+v", i, err, d)
		}
	}
}

// TestJSONUnknownMetadataAndDefaults: a metadata file must exist; a datamap
// without frame number or source id writes −1 for both and sensor "0", as
// msgbroker does.
func TestJSONUnknownMetadataAndDefaults(t *testing.T) {
	doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"test_source\"\nlink_to = \"w\"\n" +
		"[[component]]\nname = \"w\"\ntype = \"ds3d::datarender\"\nimpl = \"json_box_writer\"\n[component.config]\npath = \"b.jsonl\"\nmetadata_file = \"missing.toml\"\n"
	if _, err := config.Parse("t.toml", t.TempDir(), []byte(doc)); err == nil || !strings.Contains(err.Error(), "metadata_file") {
		t.Errorf("missing metadata file: %v", err)
	}
	out := filepath.Join(t.TempDir(), "b.jsonl")
	w := build(t, "json_box_writer", fmt.Sprintf("path = %q", out), nil)
	m := ds3d.NewDataMap()
	m.SetTimestamp(5)
	m.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{})
	render(t, w, m)
	m.Release()
	if err := w.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	const want = `{"version":"1.0","sensor_id":"0","source_id":-1,"frame_number":-1,"frame_id":"lidar","timestamp":"1970-01-01T00:00:00.000Z","timestamp_ns":5,"objects":[]}` + "\n"
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestObjectFileIsBrokerPayload: each JSON line of object_file_sink
// (core2d/osd, which may not import sensors/msgconv and so encodes the
// minimal schema itself) is the payload msgbroker sends with schema =
// "deepstream_minimal" for the same datamap: msgconv.AppendMinimal of the
// frame's events built as render/msgbroker's Render builds them; the
// empty frame reads back through msgconv.DecodeMinimal.
func TestObjectFileIsBrokerPayload(t *testing.T) {
	out := filepath.Join(t.TempDir(), "objects.jsonl")
	w := build(t, "object_file_sink", fmt.Sprintf("json_path = %q", out), nil)
	frames := [][]ds3d.Object2D{
		{{Left: 100.5, Top: 40, Width: 79.75, Height: 160, Label: "pedestrian", Score: 0.9, TrackID: 3},
			{Left: 1234.5678, Top: 1.0 / 3, Width: 10, Height: 1e7, ClassID: 2, Label: "Truck", Score: 0.5, TrackID: -1},
			{Left: -1, Top: 2, Width: 3, Height: float32(math.Inf(1)), ClassID: 7, Label: "dog \"x\"\n\xff", TrackID: 8}},
		{},
		{{Left: float32(math.NaN()), Top: 2, Width: 3, Height: 4, Label: "face", TrackID: 5}},
	}
	ts := func(i int) int64 { return 1796687999123456789 + int64(i)*40_000_000 }
	for i, objs := range frames {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(i+10))
		m.SetInt64(ds3d.KeySourceID, 3)
		m.SetTimestamp(ts(i))
		m.Set(ds3d.KeyObject2DBbox, objs)
		render(t, w, m)
		m.Release()
	}
	if err := w.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("%d lines, want %d", len(lines), len(frames))
	}
	meta := msgconv.Metadata(nil).For(3)
	var enc msgconv.Encoder
	for i, objs := range frames {
		if len(objs) == 0 {
			ev, err := msgconv.DecodeMinimal([]byte(lines[i]))
			if err != nil || len(ev) != 0 || !strings.Contains(lines[i], `"id":11,`) || !strings.Contains(lines[i], `"sensorId":"3"`) ||
				!strings.Contains(lines[i], `"@timestamp":"2026-12-07T23:59:59.163Z"`) {
				t.Errorf("empty frame %s: %v %v", lines[i], err, ev)
			}
			continue
		}
		var ev []msgconv.Event2D
		for _, o := range objs {
			ev = append(ev, msgconv.Event2D{Timestamp: ts(i), FrameNumber: int64(i + 10), Meta: meta, Event: msgconv.EventMoving,
				Object: o, Kind: msgconv.KindOfLabel(o.Label)})
		}
		if want := string(enc.AppendMinimal(nil, ev)); lines[i] != want {
			t.Errorf("frame %d:\n%s\nbroker payload:\n%s", i, lines[i], want)
		}
	}
}

func TestPointCloudRoundTrip(t *testing.T) {
	src, err := lidar.ReadFile(sampledata.Sample(t, "kitti/velodyne/000000.bin"), lidar.ReadOptions{ElementSize: 4, ElementStride: 4})
	if err != nil {
		t.Fatal(err)
	}
	in := ds3d.AsFloat32(src.Points)
	for _, tc := range []struct{ file, enc string }{
		{"%06d.pcd", "ascii"}, {"%06d.pcd", "binary"}, {"%06d.pcd", "binary_compressed"}, {"f%03d.pcd", ""},
		{"%06d.ply", "ascii"}, {"%06d.ply", ""}, {"%06d.bin", ""},
	} {
		t.Run(tc.file+"-"+tc.enc, func(t *testing.T) {
			out := t.TempDir()
			w := build(t, "pointcloud_writer", fmt.Sprintf("output_dir = %q\nfilename = %q\nencoding = %q", out, tc.file, tc.enc), nil)
			m := ds3d.NewDataMap()
			m.SetFrame(ds3d.KeyLidarXYZI, src.Points)
			m.SetInt64(ds3d.KeyFrameNumber, 3)
			render(t, w, m)
			m.Release()
			back, err := lidar.ReadFile(filepath.Join(out, fmt.Sprintf(tc.file, 3)), lidar.ReadOptions{ElementSize: 4, ElementStride: 4, IntensityField: "intensity"})
			if err != nil {
				t.Fatal(err)
			}
			got := ds3d.AsFloat32(back.Points)
			if len(got) != len(in) {
				t.Fatalf("%d floats back, want %d", len(got), len(in))
			}
			for i := range in {
				if got[i] != in[i] {
					t.Fatalf("float %d: %v, want %v", i, got[i], in[i])
				}
			}
		})
	}
}

// TestWritersConfigAndMissingKeys: bad configs name their key; a datamap
// without the writer's key warns once.
func TestWritersConfigAndMissingKeys(t *testing.T) {
	for _, tc := range []struct{ impl, body, key string }{
		{"kitti_label_writer", `output_dir = ""` + "\ncalib_file = \"c.txt\"", "output_dir"},
		{"kitti_label_writer", `output_dir = "o"` + "\ncalib_file = \"c.txt\"\nscore_column = \"maybe\"", "score_column"},
		{"kitti_label_writer", `output_dir = "o"` + "\ncalib_file = \".\"\nfilename = \"x.txt\"", "filename"}, // "." exists: the test's folder
		{"kitti_label_writer", `output_dir = "o"` + "\ncalib_file = \"c.txt\"", "calib_file"},                 // does not exist
		{"kitti_label_writer", `output_dir = "o"`, "calib_file"},
		{"json_box_writer", `path = ""`, "path"},
		{"pointcloud_writer", `output_dir = "o"` + "\nfilename = \"%d.las\"", "filename"},
		{"pointcloud_writer", `output_dir = "o"` + "\nfilename = \"%d.ply\"\nencoding = \"binary_compressed\"", "encoding"},
		{"pointcloud_writer", `output_dir = ""`, "output_dir"},
	} {
		doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"test_source\"\nlink_to = \"w\"\n" +
			"[[component]]\nname = \"w\"\ntype = \"ds3d::datarender\"\nimpl = \"" + tc.impl + "\"\n[component.config]\n" + tc.body + "\n"
		if _, err := config.Parse("t.toml", t.TempDir(), []byte(doc)); err == nil || !strings.Contains(err.Error(), `config.`+tc.key+`"`) {
			t.Errorf("%s %s: %v, want an error on %s", tc.impl, tc.body, err, tc.key)
		}
	}
	var warns int
	env := &ds3d.Env{Name: "w", Log: slog.New(warnCounter{&warns})}
	out := t.TempDir()
	ws := []any{
		build(t, "kitti_label_writer", fmt.Sprintf("output_dir = %q\ncalib_file = %q", out, sampledata.Sample(t, "kitti/calib/000000.txt")), env),
		build(t, "json_box_writer", fmt.Sprintf("path = %q", filepath.Join(out, "b.jsonl")), env),
		build(t, "pointcloud_writer", fmt.Sprintf("output_dir = %q", out), env),
	}
	for i := 0; i < 3; i++ {
		for _, w := range ws {
			m := ds3d.NewDataMap()
			render(t, w, m)
			m.Release()
		}
	}
	if warns != 3 {
		t.Errorf("%d warnings, want one per writer", warns)
	}
}

type warnCounter struct{ n *int }

func (w warnCounter) Enabled(context.Context, slog.Level) bool { return true }
func (w warnCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		*w.n++
	}
	return nil
}
func (w warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w warnCounter) WithGroup(string) slog.Handler      { return w }
