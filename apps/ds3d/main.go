// Command ds3d runs, checks and documents ds3d-go pipelines:
//
//	ds3d run [CONFIG]          run a TOML pipeline (no argument: the bundled default)
//	ds3d validate CONFIG...    check configs and report every problem with file and line
//	ds3d components [IMPL]     list registered components with their config keys
//	ds3d inspect FILE|BAG...   describe point-cloud files and rosbag2 bags
//	ds3d view FILE...          show point clouds in the OpenGL viewer
//	ds3d infer MODEL.onnx      model summary, latency, YOLOX detections
//	ds3d import-yaml FILE      convert DeepStream-3D YAML to TOML
//	ds3d eval KIND ...         score results: mot, kitti, v2x|dair, nuscenes, mot3d
//	ds3d version               print the version
//
// The command lives in apps/cli; this binary is every registered component
// (apps/components) plus one call, the same shape a custom binary with its
// own components takes.
package main

import (
	"os"

	"github.com/ds3d-go/ds3d-go/apps/cli"
	_ "github.com/ds3d-go/ds3d-go/apps/components" // every component, format and backend
	// rosbag2's SQLite3 storage (.db3) for `inspect` and mcap_file_loader:
	// a pure-Go SQLite that adds ~6 MB and ~45 s to a cold build, so only
	// the command links it (sensors/ros2/bag/db3).
	_ "github.com/ds3d-go/ds3d-go/sensors/ros2/bag/db3"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
