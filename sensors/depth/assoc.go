package depth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pair is one RGB-D frame of an association file.
type Pair struct {
	ColorPath, DepthPath string
	// ColorNs and DepthNs are the capture times in nanoseconds; HasTime is
	// false for formats without times (Redwood's rgbd.match).
	ColorNs, DepthNs int64
	HasTime          bool
	Line             int // line in the association file, for messages
}

// ParseAssociations parses an association file's contents. Two layouts are
// recognised by their column count, and one file must use one of them:
//
//	depth/00000.png color/00000.jpg                       Redwood rgbd.match: depth, colour
//	1305031102.175304 rgb/x.png 1305031102.160407 depth/x.png   TUM associate.py: ts_rgb rgb ts_depth depth
//
// TUM times are decimal seconds (parsed exactly to the nanosecond, not via
// float64). Blank lines and lines starting with '#' are skipped. Paths are
// returned as written; name is used in messages only. Paths cannot contain
// whitespace, as in both formats.
func ParseAssociations(name string, data []byte) ([]Pair, error) {
	var pairs []Pair
	cols, colsLine := 0, 0
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := i + 1
		s := strings.TrimSpace(string(raw))
		if s == "" || s[0] == '#' {
			continue
		}
		f := strings.Fields(s)
		if len(f) != 2 && len(f) != 4 {
			return nil, fmt.Errorf("association file %s: line %d: %d column(s); want 2 (Redwood rgbd.match: depth colour) or 4 (TUM associations: ts_rgb rgb ts_depth depth)", name, line, len(f))
		}
		if cols != 0 && len(f) != cols {
			return nil, fmt.Errorf("association file %s: line %d: %d columns, but line %d has %d; one file holds one layout", name, line, len(f), colsLine, cols)
		}
		cols, colsLine = len(f), line
		p := Pair{Line: line}
		if len(f) == 2 {
			p.DepthPath, p.ColorPath = f[0], f[1]
		} else {
			var err error
			if p.ColorNs, err = ParseSeconds(f[0]); err != nil {
				return nil, fmt.Errorf("association file %s: line %d: colour timestamp: %w", name, line, err)
			}
			if p.DepthNs, err = ParseSeconds(f[2]); err != nil {
				return nil, fmt.Errorf("association file %s: line %d: depth timestamp: %w", name, line, err)
			}
			p.ColorPath, p.DepthPath, p.HasTime = f[1], f[3], true
		}
		pairs = append(pairs, p)
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("association file %s: no pairs", name)
	}
	return pairs, nil
}

// ParseSeconds parses non-negative decimal seconds ("1305031102.175304")
// into nanoseconds exactly; digits past the ninth decimal are refused rather
// than rounded, since no RGB-D sensor stamps finer than that.
func ParseSeconds(s string) (int64, error) {
	ip, fp, _ := strings.Cut(s, ".")
	if ip == "" && fp == "" {
		return 0, fmt.Errorf("%q is not a time in seconds", s)
	}
	if len(fp) > 9 {
		return 0, fmt.Errorf("%q has more than 9 decimals", s)
	}
	for _, part := range []string{ip, fp} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("%q is not a time in seconds (digits and one '.' only)", s)
			}
		}
	}
	var sec int64
	if ip != "" {
		v, err := strconv.ParseInt(ip, 10, 64)
		if err != nil || v > (1<<63-1)/1_000_000_000-1 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		sec = v
	}
	var ns int64
	if fp != "" {
		v, _ := strconv.ParseInt(fp+strings.Repeat("0", 9-len(fp)), 10, 64) // ≤ 9 digits checked above
		ns = v
	}
	return sec*1_000_000_000 + ns, nil
}

// ReadAssociations reads an association file, resolves its paths against
// the file's folder and checks that every file exists; a missing one is an
// error naming the association file and line.
func ReadAssociations(path string) ([]Pair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("association file: %w", err)
	}
	pairs, err := ParseAssociations(path, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i := range pairs {
		p := &pairs[i]
		for _, q := range []*string{&p.DepthPath, &p.ColorPath} {
			if !filepath.IsAbs(*q) {
				*q = filepath.Join(dir, *q)
			}
			if st, err := os.Stat(*q); err != nil {
				return nil, fmt.Errorf("association file %s: line %d: %w", path, p.Line, err)
			} else if st.IsDir() {
				return nil, fmt.Errorf("association file %s: line %d: %s is a folder, want an image file", path, p.Line, *q)
			}
		}
	}
	return pairs, nil
}
