package analytics

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

const pipeHead = `[pipeline]
name = "a"

[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "an"

[[component]]
name = "an"
type = "ds3d::datafilter"
impl = "analytics"
link_to = "sink"
[component.config]
min_track_age = 2
count_classes = ["person"]
`

const pipeTail = `
[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
`

// TestConfigErrors checks that a bad zone, line or class comes back as a
// file:line error naming the key, on the line that holds it.
func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, body, key string
		line            int
		msg             string
	}{
		{"self-crossing", "[[component.config.zone]]\nid = \"z\"\npolygon = [[0, 0], [10, 10], [10, 0], [0, 10]]\n",
			"zone[0].polygon", 20, "self-crossing"},
		{"zero-area", "[[component.config.zone]]\nid = \"z\"\npolygon = [[0, 0], [5, 5], [10, 10]]\n",
			"zone[0].polygon", 20, "zero area"},
		{"two points", "[[component.config.zone]]\nid = \"z\"\npolygon = [[0, 0], [5, 5]]\n",
			"zone[0].polygon", 20, "at least 3"},
		{"zero-length line", "[[component.config.line]]\nid = \"l\"\npoints = [[3, 4], [3, 4]]\n",
			"line[0].points", 20, "zero length"},
		{"unknown class", "[[component.config.zone]]\nid = \"z\"\npolygon = [[0, 0], [10, 0], [10, 10]]\nclasses = [\"persn\"]\n",
			"zone[0].classes", 21, `unknown class "persn"`},
		{"second line", "[[component.config.line]]\nid = \"a\"\npoints = [[0, 0], [1, 0]]\n[[component.config.line]]\nid = \"b\"\npoints = [[0, 0], [0, 0]]\n",
			"line[1].points", 23, "zero length"},
		{"duplicate id", "[[component.config.line]]\nid = \"a\"\npoints = [[0, 0], [1, 0]]\n[[component.config.zone]]\nid = \"a\"\npolygon = [[0, 0], [10, 0], [10, 10]]\n",
			"line[0].id", 19, `also zone[0].id`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse("an.toml", t.TempDir(), []byte(pipeHead+c.body+pipeTail))
			if err == nil {
				t.Fatal("no error")
			}
			want := "an.toml:" + strconv.Itoa(c.line) + ": "
			if s := err.Error(); !strings.Contains(s, want) || !strings.Contains(s, c.key) || !strings.Contains(s, c.msg) {
				t.Errorf("error %q, want %q, key %s and %q", s, want, c.key, c.msg)
			}
		})
	}
	// A good config parses and builds.
	good := pipeHead + "[[component.config.zone]]\nid = \"z\"\npolygon = [[0, 0], [10, 0], [10, 10]]\nclasses = [\"person\"]\n" +
		"[[component.config.line]]\nid = \"l\"\npoints = [[0, 0], [1, 0]]\n" + pipeTail
	p, err := config.Parse("an.toml", t.TempDir(), []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Components {
		if c.Name == "an" {
			cfg := c.Config.(*Config)
			if len(cfg.Zones) != 1 || len(cfg.Zones[0].Polygon) != 3 || cfg.Zones[0].Polygon[1] != [2]float64{10, 0} || cfg.MinTrackAge != 2 {
				t.Errorf("decoded %+v", cfg)
			}
		}
	}
}

// TestProcessBatch runs the registered component on stream_mux batches:
// each slot's objects under DS3D::Object2DBboxKey_N with its source from
// the batch metadata, results under DS3D::Analytics_N and all events under
// DS3D::AnalyticsEvents.
func TestProcessBatch(t *testing.T) {
	spec, ok := ds3d.Lookup("analytics")
	if !ok {
		t.Fatal("analytics not registered")
	}
	cfg := spec.NewConfig().(*Config)
	cfg.Lines = []LineConfig{{ID: "L", SourceID: -1, Points: [][2]float64{{100, 0}, {100, 200}}}}
	c, err := spec.Build(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := c.(*Filter)
	var evs []ds3d.AnalyticsEvent
	for i := range 4 {
		bm := &meta.BatchMeta{}
		m := ds3d.NewDataMap()
		for slot, src := range []int32{5, 9} {
			fm := bm.AddFrame()
			fm.SourceID, fm.FrameNum, fm.PTS = src, int64(i), int64(i+1)*40_000_000
			// Source 9's box moves the other way: one crossing each.
			x := 85 + 10*float64(i)
			if src == 9 {
				x = 115 - 10*float64(i)
			}
			m.Set(ds3d.KeyObject2DBbox.Sensor(slot), []ds3d.Object2D{box(1, "person", x, 50)})
		}
		m.Set(ds3d.KeyBatchMeta, bm)
		if err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for slot, src := range []int32{5, 9} {
			r, err := ds3d.Get[*ds3d.Analytics](m, ds3d.KeyAnalytics.Sensor(slot))
			if err != nil || r.SourceID != src || len(r.Objects) != 1 {
				t.Fatalf("slot %d: %v %+v", slot, err, r)
			}
		}
		e, err := ds3d.Get[*ds3d.AnalyticsEvents](m, ds3d.KeyAnalyticsEvents)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e.Events...)
		m.Release()
	}
	if len(evs) != 2 || evs[0].SourceID != 5 || evs[0].Direction != -1 || evs[1].SourceID != 9 || evs[1].Direction != 1 {
		t.Errorf("events %+v", evs)
	}
}
