package depth_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/depth"
)

// formatPairs writes pairs back in their layout, for the round trip.
func formatPairs(pairs []depth.Pair) string {
	var b strings.Builder
	for _, p := range pairs {
		if p.HasTime {
			fmt.Fprintf(&b, "%d.%09d %s %d.%09d %s\n", p.ColorNs/1e9, p.ColorNs%1e9, p.ColorPath, p.DepthNs/1e9, p.DepthNs%1e9, p.DepthPath)
		} else {
			fmt.Fprintf(&b, "%s %s\n", p.DepthPath, p.ColorPath)
		}
	}
	return b.String()
}

// FuzzParseAssociations: any input parses or fails with an error (never a
// panic); what parses has sane fields and survives a write-and-parse round trip.
func FuzzParseAssociations(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join(sampledata.SharedDir(f), "rgbd-open3d/redwood-livingroom1/rgbd.match")); err == nil {
		f.Add(data) // the real Redwood file
	}
	// TUM associate.py output (fr1/xyz's first lines: its real layout).
	f.Add([]byte("1305031102.175304 rgb/1305031102.175304.png 1305031102.160407 depth/1305031102.160407.png\n" +
		"1305031102.211214 rgb/1305031102.211214.png 1305031102.226738 depth/1305031102.226738.png\n"))
	f.Add([]byte("# comment\n\n  depth/0.png\tcolor/0.jpg  \r\n"))
	f.Add([]byte("depth/0.png\n"))
	f.Add([]byte("1.5 a 2 b\ndepth c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pairs, err := depth.ParseAssociations("fuzz", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "association file fuzz") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if len(pairs) == 0 {
			t.Fatal("no pairs and no error")
		}
		last := 0
		for _, p := range pairs {
			if p.ColorPath == "" || p.DepthPath == "" || strings.ContainsAny(p.ColorPath+p.DepthPath, " \t\n\r") {
				t.Fatalf("bad paths %q %q", p.ColorPath, p.DepthPath)
			}
			if p.Line <= last || p.ColorNs < 0 || p.DepthNs < 0 || p.HasTime != pairs[0].HasTime {
				t.Fatalf("bad pair %+v after line %d", p, last)
			}
			last = p.Line
		}
		again, err := depth.ParseAssociations("fuzz", []byte(formatPairs(pairs)))
		if err != nil || len(again) != len(pairs) {
			t.Fatalf("round trip: %v, %d pairs of %d", err, len(again), len(pairs))
		}
		for i := range pairs {
			a, b := pairs[i], again[i]
			a.Line, b.Line = 0, 0
			if a != b {
				t.Fatalf("round trip pair %d: %+v became %+v", i, pairs[i], again[i])
			}
		}
	})
}
