package writer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	_ "github.com/ds3d-go/ds3d-go/filters/analytics" // the analytics filter makes the events
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// TestJSONAnalyticsEvents runs the analytics filter on a box walking right
// across a line and through a zone, and json_box_writer with events_key on
// its output: one line per event, in the order they happened, each valid
// under docs/schema/ds3d-analytics-1.0.schema.json (Python's jsonschema,
// strictly too) and byte for byte msgconv.AppendAnalyticsJSON of the
// event with the source's sensor id from the metadata file. The expected
// events follow from the geometry alone: the anchor (bottom centre) moves
// 40 px a frame from x = 510, so it passes the line x = 600 (drawn down
// the image, its positive side x < 600 by the cross product) between frames
// 2 and 3, ending on the negative side; it enters the zone 800 ≤ x ≤ 1000
// at frame 8 (x = 830) and leaves it at frame 13 (x = 1030), 5 frames of
// 0.1 s later.
func TestJSONAnalyticsEvents(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "events.jsonl")
	meta := filepath.Join(dir, "meta.toml")
	if err := os.WriteFile(meta, []byte("[sensor.2]\nid = \"cam_gate\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "an"
[[component]]
name = "an"
type = "ds3d::datafilter"
impl = "analytics"
link_to = "w"
[component.config]
[[component.config.zone]]
id = "bay"
source_id = -1
polygon = [[800, 0], [1000, 0], [1000, 1000], [800, 1000]]
[[component.config.line]]
id = "gate"
source_id = -1
points = [[600, 100], [600, 900]]
[[component]]
name = "w"
type = "ds3d::datarender"
impl = "json_box_writer"
[component.config]
path = %q
events_key = "DS3D::AnalyticsEvents"
metadata_file = %q
`, out, meta)
	p, err := config.Parse("an.toml", dir, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var parts []any
	for _, c := range p.Components[1:] {
		v, err := c.Spec.Build(c.Config, &ds3d.Env{Name: c.Name})
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := v.(ds3d.Starter); ok {
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		parts = append(parts, v)
	}
	an, w := parts[0].(ds3d.Filter), parts[1]
	var events []ds3d.AnalyticsEvent // as the filter made them, copied
	for i := range 16 {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		m.SetInt64(ds3d.KeySourceID, 2)
		m.SetTimestamp(1796687999000000000 + int64(i)*100_000_000)
		m.Set(ds3d.KeyObject2DBbox, []ds3d.Object2D{{Left: float32(490 + 40*i), Top: 400, Width: 40, Height: 100,
			Label: "person", Score: 0.8, TrackID: 7}})
		if err := an.Process(context.Background(), m, func(m *ds3d.DataMap) error {
			ev, err := ds3d.Get[*ds3d.AnalyticsEvents](m, ds3d.KeyAnalyticsEvents)
			if err != nil {
				return err
			}
			events = append(events, ev.Events...)
			render(t, w, m)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
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
	if len(lines) != len(events) {
		t.Fatalf("%d lines for %d events:\n%s", len(lines), len(events), data)
	}
	for i := range events {
		if want := string(msgconv.AppendAnalyticsJSON(nil, "cam_gate", &events[i])); lines[i] != want {
			t.Errorf("line %d:\n%s\nbroker payload:\n%s", i, lines[i], want)
		}
	}
	const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
strict = json.loads(json.dumps(schema))
strict["additionalProperties"] = False
for k in ("object", "box"):
    strict["properties"][k]["additionalProperties"] = False
fmt = jsonschema.FormatChecker()
for line in open(sys.argv[2]):
    doc = json.loads(line)
    for s in (schema, strict):
        jsonschema.Draft202012Validator(s, format_checker=fmt).validate(doc)
    print(doc["type"], doc["rule"], doc.get("direction"), doc["frame_number"], doc["track_id"], doc["sensor_id"],
          doc["source_id"], doc.get("dwell"), doc["position"][0], doc["label"])
`
	got := testenv.RunPython(t, []string{"jsonschema"}, "-c", script, "../../docs/schema/ds3d-analytics-1.0.schema.json", out)
	want := "line_crossing gate -1 3 7 cam_gate 2 None 630 person\n" +
		"entry bay None 8 7 cam_gate 2 None 830 person\n" +
		"exit bay None 13 7 cam_gate 2 0.5 1030 person\n"
	if string(got) != want {
		t.Errorf("python read\n%s\nwant\n%s", got, want)
	}
}
