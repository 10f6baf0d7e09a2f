package camera

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ds3d-go/ds3d-go/internal/framelist"
)

// ListEntry is one image of a camera's sequence.
type ListEntry = framelist.Entry

// List is the images of one camera, in file order.
type List = framelist.List

// where names an entry for error messages: the file, and the list line it
// came from when there is a list.
func where(l *List, e *ListEntry) string {
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
// It is the same reader as sensors/lidar's (internal/framelist), with
// messages about camera lists and image files.
func ReadList(path string) (*List, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("camera list: %w", err)
	}
	l, err := framelist.ParseTOML("camera list", path, data)
	if err != nil {
		return nil, err
	}
	if err := framelist.Finish("camera list", l, "an image file"); err != nil {
		return nil, err
	}
	return l, nil
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
