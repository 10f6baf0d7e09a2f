package msgconv

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

func TestParseMetadata(t *testing.T) {
	md, err := LoadMetadata("testdata/metadata_test4.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := SensorMeta{
		Sensor: Sensor{ID: "CAMERA_ID", Type: "Camera", Description: `"Entrance of Garage Right Lane"`,
			Location: Location{45.293701447, -75.8303914499, 48.1557479338}, Coordinate: Coordinate{5.2, 10.1, 11.2}},
		Place: Place{ID: "1", Name: "XYZ", Type: "garage", Location: Location{30.32, -40.55, 100},
			Coordinate: Coordinate{1, 2, 3}, SubFields: [3]string{"walsh", "lane1", "P2"}},
		Analytics: Analytics{ID: "XYZ", Description: `"Vehicle Detection and License Plate Recognition"`, Source: "OpenALR", Version: "1.0"},
	}
	if len(md) != 1 || *md[0] != want {
		t.Fatalf("got %+v", md[0])
	}
	if d := md.For(3); d.Sensor.ID != "3" {
		t.Errorf("source without an entry: sensor id %q, want \"3\"", d.Sensor.ID)
	}
}

func TestParseMetadataErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"unknown key", "[sensor.0]\nid = \"a\"\n\n[sensor.0.place]\nnmae = \"x\"\n", "x.toml: line 5: unknown key \"sensor.0.place.nmae\""},
		{"unknown table", "[sensors.0]\nid = \"a\"\n", "line 1: unknown key"},
		{"bad id", "[sensor.0]\nid = \"a\"\n[sensor.cam]\nid = \"b\"\n", "line 3: [sensor.cam]: the table name must be a source id"},
		{"negative id", "[sensor.-1]\nid = \"b\"\n", "line 1: [sensor.-1]"},
		{"short location", "[sensor.2]\nlocation = [1.0, 2.0]\n", "line 1: [sensor.2]: location: 2 numbers, want 3 (lat, lon, alt)"},
		{"place coordinate", "[sensor.2]\n[sensor.2.place]\ncoordinate = [1.0]\n", "line 2: [sensor.2.place]: coordinate: 1 numbers"},
		{"sub fields", "[sensor.2.place]\nsub_fields = [\"a\",\"b\",\"c\",\"d\"]\n", "[sensor.2.place]: sub_fields: 4 values"},
		{"type", "[sensor.0]\nid = 5\n", "line 2:"},
		{"syntax", "[sensor.0\n", "line 1:"},
	} {
		_, err := ParseMetadata("x.toml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestOptions(t *testing.T) {
	d := DefaultOptions()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Schema: "kafka", FrameInterval: 1, Per: PerFrame}, `schema "kafka"`},
		{Options{Schema: SchemaDetection3DJSON, FrameInterval: 0, Per: PerFrame}, "frame_interval 0"},
		{Options{Schema: SchemaDetection3DJSON, FrameInterval: 1, Per: "batch"}, `message_per "batch"`},
		{Options{Schema: SchemaDeepStream, FrameInterval: 1, Per: PerFrame}, "one object per message"},
		{Options{Schema: SchemaDeepStreamMinimal, FrameInterval: 1, Per: PerObject}, "one frame per message"},
		{Options{Schema: SchemaDeepStream, FrameInterval: 5, Per: PerObject}, ""},
		{Options{Schema: SchemaDetection3DProto, FrameInterval: 2, Per: PerObject}, ""},
	} {
		err := c.o.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
	o := Options{Schema: SchemaDetection3DJSON, FrameInterval: 3, Per: PerFrame}
	var sent []int64
	for n := int64(-1); n < 10; n++ {
		if o.Due(n) {
			sent = append(sent, n)
		}
	}
	if got := fmt.Sprint(sent); got != "[-1 0 3 6 9]" {
		t.Errorf("frame_interval 3 sends frames %s, want [-1 0 3 6 9]", got)
	}
}

// TestOptionsSpecTags has ds3d's config rules read Options' tags, as they
// will when a sink embeds it.
func TestOptionsSpecTags(t *testing.T) {
	if len(ds3d.FieldsOf(reflect.TypeFor[Options]())) != 4 {
		t.Fatalf("fields %+v", ds3d.FieldsOf(reflect.TypeFor[Options]()))
	}
	d := DefaultOptions()
	if errs := ds3d.CheckRules(&d, false); len(errs) != 0 {
		t.Fatalf("defaults break the rules: %v", errs)
	}
	bad := Options{Schema: "avro", FrameInterval: 0, Per: "batch"}
	if errs := ds3d.CheckRules(&bad, false); len(errs) != 3 {
		t.Fatalf("%d rule errors for three bad keys: %v", len(errs), errs)
	}
}

func TestBatches(t *testing.T) {
	for _, c := range []struct {
		per  Per
		n    int
		want string
	}{
		{PerFrame, 3, "[0,3)"}, {PerFrame, 0, "[0,0)"}, {PerObject, 3, "[0,1)[1,2)[2,3)"}, {PerObject, 0, ""},
	} {
		o := Options{Per: c.per}
		var got string
		for lo, hi := range o.Batches(c.n) {
			got += fmt.Sprintf("[%d,%d)", lo, hi)
		}
		if got != c.want {
			t.Errorf("%s of %d: %s, want %s", c.per, c.n, got, c.want)
		}
	}
}

// TestForUnknownIDAllocs: the default metadata of a source without an
// entry is made once per id, so Render does not allocate for it per frame.
func TestForUnknownIDAllocs(t *testing.T) {
	var md Metadata
	first := md.For(12345)
	if first.Sensor.ID != "12345" || md.For(12345) != first {
		t.Fatalf("For(12345) = %+v, or a new value each call", first)
	}
	if md.For(-2).Sensor.ID != "-2" {
		t.Errorf("For(-2): sensor id %q", md.For(-2).Sensor.ID)
	}
	testenv.SkipUnderRace(t, "the race detector allocates")
	if n := testing.AllocsPerRun(100, func() { _ = md.For(12345) }); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}
