package osd

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ObjectSinkConfig configures object_file_sink.
type ObjectSinkConfig struct {
	JSONPath    ds3d.Path `toml:"json_path" doc:"JSON lines file: one object per datamap with frame, source, pts and its objects; empty: none"`
	MOTPath     ds3d.Path `toml:"mot_path" doc:"MOTChallenge results file (frame,id,left,top,width,height,conf,-1,-1,-1) of the tracked objects; empty: none"`
	ObjectsKey  string    `toml:"objects_key" nonempty:"true" doc:"key of the []Object2D"`
	MOTLabels   []string  `toml:"mot_labels" doc:"labels written to the MOT file (e.g. [\"person\"]); empty: every class"`
	FrameOffset int       `toml:"mot_frame_offset" doc:"added to DS3D::FrameNumber to make the MOT frame (MOTChallenge frames start at 1)"`
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
	rec    frameRecord
}

type objectRecord struct {
	Left    float32 `json:"left"`
	Top     float32 `json:"top"`
	Width   float32 `json:"width"`
	Height  float32 `json:"height"`
	ClassID int32   `json:"class_id"`
	Label   string  `json:"label,omitempty"`
	Score   float32 `json:"score"`
	TrackID int64   `json:"track_id"`
}

type frameRecord struct {
	Frame   int64          `json:"frame"`
	Source  int64          `json:"source"`
	PTS     int64          `json:"pts_ns"`
	Objects []objectRecord `json:"objects"`
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
	ts, _ := in.Timestamp()
	if s.js != nil {
		r := &s.rec
		r.Frame, r.Source, r.PTS, r.Objects = frame, src, ts, r.Objects[:0]
		for _, o := range objs {
			r.Objects = append(r.Objects, objectRecord{o.Left, o.Top, o.Width, o.Height, o.ClassID, o.Label, o.Score, o.TrackID})
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		s.js.Write(b)
		s.js.WriteByte('\n')
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
		`Writes each datamap's 2D objects (DS3D::Object2DBboxKey) as JSON lines (frame, source, PTS, boxes, classes, scores, track ids) and/or a MOTChallenge results file of the tracked objects, for `+"`ds3d eval mot`"+`.`,
		func() *ObjectSinkConfig {
			return &ObjectSinkConfig{ObjectsKey: string(ds3d.KeyObject2DBbox), FrameOffset: 1}
		},
		func(c *ObjectSinkConfig, _ *ds3d.Env) (any, error) { return NewObjectSink(*c) })
}
