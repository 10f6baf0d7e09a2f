package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/las"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

func cmdInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d inspect [--json] FILE|BAG...\n\nPrints a point-cloud file's format, point count, fields, bounds, intensity range, NaN count and decode time;\nfor a rosbag2 bag (a folder with metadata.yaml, or a .mcap file) its topics with type, message count,\ntime span and the point fields of PointCloud2 topics. --json prints one JSON object per file instead.")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print one JSON object per file (the same facts, machine-readable)")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for i, path := range fs.Args() {
		if i > 0 && !*asJSON {
			fmt.Fprintln(stdout)
		}
		// rosbag2 bags: topics, counts, time spans, PointCloud2 fields.
		if bag.IsBag(path) {
			bi, err := bag.Inspect(path, false)
			if err == nil {
				if *asJSON {
					err = bi.WriteJSON(stdout)
				} else {
					err = bi.WriteText(stdout)
				}
			}
			if err != nil {
				fmt.Fprintln(stderr, "ds3d inspect:", err)
				code = 1
			}
			continue
		}
		// Packet captures: sensor model, return mode, rotations, points.
		if e := strings.ToLower(filepath.Ext(path)); e == ".pcap" || e == ".pcapng" {
			pi, err := pcap.Inspect(path)
			if err == nil {
				if *asJSON {
					err = writeJSON(stdout, pi)
				} else {
					err = pi.WriteText(stdout)
				}
			}
			if err != nil {
				fmt.Fprintln(stderr, "ds3d inspect:", err)
				code = 1
			}
			continue
		}
		info, err := lidar.Inspect(path)
		if err != nil {
			fmt.Fprintln(stderr, "ds3d inspect:", err)
			code = 1
			continue
		}
		// LAS: the header's version, format, VLRs and the exact float64
		// bounds (the [N,4] float32 frame rounds georeferenced coordinates).
		var li *las.Info
		if strings.EqualFold(filepath.Ext(path), ".las") {
			if li, err = las.ReadInfo(path); err != nil {
				fmt.Fprintln(stderr, "ds3d inspect:", err)
				code = 1
				continue
			}
		}
		if *asJSON {
			err = writeJSON(stdout, struct {
				lidar.Info
				LAS *las.Info `json:"las,omitempty"`
			}{info, li})
		} else if err = info.WriteText(stdout); err == nil && li != nil {
			_, err = io.WriteString(stdout, li.String())
		}
		if err != nil {
			return 1
		}
	}
	return code
}

func writeJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}
