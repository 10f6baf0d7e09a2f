package msgconv

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// EventType is the "event.type" of a full DeepStream payload (NvDsEventType).
type EventType string

const (
	EventEntry   EventType = "entry"
	EventExit    EventType = "exit"
	EventMoving  EventType = "moving"
	EventStopped EventType = "stopped"
	EventParked  EventType = "parked"
	EventEmpty   EventType = "empty"
	EventReset   EventType = "reset"
)

// Attr is one attribute of an object's kind sub-object ("make": "Bugatti").
// A numeric attribute sets IsNum and Num.
type Attr struct {
	Key   string
	Value string
	Num   float64
	IsNum bool
}

// Event2D is what one full DeepStream payload says, and one entry of a
// minimal payload: a 2D object a sensor saw at a time.
type Event2D struct {
	// MessageID and EventID are UUIDs; an Encoder fills empty ones with
	// random (version 4) UUIDs, as nvmsgconv does.
	MessageID, EventID string
	// Timestamp is nanoseconds since the Unix epoch; "@timestamp" carries it
	// to the millisecond.
	Timestamp int64
	// FrameNumber is the minimal payload's "id".
	FrameNumber int64
	Meta        *SensorMeta // nil: empty sensor, place and analytics objects
	Event       EventType
	Object      ds3d.Object2D
	// Kind names the object's sub-object: "vehicle", "person" and "face" are
	// DeepStream's typed objects, which carry Attrs (nvmsgconv's empty
	// attributes when there are none) and a "confidence" (the object's
	// Score); any other kind (empty: Object.Label) gets an empty sub-object,
	// as nvmsgconv writes for an object of unknown type. KindOfLabel maps
	// detector labels.
	Kind       string
	Attrs      []Attr
	Location   Location   // object's geolocation
	Coordinate Coordinate // object's position on the site
	VideoPath  string
}

// typedKind reports whether kind is one of DeepStream's typed objects.
func typedKind(kind string) bool {
	return kind == "vehicle" || kind == "person" || kind == "face"
}

func (e *Event2D) kind() string {
	if e.Kind != "" {
		return e.Kind
	}
	return e.Object.Label
}

// Encoder writes DeepStream payloads. It draws message and event ids from
// its own random stream, so it is not safe for concurrent use: give each
// goroutine its own. The zero Encoder seeds itself on first use.
type Encoder struct {
	rng *rand.ChaCha8
}

// NewEncoder returns an encoder seeded from crypto/rand.
func NewEncoder() *Encoder {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return &Encoder{rng: rand.NewChaCha8(seed)}
}

// appendUUID appends a random version-4 UUID in its 36-character form.
func (enc *Encoder) appendUUID(b []byte) []byte {
	const hex = "0123456789abcdef"
	if enc.rng == nil {
		*enc = *NewEncoder()
	}
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], enc.rng.Uint64())
	binary.LittleEndian.PutUint64(u[8:], enc.rng.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	b = append(b, '"')
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return append(b, '"')
}

func (enc *Encoder) appendID(b []byte, id string) []byte {
	if id == "" {
		return enc.appendUUID(b)
	}
	return appendString(b, id)
}

var emptyMeta SensorMeta

// AppendFull appends e as nvmsgconv's full schema payload (one object),
// with its members in nvmsgconv's order: messageid, mdsversion ("1.0"),
// @timestamp, place, sensor, analyticsModule, object, event, videoPath. The
// bbox is (topleftx, toplefty, bottomrightx, bottomrighty), truncated to
// integer pixels as nvmsgconv writes it; object.id is the track id in
// decimal (-1 while untracked).
func (enc *Encoder) AppendFull(b []byte, e *Event2D) []byte {
	m := e.Meta
	if m == nil {
		m = &emptyMeta
	}
	kind := e.kind()
	b = append(b, `{"messageid":`...)
	b = enc.appendID(b, e.MessageID)
	b = append(b, `,"mdsversion":"1.0","@timestamp":"`...)
	b = appendTime(b, e.Timestamp)
	b = append(b, `","place":{"id":`...)
	p := &m.Place
	b = appendString(b, p.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"type":`...)
	b = appendString(b, p.Type)
	b = append(b, `,"location":`...)
	b = appendLocation(b, p.Location)
	if sub, keys := placeSub(e.Event, kind); sub != "" {
		b = append(b, ',', '"')
		b = append(b, sub...)
		b = append(b, `":{`...)
		for i, k := range keys {
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, `":`...)
			b = appendString(b, p.SubFields[i])
			b = append(b, ',')
		}
		b = append(b, `"coordinate":`...)
		b = appendCoordinate(b, p.Coordinate)
		b = append(b, '}')
	}
	s := &m.Sensor
	b = append(b, `},"sensor":{"id":`...)
	b = appendString(b, s.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, s.Type)
	b = append(b, `,"description":`...)
	b = appendString(b, s.Description)
	b = append(b, `,"location":`...)
	b = appendLocation(b, s.Location)
	b = append(b, `,"coordinate":`...)
	b = appendCoordinate(b, s.Coordinate)
	a := &m.Analytics
	b = append(b, `},"analyticsModule":{"id":`...)
	b = appendString(b, a.ID)
	b = append(b, `,"description":`...)
	b = appendString(b, a.Description)
	b = append(b, `,"source":`...)
	b = appendString(b, a.Source)
	b = append(b, `,"version":`...)
	b = appendString(b, a.Version)
	o := &e.Object
	b = append(b, `},"object":{"id":"`...)
	b = strconv.AppendInt(b, o.TrackID, 10)
	b = append(b, `","speed":0,"direction":0,"orientation":0,`...)
	b = appendString(b, kind)
	b = append(b, ':', '{')
	if typedKind(kind) {
		attrs := e.Attrs
		if len(attrs) == 0 {
			attrs = emptyAttrs[kind]
		}
		for _, at := range attrs {
			b = appendString(b, at.Key)
			b = append(b, ':')
			if at.IsNum {
				b = appendFloat64(b, at.Num)
			} else {
				b = appendString(b, at.Value)
			}
			b = append(b, ',')
		}
		b = append(b, `"confidence":`...)
		b = appendFloat64(b, float64(o.Score))
	}
	b = append(b, `},"bbox":{"topleftx":`...)
	b = strconv.AppendInt(b, truncPixel(o.Left), 10)
	b = append(b, `,"toplefty":`...)
	b = strconv.AppendInt(b, truncPixel(o.Top), 10)
	b = append(b, `,"bottomrightx":`...)
	b = strconv.AppendInt(b, truncPixel(o.Left+o.Width), 10)
	b = append(b, `,"bottomrighty":`...)
	b = strconv.AppendInt(b, truncPixel(o.Top+o.Height), 10)
	b = append(b, `},"location":`...)
	b = appendLocation(b, e.Location)
	b = append(b, `,"coordinate":`...)
	b = appendCoordinate(b, e.Coordinate)
	b = append(b, `},"event":{"id":`...)
	b = enc.appendID(b, e.EventID)
	b = append(b, `,"type":`...)
	b = appendString(b, string(e.Event))
	b = append(b, `},"videoPath":`...)
	b = appendString(b, e.VideoPath)
	return append(b, '}')
}

// truncPixel converts a pixel coordinate to an integer toward zero, as
// nvmsgconv's json_object_set_int_member does with its float bbox; values
// outside int32 (and NaN) clamp, so garbage in cannot panic.
func truncPixel(v float32) int64 {
	switch {
	case v != v:
		return 0
	case v > 2147483647:
		return 2147483647
	case v < -2147483648:
		return -2147483648
	}
	return int64(v)
}

// placeSub returns the place sub-object's name and the keys of its three
// fields for an event, by nvmsgconv's rule (see Place); "" for event types
// nvmsgconv gives none (reset, unknown).
func placeSub(ev EventType, kind string) (string, *[3]string) {
	switch ev {
	case EventMoving, EventStopped:
		return "aisle", &aisleKeys
	case EventParked, EventEmpty:
		return "parkingSpot", &spotKeys
	case EventEntry, EventExit:
		if kind == "vehicle" {
			return "aisle", &aisleKeys
		}
		return "entrance", &entranceKeys
	}
	return "", nil
}

var (
	aisleKeys    = [3]string{"id", "name", "level"}
	spotKeys     = [3]string{"id", "type", "level"}
	entranceKeys = [3]string{"name", "lane", "level"}
)

func appendLocation(b []byte, l Location) []byte {
	b = append(b, `{"lat":`...)
	b = appendFloat64(b, l.Lat)
	b = append(b, `,"lon":`...)
	b = appendFloat64(b, l.Lon)
	b = append(b, `,"alt":`...)
	b = appendFloat64(b, l.Alt)
	return append(b, '}')
}

func appendCoordinate(b []byte, c Coordinate) []byte {
	b = append(b, `{"x":`...)
	b = appendFloat64(b, c.X)
	b = append(b, `,"y":`...)
	b = appendFloat64(b, c.Y)
	b = append(b, `,"z":`...)
	b = appendFloat64(b, c.Z)
	return append(b, '}')
}

// emptyAttrs are the attributes nvmsgconv writes for a typed object that
// came without them (no secondary inference): empty strings and age 0.
var emptyAttrs = map[string][]Attr{
	"vehicle": {{Key: "type"}, {Key: "make"}, {Key: "model"}, {Key: "color"}, {Key: "licenseState"}, {Key: "license"}},
	"person":  {{Key: "age", IsNum: true}, {Key: "gender"}, {Key: "hair"}, {Key: "cap"}, {Key: "apparel"}},
	"face": {{Key: "age", IsNum: true}, {Key: "gender"}, {Key: "hair"}, {Key: "cap"}, {Key: "glasses"},
		{Key: "facialhair"}, {Key: "name"}, {Key: "eyecolor"}},
}

// KindOfLabel maps a detector label to the DeepStream object kind a full
// payload files it under: vehicle classes to "vehicle", pedestrians to
// "person", "face" to "face"; any other label to "" (the label itself, an
// object of unknown type to DeepStream).
func KindOfLabel(label string) string {
	switch strings.ToLower(label) {
	case "vehicle", "car", "van", "truck", "bus", "tram", "trailer", "construction_vehicle", "motorcycle":
		return "vehicle"
	case "person", "pedestrian", "person_sitting":
		return "person"
	case "face":
		return "face"
	}
	return ""
}

// minimalAttrKeys is the order nvmsgconv's minimal schema lists a typed
// object's attributes in after "|#|" (its confidence follows). It differs
// from the full schema's member order: license comes before licenseState.
var minimalAttrKeys = map[string][]string{
	"vehicle": {"type", "make", "model", "color", "license", "licenseState"},
	"person":  {"gender", "age", "hair", "cap", "apparel"},
	"face":    {"gender", "age", "hair", "cap", "glasses", "facialhair", "name", "", "eyecolor"},
}

// AppendMinimal appends the objects of one frame as nvmsgconv's minimal
// payload: {"version":"4.0","id":frame number,"@timestamp","sensorId",
// "objects":[...]}, each object "trackingId|left|top|right|bottom|label",
// followed for a typed object with attributes by "|#|" and the attribute
// values and confidence. Frame number, time and sensor come from the first
// event, as in nvmsgconv. Pixel values are written as C++ streams write a
// float (6 significant digits), the label of a typed object is its kind
// capitalised ("Vehicle"), of any other its Label.
func (enc *Encoder) AppendMinimal(b []byte, events []Event2D) []byte {
	var first Event2D
	if len(events) > 0 {
		first = events[0]
	}
	return enc.AppendMinimalFrame(b, first.FrameNumber, first.Timestamp, first.Meta, events)
}

// AppendMinimalFrame is AppendMinimal with the frame's number, time
// (nanoseconds since the Unix epoch) and sensor given, not taken from the
// first event: it also writes a frame without objects ("objects":[]). A
// nil meta writes sensorId "0".
func (enc *Encoder) AppendMinimalFrame(b []byte, frameNumber, timestamp int64, meta *SensorMeta, events []Event2D) []byte {
	b = append(b, `{"version":"4.0","id":`...)
	b = strconv.AppendInt(b, frameNumber, 10)
	b = append(b, `,"@timestamp":"`...)
	b = appendTime(b, timestamp)
	b = append(b, `","sensorId":`...)
	sensor := "0"
	if meta != nil {
		sensor = meta.Sensor.ID
	}
	b = appendString(b, sensor)
	b = append(b, `,"objects":[`...)
	for i := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMinimalObject(b, &events[i])
	}
	return append(b, ']', '}')
}

// appendMinimalObject writes one object string; its fields are joined with
// '|' unescaped, as nvmsgconv does, and the whole is a JSON string.
func appendMinimalObject(b []byte, e *Event2D) []byte {
	var tmp [256]byte
	s := tmp[:0]
	o := &e.Object
	s = strconv.AppendInt(s, o.TrackID, 10)
	s = append(s, '|')
	s = appendCFloat(s, o.Left)
	s = append(s, '|')
	s = appendCFloat(s, o.Top)
	s = append(s, '|')
	s = appendCFloat(s, o.Left+o.Width)
	s = append(s, '|')
	s = appendCFloat(s, o.Top+o.Height)
	s = append(s, '|')
	kind := e.kind()
	if typedKind(kind) {
		s = append(s, kind[0]-'a'+'A')
		s = append(s, kind[1:]...)
		if len(e.Attrs) > 0 {
			s = append(s, "|#|"...)
			for _, k := range minimalAttrKeys[kind] {
				s = appendAttrValue(s, e.Attrs, k)
				s = append(s, '|')
			}
			s = appendCDouble(s, float64(o.Score))
		}
	} else {
		s = append(s, o.Label...)
	}
	return appendStringBytes(b, s)
}

func appendAttrValue(s []byte, attrs []Attr, key string) []byte {
	if key == "" {
		return s
	}
	for _, a := range attrs {
		if a.Key == key {
			if a.IsNum {
				return appendCDouble(s, a.Num)
			}
			return append(s, a.Value...)
		}
	}
	return s
}

// appendCFloat writes v as a C++ ostream writes a float by default (%g with
// 6 significant digits).
func appendCFloat(b []byte, v float32) []byte { return appendCDouble(b, float64(v)) }

func appendCDouble(b []byte, v float64) []byte {
	switch {
	case v != v:
		return append(b, "nan"...)
	case v > 1.7976931348623157e308:
		return append(b, "inf"...)
	case v < -1.7976931348623157e308:
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', 6, 64)
}

// appendStringBytes is appendString for a byte slice (no conversion, so no
// allocation).
func appendStringBytes(b, s []byte) []byte {
	// The object string is built from numbers, labels and attributes; labels
	// may hold anything, so it goes through the same escaping.
	return appendString(b, unsafeString(s))
}

// kindOfLabel returns the kind a minimal payload's label names: the typed
// kinds lower-cased, anything else as written.
func kindOfLabel(label string) string {
	switch label {
	case "Vehicle", "Person", "Face":
		return strings.ToLower(label)
	}
	return ""
}
