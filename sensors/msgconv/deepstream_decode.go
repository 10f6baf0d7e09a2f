package msgconv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

type jsonLocation struct{ Lat, Lon, Alt float64 }
type jsonCoordinate struct{ X, Y, Z float64 }

type jsonFull struct {
	MessageID  *string `json:"messageid"`
	MDSVersion string  `json:"mdsversion"`
	Timestamp  string  `json:"@timestamp"`
	Place      struct {
		ID, Name, Type string
		Location       jsonLocation
		Aisle          *jsonPlaceSub `json:"aisle"`
		ParkingSpot    *jsonPlaceSub `json:"parkingSpot"`
		Entrance       *jsonPlaceSub `json:"entrance"`
	} `json:"place"`
	Sensor struct {
		ID, Type, Description string
		Location              jsonLocation
		Coordinate            jsonCoordinate
	} `json:"sensor"`
	Analytics struct {
		ID, Description, Source, Version string
	} `json:"analyticsModule"`
	Object *json.RawMessage `json:"object"`
	Event  struct {
		ID, Type string
	} `json:"event"`
	VideoPath string `json:"videoPath"`
}

type jsonPlaceSub struct {
	ID, Name, Type, Level, Lane string
	Coordinate                  jsonCoordinate
}

// DecodeFull parses a full DeepStream payload into an Event2D with its own
// SensorMeta. The bbox comes back as integer pixels; an object without a
// typed sub-object ("vehicle", "person", "face") takes its sub-object's name
// as Kind and Label.
func DecodeFull(data []byte) (*Event2D, error) {
	var j jsonFull
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("deepstream payload: %w", err)
	}
	if j.MessageID == nil {
		return nil, errors.New("deepstream payload: no messageid")
	}
	if j.MDSVersion != "1.0" {
		return nil, fmt.Errorf("deepstream payload: mdsversion %q, want \"1.0\"", j.MDSVersion)
	}
	if j.Object == nil {
		return nil, errors.New("deepstream payload: no object")
	}
	e := &Event2D{MessageID: *j.MessageID, EventID: j.Event.ID, Event: EventType(j.Event.Type), VideoPath: j.VideoPath}
	ts, err := parseTime(j.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("deepstream payload: @timestamp: %w", err)
	}
	e.Timestamp = ts
	m := &SensorMeta{}
	m.Sensor = Sensor{ID: j.Sensor.ID, Type: j.Sensor.Type, Description: j.Sensor.Description,
		Location: Location(j.Sensor.Location), Coordinate: Coordinate(j.Sensor.Coordinate)}
	m.Place = Place{ID: j.Place.ID, Name: j.Place.Name, Type: j.Place.Type, Location: Location(j.Place.Location)}
	switch {
	case j.Place.Aisle != nil:
		s := j.Place.Aisle
		m.Place.SubFields = [3]string{s.ID, s.Name, s.Level}
		m.Place.Coordinate = Coordinate(s.Coordinate)
	case j.Place.ParkingSpot != nil:
		s := j.Place.ParkingSpot
		m.Place.SubFields = [3]string{s.ID, s.Type, s.Level}
		m.Place.Coordinate = Coordinate(s.Coordinate)
	case j.Place.Entrance != nil:
		s := j.Place.Entrance
		m.Place.SubFields = [3]string{s.Name, s.Lane, s.Level}
		m.Place.Coordinate = Coordinate(s.Coordinate)
	}
	m.Analytics = Analytics(j.Analytics)
	e.Meta = m
	if err := decodeObject(*j.Object, e); err != nil {
		return nil, fmt.Errorf("deepstream payload: object: %w", err)
	}
	return e, nil
}

// decodeObject walks the object's members in order, since the kind
// sub-object's name varies and its attributes' order is part of the data.
func decodeObject(raw []byte, e *Event2D) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key := t.(string)
		switch key {
		case "id":
			var s string
			if err := dec.Decode(&s); err != nil {
				return fmt.Errorf("id: %w", err)
			}
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("id %q: not a track id", s)
			}
			e.Object.TrackID = id
		case "speed", "direction", "orientation", "signature":
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		case "bbox":
			var bb struct{ Topleftx, Toplefty, Bottomrightx, Bottomrighty float64 }
			if err := dec.Decode(&bb); err != nil {
				return fmt.Errorf("bbox: %w", err)
			}
			o := &e.Object
			o.Left, o.Top = float32(bb.Topleftx), float32(bb.Toplefty)
			o.Width, o.Height = float32(bb.Bottomrightx-bb.Topleftx), float32(bb.Bottomrighty-bb.Toplefty)
		case "location":
			var l jsonLocation
			if err := dec.Decode(&l); err != nil {
				return fmt.Errorf("location: %w", err)
			}
			e.Location = Location(l)
		case "coordinate":
			var c jsonCoordinate
			if err := dec.Decode(&c); err != nil {
				return fmt.Errorf("coordinate: %w", err)
			}
			e.Coordinate = Coordinate(c)
		default:
			if e.Kind != "" {
				return fmt.Errorf("two kind sub-objects, %q and %q", e.Kind, key)
			}
			e.Kind = key
			if err := decodeAttrs(dec, e); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	if !typedKind(e.Kind) {
		e.Object.Label = e.Kind
	}
	return nil
}

func decodeAttrs(dec *json.Decoder, e *Event2D) error {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key := t.(string)
		v, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := v.(type) {
		case string:
			e.Attrs = append(e.Attrs, Attr{Key: key, Value: v})
		case json.Number:
			f, err := v.Float64()
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			if key == "confidence" && typedKind(e.Kind) {
				e.Object.Score = float32(f)
				continue
			}
			e.Attrs = append(e.Attrs, Attr{Key: key, Num: f, IsNum: true})
		case nil:
			e.Attrs = append(e.Attrs, Attr{Key: key, Num: math.NaN(), IsNum: true})
		default:
			return fmt.Errorf("%s: want a string or a number", key)
		}
	}
	_, err := dec.Token()
	return err
}

type jsonMinimal struct {
	Version   string   `json:"version"`
	ID        *int64   `json:"id"`
	Timestamp string   `json:"@timestamp"`
	SensorID  string   `json:"sensorId"`
	Objects   []string `json:"objects"`
}

// DecodeMinimal parses a minimal DeepStream payload into one Event2D per
// object string; each shares the frame's number, time and sensor.
func DecodeMinimal(data []byte) ([]Event2D, error) {
	var j jsonMinimal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("deepstream minimal payload: %w", err)
	}
	if j.Version != "4.0" {
		return nil, fmt.Errorf("deepstream minimal payload: version %q, want \"4.0\"", j.Version)
	}
	if j.ID == nil {
		return nil, errors.New("deepstream minimal payload: no id")
	}
	ts, err := parseTime(j.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("deepstream minimal payload: @timestamp: %w", err)
	}
	meta := &SensorMeta{Sensor: Sensor{ID: j.SensorID}}
	out := make([]Event2D, len(j.Objects))
	for i, s := range j.Objects {
		e := &out[i]
		e.FrameNumber, e.Timestamp, e.Meta = *j.ID, ts, meta
		if err := parseMinimalObject(s, e); err != nil {
			return nil, fmt.Errorf("deepstream minimal payload: objects[%d] %q: %w", i, s, err)
		}
	}
	return out, nil
}

func parseMinimalObject(s string, e *Event2D) error {
	head, attrs, hasAttrs := strings.Cut(s, "|#|")
	f := strings.Split(head, "|")
	if len(f) < 6 {
		return fmt.Errorf("%d fields, want trackingId|left|top|right|bottom|label", len(f))
	}
	var err error
	if e.Object.TrackID, err = strconv.ParseInt(f[0], 10, 64); err != nil {
		return fmt.Errorf("trackingId: %w", err)
	}
	var v [4]float64
	for k := range v {
		if v[k], err = strconv.ParseFloat(f[k+1], 64); err != nil {
			return fmt.Errorf("field %d: %w", k+2, err)
		}
	}
	o := &e.Object
	o.Left, o.Top = float32(v[0]), float32(v[1])
	o.Width, o.Height = float32(v[2]-v[0]), float32(v[3]-v[1])
	label := strings.Join(f[5:], "|")
	if k := kindOfLabel(label); k != "" {
		e.Kind = k
	} else {
		o.Label = label
	}
	if !hasAttrs {
		return nil
	}
	keys, ok := minimalAttrKeys[e.Kind]
	if !ok {
		return fmt.Errorf("attributes after |#| for label %q, which has none", label)
	}
	vals := strings.Split(attrs, "|")
	if len(vals) != len(keys)+1 {
		return fmt.Errorf("%d attribute values, want %d for %s", len(vals), len(keys)+1, e.Kind)
	}
	for k, key := range keys {
		if key != "" {
			e.Attrs = append(e.Attrs, Attr{Key: key, Value: vals[k]})
		}
	}
	c, err := strconv.ParseFloat(vals[len(keys)], 64)
	if err != nil {
		return fmt.Errorf("confidence: %w", err)
	}
	o.Score = float32(c)
	return nil
}
