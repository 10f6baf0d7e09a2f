package osd

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestObjectSinkFiles writes three frames through object_file_sink and
// reads the JSON lines with encoding/json: DeepStream's minimal schema
// (version "4.0", frame number as "id", "@timestamp" in UTC milliseconds,
// "sensorId", "trackingId|left|top|right|bottom|label" strings whose values
// are written here by hand as C++'s %g gives them), an empty frame as
// "objects":[], and the MOT file of the tracked people as before.
func TestObjectSinkFiles(t *testing.T) {
	dir := t.TempDir()
	js, mot := filepath.Join(dir, "o", "objects.jsonl"), filepath.Join(dir, "mot.txt")
	cfg := DefaultObjectSinkConfig()
	cfg.JSONPath, cfg.MOTPath, cfg.MOTLabels = ds3d.Path(js), ds3d.Path(mot), []string{"person"}
	s, err := NewObjectSink(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	frames := [][]ds3d.Object2D{
		{{Left: 100.5, Top: 40, Width: 79.75, Height: 160, ClassID: 0, Label: "person", Score: 0.9, TrackID: 3},
			{Left: 1234.5678, Top: 0.000123, Width: 10, Height: 1e6, ClassID: 2, Label: "car", Score: 0.5, TrackID: -1},
			{Left: 1, Top: 2, Width: 3, Height: 4, ClassID: 7, Label: `dog "x"|y` + "\xff", Score: 0.3, TrackID: 8}},
		nil,
		{{Left: float32(math.NaN()), Top: 2, Width: 3, Height: 4, Label: "person", TrackID: 5}},
	}
	for i, objs := range frames {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		m.SetInt64(ds3d.KeySourceID, 2)
		m.SetTimestamp(1796687999123456789 + int64(i)*1_000_000_000)
		if i != 1 {
			m.Set(ds3d.KeyObject2DBbox, objs)
		}
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), data)
	}
	type minimal struct {
		Version   string   `json:"version"`
		ID        int64    `json:"id"`
		Timestamp string   `json:"@timestamp"`
		SensorID  string   `json:"sensorId"`
		Objects   []string `json:"objects"`
	}
	want := []minimal{
		{"4.0", 0, "2026-12-07T23:59:59.123Z", "2", []string{"3|100.5|40|180.25|200|Person", "-1|1234.57|0.000123|1244.57|1e+06|Vehicle", "8|1|2|4|6|dog \"x\"|y\ufffd"}},
		{"4.0", 1, "2026-12-08T00:00:00.123Z", "2", []string{}},
		{"4.0", 2, "2026-12-08T00:00:01.123Z", "2", []string{"5|nan|2|nan|6|Person"}},
	}
	for i, l := range lines {
		var got minimal
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("line %d %s: %v", i, l, err)
		}
		w := want[i]
		if got.Version != w.Version || got.ID != w.ID || got.Timestamp != w.Timestamp || got.SensorID != w.SensorID ||
			got.Objects == nil || strings.Join(got.Objects, "\n") != strings.Join(w.Objects, "\n") {
			t.Errorf("line %d: %+v, want %+v", i, got, w)
		}
	}
	m, err := os.ReadFile(mot)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(m), "1,3,100.50,40.00,79.75,160.00,0.90,-1,-1,-1\n3,5,NaN,2.00,3.00,4.00,0.00,-1,-1,-1\n"; got != want {
		t.Errorf("MOT file:\n%s\nwant\n%s", got, want)
	}
}

// TestObjectSinkBatchSlot: with batch_slot = 1 the lines carry slot 1's
// source id, frame number and PTS from DS3D::BatchMeta, not the batch's
// (slot 0's); a batch without slot 1 writes nothing, and a datamap without
// batch metadata is an error that says where the sink belongs.
func TestObjectSinkBatchSlot(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultObjectSinkConfig()
	cfg.JSONPath, cfg.MOTPath, cfg.BatchSlot, cfg.ObjectsKey = ds3d.Path(filepath.Join(dir, "s1.jsonl")), ds3d.Path(filepath.Join(dir, "s1.txt")), 1, "DS3D::Object2DBboxKey_1"
	s, err := NewObjectSink(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	batch := func(slots int) *ds3d.DataMap {
		bm := &meta.BatchMeta{}
		for i := 0; i < slots; i++ {
			f := bm.AddFrame()
			f.SourceID, f.FrameNum, f.PTS = int32(5+i), int64(40+i), int64(1_000_000_000*(i+1))
		}
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeySourceID, 5)
		m.SetInt64(ds3d.KeyFrameNumber, 40)
		m.SetTimestamp(1_000_000_000)
		m.Set(ds3d.KeyBatchMeta, bm)
		if slots > 1 {
			m.Set(ds3d.Key("DS3D::Object2DBboxKey_1"), []ds3d.Object2D{{Left: 1, Top: 2, Width: 3, Height: 4, Label: "person", Score: 0.5, TrackID: 9}})
		}
		return m
	}
	for _, slots := range []int{2, 1} {
		m := batch(slots)
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	m := ds3d.NewDataMap()
	if err := s.Render(context.Background(), m); err == nil || !strings.Contains(err.Error(), "DS3D::BatchMeta") {
		t.Errorf("no batch meta: %v", err)
	}
	m.Release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(string(cfg.JSONPath))
	if want := `{"version":"4.0","id":41,"@timestamp":"1970-01-01T00:00:02.000Z","sensorId":"6","objects":["9|1|2|4|6|Person"]}` + "\n"; string(got) != want {
		t.Errorf("JSON:\n%s\nwant\n%s", got, want)
	}
	if got, _ := os.ReadFile(string(cfg.MOTPath)); string(got) != "42,9,1.00,2.00,3.00,4.00,0.50,-1,-1,-1\n" {
		t.Errorf("MOT: %s", got)
	}
}
