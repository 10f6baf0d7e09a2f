package writer

import (
	"bufio"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"unicode/utf8"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// JSONConfig configures json_box_writer.
type JSONConfig struct {
	Path   ds3d.Path `toml:"path" nonempty:"true" required:"true" doc:"JSON-lines output file; \"-\" writes to standard output"`
	BoxKey string    `toml:"lidar_bbox_key" nonempty:"true" doc:"key of the []Box3D boxes"`
}

// JSONWriter is json_box_writer. Each datamap becomes one line:
//
//	{"frame":3,"timestamp_ns":300000000,"source_id":0,"boxes":[
//	  {"center":[x,y,z],"size":[dx,dy,dz],"yaw":r,"class_id":0,"label":"Car",
//	   "score":0.9,"track_id":-1,"velocity":[vx,vy]}]}
//
// in the boxes' own frame and units (metres, radians; size is length,
// width, height; z at the box centre). frame and source_id are −1 and
// timestamp_ns is absent when the datamap lacks them; a datamap without
// boxes writes "boxes":[] (warned once). Floats are written with the fewest
// digits that read back to the same float32; NaN and ±Inf are written as
// null.
type JSONWriter struct {
	path  string
	key   ds3d.Key
	warn  warnOnce
	f     *os.File
	w     *bufio.Writer
	buf   []byte
	lines int64
}

// Start opens the output.
func (j *JSONWriter) Start(context.Context) error {
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
	b := append(j.buf[:0], `{"frame":`...)
	b = strconv.AppendInt(b, fn, 10)
	if ts, ok := in.Timestamp(); ok {
		b = append(b, `,"timestamp_ns":`...)
		b = strconv.AppendInt(b, ts, 10)
	}
	b = append(b, `,"source_id":`...)
	b = strconv.AppendInt(b, src, 10)
	b = append(b, `,"boxes":[`...)
	for i := range boxes {
		x := &boxes[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"center":`...)
		b = appendFloats(b, x.CX, x.CY, x.CZ)
		b = append(b, `,"size":`...)
		b = appendFloats(b, x.DX, x.DY, x.DZ)
		b = append(b, `,"yaw":`...)
		b = appendFloat(b, x.Yaw)
		b = append(b, `,"class_id":`...)
		b = strconv.AppendInt(b, int64(x.ClassID), 10)
		b = append(b, `,"label":`...)
		b = appendString(b, x.Label)
		b = append(b, `,"score":`...)
		b = appendFloat(b, x.Score)
		b = append(b, `,"track_id":`...)
		b = strconv.AppendInt(b, x.TrackID, 10)
		b = append(b, `,"velocity":`...)
		b = appendFloats(b, x.VX, x.VY)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	j.buf = b
	j.lines++
	_, err = j.w.Write(b)
	return err
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

func appendFloat(b []byte, v float32) []byte {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, float64(v), 'g', -1, 32)
}

func appendFloats(b []byte, vs ...float32) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, v)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
