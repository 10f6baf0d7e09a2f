package camera

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// ListEntry is one image of a camera's sequence.
type ListEntry struct {
	TimestampNs int64
	Path        string // absolute, or relative to the working directory
	Line        int    // line of the entry's [[frame]] in its list file; 0 for globs
}

// List is the images of one camera, in file order.
type List struct {
	File     string // the list file ("" for a glob)
	SourceID int    // -1 when the list does not set one
	Entries  []ListEntry
}

// where names an entry for error messages: the file, and the list line it
// came from when there is a list.
func (l *List) where(e *ListEntry) string {
	if l.File == "" {
		return e.Path
	}
	return fmt.Sprintf("%s (list %s line %d)", e.Path, l.File, e.Line)
}

// ReadList reads a camera list file, the TOML shape sensors/lidar's lists
// use (timestamps say their unit in the key name):
//
//	source_id = 0            # optional
//	[[frame]]
//	timestamp_ms = 0         # or timestamp_ns
//	path = "image_2/000000.png"
//
// Relative paths resolve against the list file's folder. Every file must
// exist: a missing one is an error naming the list file and line.
//
// sensors/lidar.ReadList reads the same shape, but its messages speak of
// lidar lists and point-cloud files; this reader keeps messages about images.
func ReadList(path string) (*List, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("camera list: %w", err)
	}
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
		return nil, fmt.Errorf("camera list %s: %w", path, tomlLine(err))
	}
	l := &List{File: path, SourceID: -1}
	if doc.SourceID != nil {
		l.SourceID = *doc.SourceID
	}
	lines := frameLines(data)
	dir := filepath.Dir(path)
	for i, f := range doc.Frame {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		e := ListEntry{Path: f.Path, Line: line}
		switch {
		case f.Path == "":
			return nil, fmt.Errorf("camera list %s: line %d: frame %d has no path", path, line, i)
		case f.TimestampMs != nil && f.TimestampNs != nil:
			return nil, fmt.Errorf("camera list %s: line %d: frame %d has both timestamp_ms and timestamp_ns", path, line, i)
		case f.TimestampMs != nil:
			e.TimestampNs = int64(*f.TimestampMs * 1e6)
		case f.TimestampNs != nil:
			e.TimestampNs = *f.TimestampNs
		default:
			return nil, fmt.Errorf("camera list %s: line %d: frame %d has no timestamp_ms", path, line, i)
		}
		if !filepath.IsAbs(e.Path) {
			e.Path = filepath.Join(dir, e.Path)
		}
		if st, err := os.Stat(e.Path); err != nil {
			return nil, fmt.Errorf("camera list %s: line %d: frame %d: %w", path, line, i, err)
		} else if st.IsDir() {
			return nil, fmt.Errorf("camera list %s: line %d: frame %d: %s is a folder, want an image file", path, line, i, e.Path)
		}
		l.Entries = append(l.Entries, e)
	}
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("camera list %s: no frames", path)
	}
	return l, nil
}

// tomlLine puts go-toml's position first: "line 3: …".
func tomlLine(err error) error {
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

// GlobList makes one camera's list from a glob pattern: the matches in
// lexical order (folders skipped), image k stamped k/rateHz seconds.
func GlobList(pattern string, rateHz float64) (*List, error) {
	m, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("camera files %q: %w", pattern, err)
	}
	sort.Strings(m)
	l := &List{SourceID: -1}
	for _, f := range m {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		k := len(l.Entries)
		l.Entries = append(l.Entries, ListEntry{TimestampNs: int64(float64(k) * 1e9 / rateHz), Path: f})
	}
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("camera files %q: no file matches", pattern)
	}
	return l, nil
}
