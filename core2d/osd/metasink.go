package osd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ObjectSinkConfig configures object_file_sink.
type ObjectSinkConfig struct {
	JSONPath    ds3d.Path `toml:"json_path" doc:"JSON lines file: one DeepStream minimal-schema payload per datamap (frame number, time, sensor id, its objects), as msgbroker's deepstream_minimal (docs/PAYLOADS.md); empty: none"`
	MOTPath     ds3d.Path `toml:"mot_path" doc:"MOTChallenge results file (frame,id,left,top,width,height,conf,-1,-1,-1) of the tracked objects; empty: none"`
	ObjectsKey  string    `toml:"objects_key" nonempty:"true" doc:"key of the []Object2D"`
	MOTLabels   []string  `toml:"mot_labels" doc:"labels written to the MOT file (e.g. [\"person\"]); empty: every class"`
	FrameOffset int       `toml:"mot_frame_offset" doc:"added to the frame number (DS3D::FrameNumber, or the batch_slot's) to make the MOT frame (MOTChallenge frames start at 1)"`
	BatchSlot   int       `toml:"batch_slot" min:"-1" doc:"batch slot (DS3D::BatchMeta) whose source id, frame number and PTS the lines carry, for a sink of one slot's objects; a batch without that slot writes nothing; -1: DS3D::SourceId, DS3D::FrameNumber and DS3D::Timestamp"`
}

// DefaultObjectSinkConfig returns the defaults; start a Go config from it,
// since batch_slot's zero value picks slot 0.
func DefaultObjectSinkConfig() *ObjectSinkConfig {
	return &ObjectSinkConfig{ObjectsKey: string(ds3d.KeyObject2DBbox), FrameOffset: 1, BatchSlot: -1}
}

// Validate checks the config.
func (c *ObjectSinkConfig) Validate() error {
	if c.JSONPath == "" && c.MOTPath == "" {
		return ds3d.ConfigErrorf("json_path", "give json_path, mot_path or both")
	}
	return nil
}

// ObjectSink is the object_file_sink component: the per-frame metadata
// files of the 2D app.
type ObjectSink struct {
	cfg    ObjectSinkConfig
	key    ds3d.Key
	labels map[string]bool
	files  []*os.File
	js     *bufio.Writer
	mot    *bufio.Writer
	line   []byte
	jline  []byte
}

// NewObjectSink creates the files.
func NewObjectSink(cfg ObjectSinkConfig) (*ObjectSink, error) {
	if err := ds3d.CheckConfig(&cfg); err != nil {
		return nil, err
	}
	s := &ObjectSink{cfg: cfg, key: ds3d.Key(cfg.ObjectsKey)}
	if len(cfg.MOTLabels) > 0 {
		s.labels = map[string]bool{}
		for _, l := range cfg.MOTLabels {
			s.labels[l] = true
		}
	}
	open := func(p ds3d.Path) (*bufio.Writer, error) {
		if err := os.MkdirAll(filepath.Dir(string(p)), 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(string(p))
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, f)
		return bufio.NewWriter(f), nil
	}
	var err error
	if cfg.JSONPath != "" {
		if s.js, err = open(cfg.JSONPath); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.MOTPath != "" {
		if s.mot, err = open(cfg.MOTPath); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Render writes the datamap's objects.
func (s *ObjectSink) Render(_ context.Context, in *ds3d.DataMap) error {
	var objs []ds3d.Object2D
	if in.Has(s.key) {
		var err error
		if objs, err = ds3d.Get[[]ds3d.Object2D](in, s.key); err != nil {
			return err
		}
	}
	frame, _ := in.Int64(ds3d.KeyFrameNumber)
	src, _ := in.Int64(ds3d.KeySourceID)
	ts, ok := in.Timestamp()
	if s.cfg.BatchSlot >= 0 {
		fm, err := s.slot(in)
		if err != nil || fm == nil {
			return err
		}
		frame, src, ts, ok = fm.FrameNum, int64(fm.SourceID), fm.PTS, true
	}
	if s.js != nil {
		if !ok {
			ts = time.Now().UnixNano()
		}
		b := appendMinimal(s.jline[:0], max(frame, 0), ts, max(src, 0), objs)
		b = append(b, '\n')
		s.jline = b
		if _, err := s.js.Write(b); err != nil {
			return err
		}
	}
	if s.mot != nil {
		for _, o := range objs {
			if o.TrackID < 0 || (s.labels != nil && !s.labels[o.Label]) {
				continue
			}
			b := s.line[:0]
			b = strconv.AppendInt(b, frame+int64(s.cfg.FrameOffset), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, o.TrackID, 10)
			for _, v := range [...]float32{o.Left, o.Top, o.Width, o.Height, o.Score} {
				b = append(b, ',')
				b = strconv.AppendFloat(b, float64(v), 'f', 2, 32)
			}
			b = append(b, ",-1,-1,-1\n"...)
			s.line = b
			if _, err := s.mot.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// slot returns the configured slot's frame metadata, or nil when this
// batch has no frame in it.
func (s *ObjectSink) slot(in *ds3d.DataMap) (*meta.FrameMeta, error) {
	if !in.Has(ds3d.KeyBatchMeta) {
		return nil, fmt.Errorf("object_file_sink: batch_slot = %d but the datamap has no %s (put it after stream_mux)", s.cfg.BatchSlot, ds3d.KeyBatchMeta)
	}
	bm, err := ds3d.Get[*meta.BatchMeta](in, ds3d.KeyBatchMeta)
	if err != nil {
		return nil, fmt.Errorf("object_file_sink: %w", err)
	}
	for i := range bm.Frames {
		if int(bm.Frames[i].BatchID) == s.cfg.BatchSlot {
			return &bm.Frames[i], nil
		}
	}
	return nil, nil
}

// Close flushes and closes the files.
func (s *ObjectSink) Close() error {
	var first error
	for _, w := range []*bufio.Writer{s.js, s.mot} {
		if w != nil {
			if err := w.Flush(); err != nil && first == nil {
				first = err
			}
		}
	}
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.files = nil
	return first
}

func init() {
	ds3d.Register(ds3d.KindRender, "object_file_sink",
		`Writes each datamap's 2D objects (DS3D::Object2DBboxKey) as JSON lines in DeepStream's minimal payload schema (frame number, time, sensor id, one "trackingId|left|top|right|bottom|label" string per object) and/or a MOTChallenge results file of the tracked objects, for `+"`ds3d eval mot`"+`.`,
		DefaultObjectSinkConfig,
		func(c *ObjectSinkConfig, _ *ds3d.Env) (any, error) { return NewObjectSink(*c) })
}

// appendMinimal appends one frame as DeepStream's minimal payload schema
// (nvmsgconv's NVDS_PAYLOAD_DEEPSTREAM_MINIMAL), byte for byte what
// msgbroker sends with schema = "deepstream_minimal" for the same datamap
// when it has no metadata file: the sensor id is the source id in decimal.
//
//	{"version":"4.0","id":12,"@timestamp":"2026-12-07T23:59:59.123Z",
//	 "sensorId":"0","objects":["3|100.5|40|180.25|200|Person"]}
//
// Each object is "trackingId|left|top|right|bottom|label" with the pixel
// values as a C++ stream writes a float (6 significant digits); the label
// of what DeepStream types as a vehicle, person or face is that kind
// capitalised ("Vehicle"), any other label as it is. sensors/msgconv holds
// the reference encoder, which core2d may not import (internal/layers);
// render/writer's tests check the two agree.
func appendMinimal(b []byte, frame, ts, src int64, objs []ds3d.Object2D) []byte {
	b = append(b, `{"version":"4.0","id":`...)
	b = strconv.AppendInt(b, frame, 10)
	b = append(b, `,"@timestamp":"`...)
	b = time.Unix(0, ts).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","sensorId":"`...)
	b = strconv.AppendInt(b, src, 10)
	b = append(b, `","objects":[`...)
	var tmp [256]byte
	for i := range objs {
		o := &objs[i]
		if i > 0 {
			b = append(b, ',')
		}
		t := strconv.AppendInt(tmp[:0], o.TrackID, 10)
		for _, v := range [...]float32{o.Left, o.Top, o.Left + o.Width, o.Top + o.Height} {
			t = append(t, '|')
			t = appendCFloat(t, float64(v))
		}
		t = append(t, '|')
		t = append(t, minimalLabel(o.Label)...)
		b = appendJSONString(b, t)
	}
	return append(b, ']', '}')
}

// minimalLabel is the label DeepStream's minimal schema writes: its typed
// objects by kind (nvmsgconv's vehicle, person and face classes).
func minimalLabel(label string) string {
	switch strings.ToLower(label) {
	case "vehicle", "car", "van", "truck", "bus", "tram", "trailer", "construction_vehicle", "motorcycle":
		return "Vehicle"
	case "person", "pedestrian", "person_sitting":
		return "Person"
	case "face":
		return "Face"
	}
	return label
}

// appendCFloat writes v as a C++ ostream writes a float by default (%g,
// 6 significant digits; nan, inf).
func appendCFloat(b []byte, v float64) []byte {
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

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as encoding/json writes it.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
