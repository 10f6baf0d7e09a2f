// Package framelist reads the timestamped frame lists that the file
// loaders share (lidar scans, camera images):
//
//	source_id = 0            # optional
//	[[frame]]
//	timestamp_ms = 0         # or timestamp_ns
//	path = "velodyne/000000.bin"
//
// Relative paths resolve against the list file's folder and every file must
// exist; errors name the list file and the line of the frame's [[frame]]
// header. Each loader names its lists in messages ("lidar list", "camera
// list") and says what kind of file a frame should be.
package framelist

import (
	"bytes"
	"fmt"
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
			TimestampMs *float64 `toml:"timestamp_ms"`
			TimestampNs *int64   `toml:"timestamp_ns"`
			Path        string   `toml:"path"`
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
