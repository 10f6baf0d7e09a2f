// Package cli is the ds3d command as a library: Main runs it on a list of
// arguments, so a custom binary is its own component packages as blank
// imports plus one call (apps/ds3d is exactly that, with apps/components):
//
//	package main
//
//	import (
//		"os"
//
//		_ "github.com/ds3d-go/ds3d-go/apps/components" // every built-in component
//		"github.com/ds3d-go/ds3d-go/apps/cli"
//		_ "example.com/mycomponents"                    // registers its own in init
//	)
//
//	func main() { os.Exit(cli.Main(os.Args[1:])) }
//
// The commands: run, validate, components, inspect, view, infer,
// import-yaml, eval and version ('ds3d help' lists them). Only components
// registered in the binary are available to configs: the package itself
// imports none besides those its commands use directly.
package cli

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Version, when set (at link time with -ldflags "-X
// github.com/ds3d-go/ds3d-go/apps/cli.Version=…" or by an embedding
// program), is what 'ds3d version' prints; otherwise the module build info
// is used.
var Version = ""

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
  synth --out DIR [flags]  generate procedural street scenes with ground truth (lidar, camera, labels)
  version                  print the version

Run 'ds3d <command> -h' for a command's flags.
`

// Main runs the command on args (os.Args[1:]) with the process's standard
// output and error and returns its exit status: 0 done, 1 failed, 2 usage.
func Main(args []string) int { return Run(args, os.Stdout, os.Stderr) }

// Run is Main with the output streams given, so tests and embedders drive
// the command the way a shell does.
func Run(args []string, stdout, stderr io.Writer) int { return run(args, stdout, stderr) }

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
	case "synth":
		return cmdSynth(args[1:], stdout, stderr)
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
	if Version != "" {
		return Version
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
