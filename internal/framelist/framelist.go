// Package framelist reads the timestamped frame lists that the file
// loaders share (lidar scans, camera images):
//
//	source_id = 0            # optional
//	[[frame]]
//	timestamp_ms = 0         # or timestamp_ns
//	path = "velodyne/000000.bin"
//	ego_pose = [...]         # optional: 16 numbers, row-major world-from-ego
//
// Relative paths resolve against the list file's folder and every file must
// exist; errors name the list file and the line of the frame's [[frame]]
// header. Each loader names its lists in messages ("lidar list", "camera
// list") and says what kind of file a frame should be.
package framelist

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Entry is one frame: when it was captured and where its file is.
type Entry struct {
	TimestampNs int64
	Path        string // absolute, or relative to the working directory
	Line        int    // line of the entry in its list file (0 for globs)
	// EgoPose is the frame's world-from-ego pose (row-major 4×4, rigid),
	// when the list gives one (nuScenes' ego_pose); nil otherwise.
	EgoPose *[16]float64
}

// List is the frames of one source, in file order.
type List struct {
	File     string // the list file ("" for a glob)
	SourceID int    // -1 when the list does not set one
	Entries  []Entry
}

// ParseTOML parses a list file's bytes; noun ("lidar list") and path
// appear in errors. Paths are left as written (see Finish).
func ParseTOML(noun, path string, data []byte) (*List, error) {
	var doc struct {
		SourceID *int `toml:"source_id"`
		Frame    []struct {
			TimestampMs *float64  `toml:"timestamp_ms"`
			TimestampNs *int64    `toml:"timestamp_ns"`
			Path        string    `toml:"path"`
			EgoPose     []float64 `toml:"ego_pose"`
		} `toml:"frame"`
	}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s %s: %w", noun, path, TOMLLine(err))
	}
	l := &List{File: path, SourceID: -1}
	if doc.SourceID != nil {
		l.SourceID = *doc.SourceID
	}
	lines := frameLines(data)
	for i, f := range doc.Frame {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		e := Entry{Path: f.Path, Line: line}
		switch {
		case f.Path == "":
			return nil, fmt.Errorf("%s %s: line %d: frame %d has no path", noun, path, line, i)
		case f.TimestampMs != nil && f.TimestampNs != nil:
			return nil, fmt.Errorf("%s %s: line %d: frame %d has both timestamp_ms and timestamp_ns", noun, path, line, i)
		case f.TimestampMs != nil:
			e.TimestampNs = int64(*f.TimestampMs * 1e6)
		case f.TimestampNs != nil:
			e.TimestampNs = *f.TimestampNs
		default:
			return nil, fmt.Errorf("%s %s: line %d: frame %d has no timestamp_ms", noun, path, line, i)
		}
		if f.EgoPose != nil {
			pose, err := rigidPose(f.EgoPose)
			if err != nil {
				return nil, fmt.Errorf("%s %s: line %d: frame %d: ego_pose: %w", noun, path, line, i, err)
			}
			e.EgoPose = pose
		}
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

// Finish resolves relative paths against the list file's folder, checks
// that every file exists and is a file (want says what it should be: "a
// point-cloud file"), and that the list has frames.
func Finish(noun string, l *List, want string) error {
	dir := filepath.Dir(l.File)
	for i := range l.Entries {
		e := &l.Entries[i]
		if !filepath.IsAbs(e.Path) {
			e.Path = filepath.Join(dir, e.Path)
		}
		if st, err := os.Stat(e.Path); err != nil {
			return fmt.Errorf("%s %s: line %d: frame %d: %w", noun, l.File, e.Line, i, err)
		} else if st.IsDir() {
			return fmt.Errorf("%s %s: line %d: frame %d: %s is a folder, want %s", noun, l.File, e.Line, i, e.Path, want)
		}
	}
	if len(l.Entries) == 0 {
		return fmt.Errorf("%s %s: no frames", noun, l.File)
	}
	return nil
}

// rigidPose checks an ego_pose: 16 finite numbers, a rotation (orthonormal
// to 1e-4, determinant +1: nuScenes' quaternions are stored to float32
// precision) and a last row of 0 0 0 1.
func rigidPose(v []float64) (*[16]float64, error) {
	if len(v) != 16 {
		return nil, fmt.Errorf("want 16 numbers (row-major 4×4), got %d", len(v))
	}
	var m [16]float64
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("element %d is %v", i, x)
		}
		m[i] = x
	}
	if m[12] != 0 || m[13] != 0 || m[14] != 0 || m[15] != 1 {
		return nil, fmt.Errorf("last row is %v, want [0 0 0 1]", m[12:16])
	}
	for a := 0; a < 3; a++ {
		for b := 0; b < 3; b++ {
			dot := 0.0
			for k := 0; k < 3; k++ {
				dot += m[a*4+k] * m[b*4+k]
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(dot-want) > 1e-4 {
				return nil, fmt.Errorf("the 3×3 part is not a rotation (row %d · row %d = %.6f)", a, b, dot)
			}
		}
	}
	det := m[0]*(m[5]*m[10]-m[6]*m[9]) - m[1]*(m[4]*m[10]-m[6]*m[8]) + m[2]*(m[4]*m[9]-m[5]*m[8])
	if det < 0 {
		return nil, fmt.Errorf("the 3×3 part is a reflection (determinant %.4f)", det)
	}
	return &m, nil
}

// TOMLLine puts go-toml's position first: "line 3: …".
func TOMLLine(err error) error {
	if de, ok := err.(*toml.DecodeError); ok {
		row, _ := de.Position()
		return fmt.Errorf("line %d: %s", row, de.Error())
	}
	if se, ok := err.(*toml.StrictMissingError); ok && len(se.Errors) > 0 {
		row, _ := se.Errors[0].Position()
		return fmt.Errorf("line %d: unknown key %q", row, strings.Join(se.Errors[0].Key(), "."))
	}
	return err
}

// frameLines returns the line of each [[frame]] header, since typed TOML
// decoding forgets positions.
func frameLines(data []byte) []int {
	var out []int
	for i, line := range bytes.Split(data, []byte("\n")) {
		if bytes.Equal(bytes.TrimSpace(line), []byte("[[frame]]")) {
			out = append(out, i+1)
		}
	}
	return out
}

// LoopSpan is how far a looped replay's timestamps advance per loop: from
// the first to the last frame plus one mean frame period (1/rateHz for a
// single frame), so a loop continues the timeline.
func LoopSpan(entries []Entry, rateHz float64) int64 {
	span := entries[len(entries)-1].TimestampNs - entries[0].TimestampNs
	if len(entries) > 1 {
		return span + span/int64(len(entries)-1)
	}
	return span + int64(1e9/rateHz)
}

// Count is how many datamaps a loader with n frames emits: with loop,
// maxFrames, or -1 (endless) without it; otherwise n, capped by maxFrames
// when it is set.
func Count(n int, loop bool, maxFrames int) int {
	switch {
	case loop && maxFrames > 0:
		return maxFrames
	case loop:
		return -1
	case maxFrames > 0:
		return min(n, maxFrames)
	}
	return n
}
