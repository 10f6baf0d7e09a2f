// Tests of the traffic-analytics app: both configs run on the bundled data
// (few frames), their events parsed as the ds3d analytics 1.0 schema (and
// validated against docs/schema by Python's jsonschema) and checked against
// the configured geometry, and the BEV picture checked at
// a zone edge computed from the config.
package trafficanalytics_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/core2d/source"
	_ "github.com/ds3d-go/ds3d-go/core2d/track"
	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/filters/analytics"
	_ "github.com/ds3d-go/ds3d-go/filters/detect"
	_ "github.com/ds3d-go/ds3d-go/fusion/track3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/render/raster"
	"github.com/ds3d-go/ds3d-go/render/writer"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// event is the ds3d analytics 1.0 message (docs/ANALYTICS.md, "Events and
// payloads"), pointers where a member may be absent.
type event struct {
	Version     *string   `json:"version"`
	Type        *string   `json:"type"`
	SensorID    *string   `json:"sensor_id"`
	SourceID    *int      `json:"source_id"`
	FrameNumber *int64    `json:"frame_number"`
	Timestamp   *string   `json:"timestamp"`
	TimestampNS *int64    `json:"timestamp_ns"`
	Rule        *string   `json:"rule"`
	RuleIndex   *int      `json:"rule_index"`
	Direction   *int      `json:"direction"`
	Space       *string   `json:"space"`
	TrackID     *int64    `json:"track_id"`
	ClassID     *int      `json:"class_id"`
	Label       *string   `json:"label"`
	Position    []float64 `json:"position"`
	Speed       *float64  `json:"speed"`
	Dwell       *float64  `json:"dwell"`
	Count       *int      `json:"count"`
	Object      *struct {
		BBox  []float64 `json:"bbox"`
		Score float64   `json:"score"`
	} `json:"object"`
	Box json.RawMessage `json:"box"`
}

// rulesOf returns the config's zones and lines by id, in result order
// (zones, then lines, then directions: RulesConfig.Rules).
func rulesOf(rc *analytics.RulesConfig) []ds3d.AnalyticsRule { return rc.Rules() }

// readEvents parses every line of path as an event and checks the members
// every event has.
func readEvents(t *testing.T, path, space string, rules []ds3d.AnalyticsRule) []event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []event
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var e event
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s:%d: %v: %s", path, n, err, sc.Text())
		}
		switch {
		case e.Version == nil || *e.Version != "1.0":
			t.Fatalf("%s:%d: version %v, want 1.0", path, n, e.Version)
		case e.Type == nil || e.SensorID == nil || e.SourceID == nil || e.FrameNumber == nil || e.TimestampNS == nil ||
			e.Timestamp == nil || e.Rule == nil || e.RuleIndex == nil || e.Space == nil || e.TrackID == nil || e.ClassID == nil || e.Label == nil:
			t.Fatalf("%s:%d: a required member is missing: %s", path, n, sc.Text())
		case *e.Space != space:
			t.Fatalf("%s:%d: space %q, want %q", path, n, *e.Space, space)
		case *e.RuleIndex < 0 || *e.RuleIndex >= len(rules) || rules[*e.RuleIndex].ID != *e.Rule:
			t.Fatalf("%s:%d: rule %q index %d does not name a configured rule", path, n, *e.Rule, *e.RuleIndex)
		}
		if _, err := time.Parse(time.RFC3339Nano, *e.Timestamp); err != nil {
			t.Fatalf("%s:%d: timestamp: %v", path, n, err)
		}
		evs = append(evs, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

// checkSchema validates every line of path against
// docs/schema/ds3d-analytics-1.0.schema.json with Python's jsonschema (an
// independent validator) and returns how many lines it read.
func checkSchema(t *testing.T, path string) int {
	t.Helper()
	const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
n = 0
for line in open(sys.argv[2]):
    v.validate(json.loads(line))
    n += 1
print(n)
`
	out := testenv.RunPython(t, []string{"jsonschema"}, "-c", script, "../../docs/schema/ds3d-analytics-1.0.schema.json", path)
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("jsonschema check printed %q", out)
	}
	return n
}

// inside is an even-odd point-in-polygon test (border cases do not occur
// for the checks below: anchors are a margin away).
func inside(poly [][2]float64, x, y float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a[1] > y) != (b[1] > y) && x < (b[0]-a[0])*(y-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// TestVideoApp runs video.toml on the first 16 frames of the bundled clip
// and checks its events: at least one, each a known type; an entry's
// position inside its zone and an exit's outside; a crossing's position
// on the side of its line that its direction names (cross(B − A, P − A)
// > 0 for +1); every position the bottom centre of the event's box.
func TestVideoApp(t *testing.T) {
	testenv.SkipUnderRace(t, "YOLOX-Nano on 16 frames takes half a minute")
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg: the app writes H.264 through ffmpeg")
	p, err := config.Load("video.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	evPath := filepath.Join(dir, "events.jsonl")
	var rules []ds3d.AnalyticsRule
	for _, c := range p.Components {
		switch cfg := c.Config.(type) {
		case *source.Config:
			cfg.MaxFrames = 16
		case *osd.SinkConfig:
			cfg.Path = ds3d.Path(filepath.Join(dir, "video.mp4"))
		case *writer.JSONConfig:
			cfg.Path = ds3d.Path(evPath)
		case *analytics.Config:
			rules = rulesOf(&cfg.RulesConfig)
		}
	}
	run(t, p)
	evs := readEvents(t, evPath, "pixels", rules)
	if n := checkSchema(t, evPath); n != len(evs) {
		t.Errorf("jsonschema read %d lines, Go %d", n, len(evs))
	}
	if len(evs) == 0 {
		t.Fatal("no events in 16 frames of vtest (walkers enter the centre zone and cross main_50)")
	}
	for i, e := range evs {
		r := rules[*e.RuleIndex]
		if e.Object == nil || len(e.Object.BBox) != 4 || len(e.Position) != 2 {
			t.Fatalf("event %d: want an object bbox and a position: %+v", i, e)
		}
		b := e.Object.BBox
		if ax, ay := b[0]+b[2]/2, b[1]+b[3]; math.Abs(ax-e.Position[0]) > 1e-3 || math.Abs(ay-e.Position[1]) > 1e-3 {
			t.Errorf("event %d: position %v is not the bbox's bottom centre (%.3f, %.3f)", i, e.Position, ax, ay)
		}
		x, y := e.Position[0], e.Position[1]
		switch *e.Type {
		case "entry", "exit":
			if in := inside(r.Points, x, y); in != (*e.Type == "entry") {
				t.Errorf("event %d: %s of %s at (%.1f, %.1f): inside = %v", i, *e.Type, r.ID, x, y, in)
			}
		case "line_crossing":
			a, bb := r.Points[0], r.Points[1]
			side := (bb[0]-a[0])*(y-a[1]) - (bb[1]-a[1])*(x-a[0])
			if e.Direction == nil || (side > 0) != (*e.Direction > 0) {
				t.Errorf("event %d: crossing of %s ends at (%.1f, %.1f), side %.1f, direction %v", i, r.ID, x, y, side, e.Direction)
			}
		case "overcrowding", "over_speed", "wrong_way":
		default:
			t.Errorf("event %d: unknown type %q", i, *e.Type)
		}
	}
	types := map[string]int{}
	for _, e := range evs {
		types[*e.Type]++
	}
	if types["entry"] == 0 || types["line_crossing"] == 0 {
		t.Errorf("events by type %v: want entries and crossings (PETS09-S2L1's walkers cross the square)", types)
	}
	t.Logf("events by type: %v", types)
}

// TestLidarApp runs lidar.toml on the DAIR-V2X-C frame (3 frames) and
// checks the events (overcrowding of a carriageway zone: the frame's
// labels put four objects on the eastbound one, threshold 3) and the BEV:
// the pixel of the eastbound zone's edge y = −1 m at x = 50 m is
// u = (30 − (−1))/0.125 = 248, v = (110 − 50)/0.125 = 480 (package raster's
// BEV convention), drawn in the zone's colour or the overcrowded one.
func TestLidarApp(t *testing.T) {
	p, err := config.Load("lidar.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	evPath := filepath.Join(dir, "events.jsonl")
	var rules []ds3d.AnalyticsRule
	for _, c := range p.Components {
		switch cfg := c.Config.(type) {
		case *lidar.FileLoaderConfig:
			cfg.MaxFrames = 3
		case *raster.RenderConfig:
			cfg.OutputDir = ds3d.Path(dir)
		case *writer.JSONConfig:
			cfg.Path = ds3d.Path(evPath)
		case *analytics.Config3D:
			rules = rulesOf(&cfg.RulesConfig)
		}
	}
	run(t, p)
	evs := readEvents(t, evPath, "ground", rules)
	if n := checkSchema(t, evPath); n != len(evs) {
		t.Errorf("jsonschema read %d lines, Go %d", n, len(evs))
	}
	crowded := map[string]bool{}
	for i, e := range evs {
		if *e.Type != "overcrowding" {
			continue
		}
		if e.Count == nil || *e.Count < rules[*e.RuleIndex].Overcrowding || *e.TrackID != -1 {
			t.Errorf("event %d: overcrowding of %s with count %v, track %d", i, *e.Rule, e.Count, *e.TrackID)
		}
		crowded[*e.Rule] = true
	}
	if !crowded["eastbound"] {
		t.Errorf("no overcrowding event for the eastbound zone in %d events", len(evs))
	}
	f, err := os.Open(filepath.Join(dir, "frame_000002.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := img.At(248, 480).RGBA()
	got := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
	z, o := osd.ZoneColor, osd.OvercrowdedColor
	if got != [3]uint8{z.R, z.G, z.B} && got != [3]uint8{o.R, o.G, o.B} {
		t.Errorf("BEV (248,480) = %v, want the zone's edge", got)
	}
}

func run(t *testing.T, p *config.Pipeline) {
	t.Helper()
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := g.Run(ctx); err != nil {
		t.Fatal(err)
	}
}
