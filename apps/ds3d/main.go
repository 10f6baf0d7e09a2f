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
// It imports apps/components, which links every package that registers a
// component, so everything registered anywhere in ds3d-go is available to
// configs.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	_ "github.com/ds3d-go/ds3d-go/apps/components" // every component, format and backend
	// rosbag2's SQLite3 storage (.db3) for `inspect` and mcap_file_loader:
	// a pure-Go SQLite that adds ~6 MB and ~45 s to a cold build, so only
	// the command links it (sensors/ros2/bag/db3).
	_ "github.com/ds3d-go/ds3d-go/sensors/ros2/bag/db3"
)

// version is set at link time (-ldflags "-X main.version=…"); otherwise the
// module build info is used.
var version = ""

const usage = `usage: ds3d <command> [arguments]

commands:
  run [flags] [CONFIG]     run a pipeline; without CONFIG, the bundled default pipeline
  validate CONFIG...       check configs without running them
  components [IMPL]        list registered components and their config keys
  inspect FILE|BAG...      describe point-cloud files (format, points, fields, bounds) and rosbag2 bags (topics)
  view [--out DIR] FILE... show point clouds (and KITTI labels) in the OpenGL viewer, or render PNGs
  infer [--image IMG] MODEL.onnx
                           model summary and latency; with --image, YOLOX detections
  import-yaml FILE.yaml    convert a DeepStream-3D YAML pipeline to TOML (report on stderr)
  eval mot|kitti|v2x|dair|nuscenes|mot3d ...
                           score results: MOTChallenge CLEAR-MOT/IDF1, KITTI BEV/3D AP,
                           DAIR-V2X recall within 2 m, nuScenes centre-distance mAP,
                           3D-track CLEAR-MOT/IDF1 ('ds3d eval' lists the flags)
  version                  print the version

Run 'ds3d <command> -h' for a command's flags.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is main without the process: it returns the exit code, so tests drive
// the command the way a shell does.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "components":
		return cmdComponents(args[1:], stdout, stderr)
	case "inspect":
		return cmdInspect(args[1:], stdout, stderr)
	case "import-yaml":
		return cmdImportYAML(args[1:], stdout, stderr)
	case "view":
		return cmdView(args[1:], stdout, stderr)
	case "infer":
		return cmdInfer(args[1:], stdout, stderr)
	case "eval":
		return cmdEval(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "ds3d", versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "ds3d: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return v + " " + bi.GoVersion
	}
	return "(unknown)"
}
