package lidar

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"
)

// ListEntry is one frame of a lidar list: when it was captured and where
// its file is.
type ListEntry struct {
	TimestampNs int64
	Path        string // absolute, or relative to the working directory
	Line        int    // line of the entry in its list file, for messages
}

// List is the frames of one lidar source, in file order.
type List struct {
	File     string // the list file ("" for a glob)
	SourceID int    // -1 when the list does not set one
	Entries  []ListEntry
}

// ReadList reads a lidar list file. Two forms are accepted:
//
// TOML (ours; timestamps say their unit in the key name):
//
//	source_id = 0            # optional
//	[[frame]]
//	timestamp_ms = 0
//	path = "velodyne/000000.bin"
//
// and DeepStream-3D's YAML, a sequence of single-entry maps from timestamp
// (milliseconds) to path, optionally under one top-level key, or of
// {timestamp, path} maps:
//
//   - 0: velodyne/000000.bin
//   - 100: velodyne/000001.bin
//
// Relative paths resolve against the list file's folder. Every file must
// exist: a missing one is an error naming the list file and line.
func ReadList(path string) (*List, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lidar list: %w", err)
	}
	var l *List
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		l, err = parseYAMLList(path, data)
	default:
		l, err = parseTOMLList(path, data)
	}
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i := range l.Entries {
		e := &l.Entries[i]
		if !filepath.IsAbs(e.Path) {
			e.Path = filepath.Join(dir, e.Path)
		}
		if st, err := os.Stat(e.Path); err != nil {
			return nil, fmt.Errorf("lidar list %s: line %d: frame %d: %w", path, e.Line, i, err)
		} else if st.IsDir() {
			return nil, fmt.Errorf("lidar list %s: line %d: frame %d: %s is a folder, want a point-cloud file", path, e.Line, i, e.Path)
		}
	}
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("lidar list %s: no frames", path)
	}
	return l, nil
}

func parseTOMLList(path string, data []byte) (*List, error) {
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
		return nil, fmt.Errorf("lidar list %s: %w", path, tomlLine(err))
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
		e := ListEntry{Path: f.Path, Line: line}
		switch {
		case f.Path == "":
			return nil, fmt.Errorf("lidar list %s: line %d: frame %d has no path", path, line, i)
		case f.TimestampMs != nil && f.TimestampNs != nil:
			return nil, fmt.Errorf("lidar list %s: line %d: frame %d has both timestamp_ms and timestamp_ns", path, line, i)
		case f.TimestampMs != nil:
			e.TimestampNs = int64(*f.TimestampMs * 1e6)
		case f.TimestampNs != nil:
			e.TimestampNs = *f.TimestampNs
		default:
			return nil, fmt.Errorf("lidar list %s: line %d: frame %d has no timestamp_ms", path, line, i)
		}
		l.Entries = append(l.Entries, e)
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

// frameLines returns the line of each [[frame]] header.
func frameLines(data []byte) []int {
	var out []int
	for i, line := range bytes.Split(data, []byte("\n")) {
		if bytes.Equal(bytes.TrimSpace(line), []byte("[[frame]]")) {
			out = append(out, i+1)
		}
	}
	return out
}

func parseYAMLList(path string, data []byte) (*List, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("lidar list %s: %w", path, err)
	}
	l := &List{File: path, SourceID: -1}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	// A mapping holding the sequence (and maybe a source id) under a key.
	if n.Kind == yaml.MappingNode {
		var seq *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch {
			case k.Value == "source-id" || k.Value == "source_id":
				id, err := strconv.Atoi(v.Value)
				if err != nil {
					return nil, fmt.Errorf("lidar list %s: line %d: source id %q is not an integer", path, v.Line, v.Value)
				}
				l.SourceID = id
			case v.Kind == yaml.SequenceNode && seq == nil:
				seq = v
			}
		}
		if seq == nil {
			return nil, fmt.Errorf("lidar list %s: line %d: expected a sequence of {timestamp: path} entries", path, n.Line)
		}
		n = seq
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("lidar list %s: line %d: expected a sequence of {timestamp: path} entries", path, n.Line)
	}
	for i, item := range n.Content {
		if item.Kind != yaml.MappingNode || len(item.Content) == 0 {
			return nil, fmt.Errorf("lidar list %s: line %d: entry %d: expected {timestamp: path}", path, item.Line, i)
		}
		e := ListEntry{Line: item.Line}
		fields := map[string]*yaml.Node{}
		for j := 0; j+1 < len(item.Content); j += 2 {
			fields[item.Content[j].Value] = item.Content[j+1]
		}
		if p, ok := fields["path"]; ok {
			ts, ok := fields["timestamp"]
			if !ok {
				return nil, fmt.Errorf("lidar list %s: line %d: entry %d has a path but no timestamp", path, item.Line, i)
			}
			ms, err := strconv.ParseFloat(ts.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("lidar list %s: line %d: timestamp %q is not a number of milliseconds", path, ts.Line, ts.Value)
			}
			e.TimestampNs, e.Path = int64(ms*1e6), p.Value
		} else if len(item.Content) == 2 {
			k, v := item.Content[0], item.Content[1]
			ms, err := strconv.ParseFloat(k.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("lidar list %s: line %d: timestamp %q is not a number of milliseconds", path, k.Line, k.Value)
			}
			e.TimestampNs, e.Path = int64(ms*1e6), v.Value
		} else {
			return nil, fmt.Errorf("lidar list %s: line %d: entry %d: expected {timestamp: path}", path, item.Line, i)
		}
		if e.Path == "" {
			return nil, fmt.Errorf("lidar list %s: line %d: entry %d has an empty path", path, item.Line, i)
		}
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

// GlobList makes a list from glob patterns: the matches in lexical order,
// frame k stamped k/rateHz seconds.
func GlobList(patterns []string, rateHz float64) (*List, error) {
	var files []string
	for _, p := range patterns {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("lidar files %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("lidar files %q: no file matches", p)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	l := &List{SourceID: -1}
	for k, f := range files {
		l.Entries = append(l.Entries, ListEntry{TimestampNs: int64(float64(k) * 1e9 / rateHz), Path: f})
	}
	return l, nil
}
