package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/las"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

func cmdInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d inspect FILE...\n\nPrints a point-cloud file's format, point count, fields, bounds, intensity range, NaN count and decode time.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for i, path := range fs.Args() {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		// Packet captures: sensor model, return mode, rotations, points.
		if e := strings.ToLower(filepath.Ext(path)); e == ".pcap" || e == ".pcapng" {
			pi, err := pcap.Inspect(path)
			if err == nil {
				err = pi.WriteText(stdout)
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
		if err := info.WriteText(stdout); err != nil {
			return 1
		}
		// LAS: the header's version, format, VLRs and the exact float64
		// bounds (the [N,4] float32 frame rounds georeferenced coordinates).
		if strings.EqualFold(filepath.Ext(path), ".las") {
			if li, err := las.ReadInfo(path); err == nil {
				fmt.Fprint(stdout, li.String())
			}
		}
	}
	return code
}
