package lidar

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ds3d-go/ds3d-go/internal/framelist"
)

// ListEntry is one frame of a lidar list: when it was captured and where
// its file is.
type ListEntry = framelist.Entry

// List is the frames of one lidar source, in file order.
type List = framelist.List

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
		l, err = framelist.ParseTOML("lidar list", path, data)
	}
	if err != nil {
		return nil, err
	}
	if err := framelist.Finish("lidar list", l, "a point-cloud file"); err != nil {
		return nil, err
	}
	return l, nil
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
