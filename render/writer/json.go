package writer

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// JSONConfig configures json_box_writer.
type JSONConfig struct {
	Path         ds3d.Path `toml:"path" nonempty:"true" required:"true" doc:"JSON-lines output file; \"-\" writes to standard output"`
	BoxKey       string    `toml:"lidar_bbox_key" nonempty:"true" doc:"key of the []Box3D boxes"`
	FrameID      string    `toml:"frame_id" doc:"coordinate frame of the boxes, written as the detection3d frame_id; empty: \"lidar\", msgbroker's default"`
	MetadataFile ds3d.Path `toml:"metadata_file" path:"exists" doc:"TOML file of sensor metadata per source id, as msgbroker's metadata_file (docs/PAYLOADS.md); empty uses the source id as sensor_id"`
	EventsKey    string    `toml:"events_key" doc:"key of analytics events (*ds3d.AnalyticsEvents, filters/analytics): when set, each event is one line in the ds3d analytics 1.0 schema (docs/PAYLOADS.md) instead of one line of boxes per datamap, and a datamap without events writes nothing"`
}

// DefaultJSONConfig returns the defaults; frame_id is msgbroker's, so a
// file and a broker message of the same datamap are the same bytes.
func DefaultJSONConfig() *JSONConfig {
	return &JSONConfig{BoxKey: string(ds3d.KeyLidar3DBboxRawData), FrameID: "lidar"}
}

// JSONWriter is json_box_writer. Each datamap becomes one line holding
// one ds3d detection3d 1.0 JSON document (docs/PAYLOADS.md,
// docs/schema/ds3d-detection3d-1.0.schema.json) — byte for byte the
// payload msgbroker sends with schema = "ds3d_json" and message_per =
// "frame" for the same datamap and config:
//
//	{"version":"1.0","sensor_id":"0","source_id":0,"frame_number":3,
//	 "frame_id":"lidar","timestamp":"1970-01-01T00:00:00.300Z",
//	 "timestamp_ns":300000000,"objects":[{"track_id":-1,"class_id":0,
//	 "label":"Car","score":0.9,"center":[x,y,z],"size":[dx,dy,dz],"yaw":r,
//	 "velocity":[vx,vy]}]}
//
// The boxes stay in their own frame and units (metres, radians; size is
// length, width, height; z at the box centre). As in msgbroker,
// frame_number and source_id are −1 when the datamap lacks them, the
// sensor id is that of source id max(source_id, 0) in the metadata, and a
// datamap without a timestamp is stamped with the time it is written. A
// datamap without boxes writes "objects":[] (warned once). Floats are
// written by msgconv.EncodeJSON: the fewest digits that read back to the
// same float32, NaN and ±Inf as null.
type JSONWriter struct {
	path    string
	key     ds3d.Key
	events  ds3d.Key
	frameID string
	meta    msgconv.Metadata
	sensors map[int64]*msgconv.SensorMeta
	warn    warnOnce
	f       *os.File
	w       *bufio.Writer
	buf     []byte
	lines   int64
}

// NewJSONWriter builds a writer from a checked config; it reads the
// metadata file but opens nothing (Start does).
func NewJSONWriter(c *JSONConfig, log *slog.Logger) (*JSONWriter, error) {
	j := &JSONWriter{path: string(c.Path), key: ds3d.Key(c.BoxKey), events: ds3d.Key(c.EventsKey), frameID: c.FrameID, warn: warnOnce{log: log}}
	if c.MetadataFile != "" {
		md, err := msgconv.LoadMetadata(string(c.MetadataFile))
		if err != nil {
			return nil, err
		}
		j.meta = md
	}
	return j, nil
}

// Start opens the output.
func (j *JSONWriter) Start(context.Context) error {
	if j.frameID == "" {
		j.frameID = DefaultJSONConfig().FrameID
	}
	if j.path == "-" {
		j.w = bufio.NewWriter(os.Stdout)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(j.path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(j.path)
	if err != nil {
		return err
	}
	j.f, j.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Render writes in's line.
func (j *JSONWriter) Render(_ context.Context, in *ds3d.DataMap) error {
	if j.events != "" {
		return j.renderEvents(in)
	}
	boxes, _, err := j.warn.boxes(in, j.key)
	if err != nil {
		return err
	}
	fn, err := in.Int64(ds3d.KeyFrameNumber)
	if err != nil {
		fn = -1
	}
	src, err := in.Int64(ds3d.KeySourceID)
	if err != nil {
		src = -1
	}
	ts, ok := in.Timestamp()
	if !ok {
		ts = time.Now().UnixNano()
	}
	h := msgconv.Header{SensorID: j.sensor(src).Sensor.ID, SourceID: int32(src), FrameNumber: fn, FrameID: j.frameID, Timestamp: ts}
	b := msgconv.EncodeJSON(j.buf[:0], &h, boxes, nil)
	b = append(b, '\n')
	j.buf = b
	j.lines++
	_, err = j.w.Write(b)
	return err
}

// renderEvents writes one line per analytics event of in, each with the
// sensor id of its own source.
func (j *JSONWriter) renderEvents(in *ds3d.DataMap) error {
	if !in.Has(j.events) {
		return nil
	}
	evs, err := ds3d.Get[*ds3d.AnalyticsEvents](in, j.events)
	if err != nil || evs == nil {
		return err
	}
	b := j.buf[:0]
	for i := range evs.Events {
		e := &evs.Events[i]
		b = msgconv.AppendAnalyticsJSON(b, j.sensor(int64(e.SourceID)).Sensor.ID, e)
		b = append(b, '\n')
		j.lines++
	}
	j.buf = b
	_, err = j.w.Write(b)
	return err
}

// sensor returns a source's metadata, cached: Metadata.For builds a new
// default for every source the file does not name.
func (j *JSONWriter) sensor(src int64) *msgconv.SensorMeta {
	if m, ok := j.sensors[src]; ok {
		return m
	}
	if j.sensors == nil {
		j.sensors = map[int64]*msgconv.SensorMeta{}
	}
	m := j.meta.For(int(max(src, 0)))
	j.sensors[src] = m
	return m
}

// Close flushes and closes the output.
func (j *JSONWriter) Close() error {
	if j.w == nil {
		return nil
	}
	err := j.w.Flush()
	if j.f != nil {
		if cerr := j.f.Close(); err == nil {
			err = cerr
		}
	}
	if j.warn.log != nil && j.path != "-" {
		j.warn.log.Info("wrote box lines", "lines", j.lines, "path", j.path)
	}
	j.w = nil
	return err
}
