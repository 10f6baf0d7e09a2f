package msgconv

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestAnalyticsJSON checks that analytics events encode to valid JSON
// (encoding/json reads them back) with the members each kind carries.
func TestAnalyticsJSON(t *testing.T) {
	cases := []ds3d.AnalyticsEvent{
		{Type: ds3d.EventLineCrossing, RuleID: "gate \"A\"", Rule: 3, Direction: -1, SourceID: 2, FrameNumber: 42,
			Timestamp: 1796687999123456789, TrackID: 7, ClassID: 0, Label: "person", Pos: [2]float64{12.5, -3.25},
			Speed: 1.5, Space: ds3d.SpaceGround, Object: ds3d.Object2D{Left: 100, Top: 200, Width: 40, Height: 90, Score: 0.5}},
		{Type: ds3d.EventZoneExit, RuleID: "z", TrackID: 9, Label: "Car", Speed: float32(math.NaN()), Dwell: 2.5,
			Box: ds3d.Box3D{CX: 1, CY: 2, CZ: 0.5, DX: 4, DY: 2, DZ: 1.5, Yaw: 0.25, VX: 3, VY: -1, Score: 0.75}},
		{Type: ds3d.EventOvercrowding, RuleID: "z", TrackID: -1, ClassID: -1, Count: 12, Speed: float32(math.NaN())},
	}
	for _, e := range cases {
		b := AppendAnalyticsJSON(nil, "cam0", &e)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if m["type"] != string(e.Type) || m["rule"] != e.RuleID || m["sensor_id"] != "cam0" || m["version"] != AnalyticsVersion {
			t.Errorf("%s: header members wrong", b)
		}
		switch e.Type {
		case ds3d.EventLineCrossing:
			if m["direction"] != -1.0 || m["speed"] != 1.5 || m["object"].(map[string]any)["bbox"].([]any)[3] != 90.0 {
				t.Errorf("%s: crossing members wrong", b)
			}
		case ds3d.EventZoneExit:
			box := m["box"].(map[string]any)
			if m["dwell"] != 2.5 || box["yaw"] != 0.25 || box["velocity"].([]any)[1] != -1.0 {
				t.Errorf("%s: exit members wrong", b)
			}
			if _, has := m["speed"]; has {
				t.Errorf("%s: NaN speed written", b)
			}
		case ds3d.EventOvercrowding:
			if m["count"] != 12.0 {
				t.Errorf("%s: count wrong", b)
			}
			if _, has := m["position"]; has {
				t.Errorf("%s: an overcrowding event has no position", b)
			}
		}
	}
}

// TestAnalyticsJSONAllocs checks that encoding into a buffer with room
// allocates nothing.
func TestAnalyticsJSONAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	e := ds3d.AnalyticsEvent{Type: ds3d.EventLineCrossing, RuleID: "gate", TrackID: 7, Label: "person", Speed: 1.5,
		Object: ds3d.Object2D{Left: 100, Top: 200, Width: 40, Height: 90, Score: 0.5}}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = AppendAnalyticsJSON(buf[:0], "cam0", &e) }); n != 0 {
		t.Errorf("%v allocations per event", n)
	}
}

// analyticsSchemaCases are one event of each type, 2D and 3D, with the
// values a reader checks.
func analyticsSchemaCases() map[string]ds3d.AnalyticsEvent {
	obj := ds3d.Object2D{Left: 100, Top: 200, Width: 40, Height: 90, Score: 0.5}
	box := ds3d.Box3D{CX: 1, CY: 2, CZ: 0.5, DX: 4, DY: 2, DZ: 1.5, Yaw: 0.25, VX: 3, VY: -1, Score: 0.75}
	nan := float32(math.NaN())
	return map[string]ds3d.AnalyticsEvent{
		"crossing": {Type: ds3d.EventLineCrossing, RuleID: "gate", Rule: 3, Direction: -1, SourceID: 2, FrameNumber: 42,
			Timestamp: 1796687999123456789, TrackID: 7, ClassID: 0, Label: "person", Pos: [2]float64{12.5, -3.25},
			Speed: 1.5, Space: ds3d.SpaceGround, Object: obj},
		"entry": {Type: ds3d.EventZoneEntry, RuleID: "z", Rule: 0, FrameNumber: 1, Timestamp: 5, TrackID: 1, ClassID: 2,
			Label: "car", Pos: [2]float64{640, 480}, Speed: nan, Space: ds3d.SpacePixels, Object: obj},
		"exit": {Type: ds3d.EventZoneExit, RuleID: "z", TrackID: 9, FrameNumber: -1, Label: "Car", Speed: nan, Dwell: 2.5,
			Space: ds3d.SpaceWorld, Box: box},
		"overcrowding": {Type: ds3d.EventOvercrowding, RuleID: "z", Rule: 63, TrackID: -1, ClassID: -1, Count: 12,
			Speed: nan, Space: ds3d.SpaceGround},
		"over_speed": {Type: ds3d.EventOverSpeed, RuleID: "z", Rule: 1, TrackID: 4, Label: "Car", Speed: 17.25,
			Space: ds3d.SpaceGround, Box: box},
		"wrong_way": {Type: ds3d.EventWrongWay, RuleID: "z", Rule: 1, TrackID: 5, Label: "Car", Speed: float32(math.Inf(1)),
			Space: ds3d.SpaceGround, Box: box},
	}
}

// TestAnalyticsJSONSchema validates AppendAnalyticsJSON's output with
// Python's jsonschema (Debian python3-jsonschema) against
// docs/schema/ds3d-analytics-1.0.schema.json, and again with a strict copy
// that forbids members the schema does not name; Python's json reads the
// values back. A document the schema must refuse (a crossing without
// direction) checks that the per-type rules hold.
func TestAnalyticsJSONSchema(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for name, e := range analyticsSchemaCases() {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, AppendAnalyticsJSON(nil, "cam0", &e), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
strict = json.loads(json.dumps(schema))
strict["additionalProperties"] = False
for k in ("object", "box"):
    strict["properties"][k]["additionalProperties"] = False
fmt = jsonschema.FormatChecker()
for s in (schema, strict):
    jsonschema.Draft202012Validator.check_schema(s)
for p in sys.argv[2:]:
    doc = json.load(open(p))
    for s in (schema, strict):
        jsonschema.Draft202012Validator(s, format_checker=fmt).validate(doc)
    print(p.rsplit("/", 1)[1], doc["type"], json.dumps(doc.get("position")), doc.get("direction"), doc.get("dwell"),
          doc.get("count"), json.dumps(doc.get("speed")), doc["space"], doc["timestamp"])
bad = json.load(open(sys.argv[2]))
bad["type"] = "line_crossing"
bad.pop("direction", None)
print("refused", not jsonschema.Draft202012Validator(schema).is_valid(bad))
`
	out := testenv.RunPython(t, []string{"jsonschema"}, append([]string{"-c", script, "../../docs/schema/ds3d-analytics-1.0.schema.json"}, files...)...)
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, rest, _ := strings.Cut(l, " ")
		got[name] = rest
	}
	want := map[string]string{
		"crossing.json":     "line_crossing [12.5, -3.25] -1 None None 1.5 ground 2026-12-07T23:59:59.123Z",
		"entry.json":        "entry [640, 480] None None None null pixels 1970-01-01T00:00:00.000Z",
		"exit.json":         "exit [0, 0] None 2.5 None null world 1970-01-01T00:00:00.000Z",
		"overcrowding.json": "overcrowding null None None 12 null ground 1970-01-01T00:00:00.000Z",
		"over_speed.json":   "over_speed [0, 0] None None None 17.25 ground 1970-01-01T00:00:00.000Z",
		"wrong_way.json":    "wrong_way [0, 0] None None None null ground 1970-01-01T00:00:00.000Z",
		"refused":           "True",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: python read %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("python printed %d lines, want %d:\n%s", len(got), len(want), out)
	}
}

// TestAnalyticsJSONExample encodes the event of docs/PAYLOADS.md's
// analytics example: the bytes of testdata/analytics_example.json, which
// TestPayloadsDocExamples keeps equal to the docs.
func TestAnalyticsJSONExample(t *testing.T) {
	e := ds3d.AnalyticsEvent{Type: ds3d.EventLineCrossing, RuleID: "gate", Rule: 3, Direction: 1, FrameNumber: 42,
		Timestamp: 1796687999123456789, TrackID: 7, Label: "person", Pos: [2]float64{12.5, -3.25}, Speed: 1.4,
		Space: ds3d.SpaceGround, Object: ds3d.Object2D{Left: 100, Top: 200, Width: 40, Height: 90, Score: 0.9}}
	want, err := os.ReadFile("testdata/analytics_example.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(AppendAnalyticsJSON(nil, "cam0", &e)) + "\n"; got != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
