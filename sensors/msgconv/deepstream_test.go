package msgconv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// test4Event is what deepstream-test4 gave nvmsgconv for
// testdata/deepstream_full_test4.json: the metadata file's source 0, a
// vehicle with the app's hard-coded attributes, the detector's box.
func test4Event(t *testing.T) *Event2D {
	t.Helper()
	md, err := LoadMetadata("testdata/metadata_test4.toml")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339, "2021-03-31T20:11:07.742Z")
	if err != nil {
		t.Fatal(err)
	}
	return &Event2D{
		MessageID: "ff7cc527-d019-4348-8b25-6df69c5b6dcc",
		EventID:   "3509e9f8-0861-45d3-a8cb-43ed8ac0fc7a",
		Timestamp: ts.UnixNano(),
		Meta:      md.For(0),
		Event:     EventMoving,
		Object:    ds3d.Object2D{Left: 597, Top: 481, Width: 114, Height: 88, Score: -0.1, TrackID: -1, Label: "car"},
		Kind:      "vehicle",
		Attrs: []Attr{{Key: "type", Value: "sedan"}, {Key: "make", Value: "Bugatti"}, {Key: "model", Value: "M"},
			{Key: "color", Value: "blue"}, {Key: "licenseState", Value: "CA"}, {Key: "license", Value: "XX1234"}},
	}
}

func minimalEvent() Event2D {
	ts, _ := time.Parse(time.RFC3339, "2018-04-11T04:59:59.828Z")
	return Event2D{
		FrameNumber: 0,
		Timestamp:   ts.UnixNano(),
		Meta:        &SensorMeta{Sensor: Sensor{ID: "sensor-id"}},
		Object:      ds3d.Object2D{Left: 1834, Top: 150, Width: 84, Height: 65, Score: 0.8, TrackID: 957},
		Kind:        "vehicle",
		Attrs: []Attr{{Key: "type", Value: "sedan"}, {Key: "make", Value: "Bugatti"}, {Key: "model", Value: "M"},
			{Key: "color", Value: "blue"}, {Key: "licenseState", Value: "California"}, {Key: "license", Value: "CA 444"}},
	}
}

// sameJSON compares two payloads parsed by encoding/json (values), and the
// order of members in every object (DeepStream's layout).
func sameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Fatalf("payload differs\ngot:  %s\nwant: %s", gj, wj)
	}
	if go_, wo := memberOrder(t, got), memberOrder(t, want); !reflect.DeepEqual(go_, wo) {
		t.Fatalf("member order differs\ngot:  %v\nwant: %v", go_, wo)
	}
}

// memberOrder lists every member's path in document order.
func memberOrder(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []string
	var walk func(prefix string) error
	walk = func(prefix string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				p := prefix + "." + k.(string)
				out = append(out, p)
				if err := walk(p); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		case json.Delim('['):
			for dec.More() {
				if err := walk(prefix + "[]"); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		}
		return err
	}
	if err := walk(""); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return out
}

func TestFullMatchesDeepStreamTest4(t *testing.T) {
	want, err := os.ReadFile("testdata/deepstream_full_test4.json")
	if err != nil {
		t.Fatal(err)
	}
	got := NewEncoder().AppendFull(nil, test4Event(t))
	sameJSON(t, got, want)
}

func TestMinimalMatchesNvmsgconvExample(t *testing.T) {
	want, err := os.ReadFile("testdata/deepstream_minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	got := NewEncoder().AppendMinimal(nil, []Event2D{minimalEvent()})
	sameJSON(t, got, want)
}

func TestDecodeFullGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/deepstream_full_test4.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := DecodeFull(data)
	if err != nil {
		t.Fatal(err)
	}
	want := test4Event(t)
	want.Object.Label = "" // a typed object's label is its kind
	if !reflect.DeepEqual(e.Object, want.Object) || !reflect.DeepEqual(e.Attrs, want.Attrs) || e.Kind != want.Kind ||
		e.Timestamp != want.Timestamp || e.MessageID != want.MessageID || e.EventID != want.EventID || e.Event != want.Event ||
		!reflect.DeepEqual(*e.Meta, *want.Meta) {
		t.Fatalf("decoded\n%+v\n%+v\nwant\n%+v\n%+v", e, *e.Meta, want, *want.Meta)
	}
	sameJSON(t, NewEncoder().AppendFull(nil, e), data)
}

func TestDecodeMinimalGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/deepstream_minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	es, err := DecodeMinimal(data)
	if err != nil {
		t.Fatal(err)
	}
	want := minimalEvent()
	// The minimal form lists attributes in its own order.
	want.Attrs = []Attr{{Key: "type", Value: "sedan"}, {Key: "make", Value: "Bugatti"}, {Key: "model", Value: "M"},
		{Key: "color", Value: "blue"}, {Key: "license", Value: "CA 444"}, {Key: "licenseState", Value: "California"}}
	if len(es) != 1 || !reflect.DeepEqual(es[0].Object, want.Object) || !reflect.DeepEqual(es[0].Attrs, want.Attrs) ||
		es[0].Timestamp != want.Timestamp || es[0].Meta.Sensor.ID != "sensor-id" {
		t.Fatalf("decoded %+v, want %+v", es, want)
	}
	sameJSON(t, NewEncoder().AppendMinimal(nil, es), data)
}

// TestMinimalNumbersAsCPlusPlus checks the pixel values of minimal payloads
// against C's %g (what a C++ ostream writes for a float), through Python's
// printf-style formatting, which is C's.
func TestMinimalNumbersAsCPlusPlus(t *testing.T) {
	vals := []float64{0, 1834, 150.5, 1918.25, 0.8, 1e6, 123456, 1234567, 0.0001, 0.00001234, -3.75, 2.5e-7, 1919.99994}
	var in []string
	var got []string
	for _, v := range vals {
		in = append(in, fmt.Sprintf("%.17g", v))
		got = append(got, string(appendCDouble(nil, v)))
	}
	out := testenv.RunPython(t, nil, append([]string{"-c", "import sys\nfor a in sys.argv[1:]: print('%g' % float(a))"}, in...)...)
	want := strings.Fields(string(out))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nC %%g gives %v", got, want)
	}
}

func TestPlaceSubObject(t *testing.T) {
	for _, c := range []struct {
		ev   EventType
		kind string
		sub  string
		keys string
	}{
		{EventMoving, "vehicle", "aisle", "id,name,level"},
		{EventStopped, "person", "aisle", "id,name,level"},
		{EventParked, "vehicle", "parkingSpot", "id,type,level"},
		{EventEmpty, "", "parkingSpot", "id,type,level"},
		{EventEntry, "vehicle", "aisle", "id,name,level"},
		{EventExit, "person", "entrance", "name,lane,level"},
		{EventReset, "vehicle", "", ""},
	} {
		e := test4Event(t)
		e.Event, e.Kind = c.ev, c.kind
		b := NewEncoder().AppendFull(nil, e)
		var m struct{ Place map[string]json.RawMessage }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var subs []string
		for k := range m.Place {
			switch k {
			case "id", "name", "type", "location":
			default:
				subs = append(subs, k)
			}
		}
		if c.sub == "" {
			if len(subs) != 0 {
				t.Errorf("%s: sub-objects %v, want none", c.ev, subs)
			}
			continue
		}
		if len(subs) != 1 || subs[0] != c.sub {
			t.Errorf("%s/%s: sub-objects %v, want %s", c.ev, c.kind, subs, c.sub)
			continue
		}
		order := memberOrder(t, m.Place[c.sub])
		if got := strings.TrimPrefix(strings.Join(order[:3], ","), "."); got != strings.ReplaceAll(c.keys, ",", ",.") {
			t.Errorf("%s: %s members %s, want %s", c.ev, c.sub, got, c.keys)
		}
		d, err := DecodeFull(b)
		if err != nil {
			t.Fatal(err)
		}
		if d.Meta.Place.SubFields != e.Meta.Place.SubFields {
			t.Errorf("%s: sub fields %v, want %v", c.ev, d.Meta.Place.SubFields, e.Meta.Place.SubFields)
		}
	}
}

func TestFullUnknownKindAndHostileStrings(t *testing.T) {
	e := test4Event(t)
	e.Kind, e.Object.Label = "", "traffic \"cone\"\n\x01\xff"
	e.MessageID, e.EventID = "", ""
	e.Object.Left = float32(3e10)
	b := NewEncoder().AppendFull(nil, e)
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var m struct {
		MessageID string `json:"messageid"`
		Object    map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.MessageID) != 36 || m.MessageID[14] != '4' {
		t.Errorf("messageid %q is not a version-4 UUID", m.MessageID)
	}
	if got := string(m.Object["traffic \"cone\"\n\x01\ufffd"]); got != "{}" {
		t.Errorf("unknown kind sub-object %q, want {}", got)
	}
}

func TestEncodeFullAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	enc := NewEncoder()
	e := test4Event(t)
	e.MessageID, e.EventID = "", ""
	events := []Event2D{*e, *e, *e}
	buf := make([]byte, 0, 8192)
	if n := testing.AllocsPerRun(100, func() {
		buf = enc.AppendFull(buf[:0], e)
		buf = enc.AppendMinimal(buf[:0], events)
	}); n != 0 {
		t.Fatalf("%v allocations per message, want 0", n)
	}
}

func BenchmarkAppendFull(b *testing.B) {
	enc := NewEncoder()
	md, err := LoadMetadata("testdata/metadata_test4.toml")
	if err != nil {
		b.Fatal(err)
	}
	e := &Event2D{Meta: md.For(0), Event: EventMoving, Kind: "vehicle", Timestamp: 1,
		Object: ds3d.Object2D{Left: 597, Top: 481, Width: 114, Height: 88, Score: 0.9, TrackID: 12}}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = enc.AppendFull(buf[:0], e)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestFullTypedWithoutAttrs: a vehicle without secondary attributes gets
// nvmsgconv's empty vehicle object (its members, in its order).
func TestFullTypedWithoutAttrs(t *testing.T) {
	e := test4Event(t)
	e.Attrs = nil
	e.Kind = KindOfLabel("Car")
	order := memberOrder(t, NewEncoder().AppendFull(nil, e))
	var veh []string
	for _, p := range order {
		if strings.HasPrefix(p, ".object.vehicle.") {
			veh = append(veh, strings.TrimPrefix(p, ".object.vehicle."))
		}
	}
	if got := strings.Join(veh, ","); got != "type,make,model,color,licenseState,license,confidence" {
		t.Fatalf("vehicle members %s", got)
	}
	if KindOfLabel("Pedestrian") != "person" || KindOfLabel("Cyclist") != "" {
		t.Error("KindOfLabel")
	}
}

// TestAppendMinimalFrameEmpty: a frame without objects is written with its
// own number, time and sensor and an empty object list; with objects,
// AppendMinimalFrame given the first event's fields writes what
// AppendMinimal writes.
func TestAppendMinimalFrameEmpty(t *testing.T) {
	enc := NewEncoder()
	meta := &SensorMeta{Sensor: Sensor{ID: `cam "1"`}}
	ts := int64(1617221467742) * 1e6 // 2021-03-31T20:11:07.742Z
	got := string(enc.AppendMinimalFrame(nil, 7, ts, meta, nil))
	want := `{"version":"4.0","id":7,"@timestamp":"2021-03-31T20:11:07.742Z","sensorId":"cam \"1\"","objects":[]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	e := test4Event(t)
	events := []Event2D{*e, *e}
	a := enc.AppendMinimal(nil, events)
	b := enc.AppendMinimalFrame(nil, e.FrameNumber, e.Timestamp, e.Meta, events)
	if !bytes.Equal(a, b) {
		t.Errorf("AppendMinimal %s\nAppendMinimalFrame %s", a, b)
	}
	testenv.SkipUnderRace(t, "the race detector allocates")
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = enc.AppendMinimalFrame(buf[:0], 7, ts, meta, nil) }); n != 0 {
		t.Errorf("%v allocations per empty frame, want 0", n)
	}
}
