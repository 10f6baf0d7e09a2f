package cli

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/datasets/synth"
)

// cmdSynth generates a synthetic sequence (datasets/synth, docs/SYNTH.md).
func cmdSynth(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d synth --out DIR [--seed N] [--frames N] [--sensor "+strings.Join(synth.SensorNames, "|")+"]\n"+
			"                  [--format kitti,nuscenes,pcd,mcap] [--camera] [--depth] [--truth] ...\n\n"+
			"Generates a procedural street (road, kerbs, sidewalks, buildings, poles, trees, parked and moving cars,\n"+
			"vans, trucks, pedestrians, cyclists) and scans it with a ray-cast lidar at 10 Hz while the ego drives.\n"+
			"The same seed gives the same files. See docs/SYNTH.md.")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "output folder (created)")
	seed := fs.Uint64("seed", 1, "scene seed")
	frames := fs.Int("frames", 10, "frames to generate (10 Hz)")
	sensor := fs.String("sensor", "hdl64e", "lidar: "+strings.Join(synth.SensorNames, ", "))
	columns := fs.Int("columns", 0, "firings per revolution (0: the sensor's own; os1-128 also runs 2048)")
	format := fs.String("format", "kitti", "comma-separated outputs: "+strings.Join(synth.Formats, ", "))
	camera := fs.Bool("camera", false, "render image_2 PNGs (KITTI P2, 1242×375)")
	depth := fs.Bool("depth", false, "render depth_2 16-bit PNGs (mm along the optical axis)")
	truth := fs.Bool("truth", false, "also write the undistorted points (pcd: undistorted/, mcap: /points_undistorted)")
	speed := fs.Float64("speed", 10, "ego speed in m/s")
	yawRate := fs.Float64("yaw-rate", 0, "ego yaw rate in °/s")
	noise := fs.Float64("noise", 0.02, "range noise σ in m")
	dropout := fs.Float64("dropout", 0.01, "probability of losing a return")
	still := fs.Bool("still", false, "no motion distortion (the ego stands still during each sweep)")
	every := fs.Int("progress", 10, "print a progress line every N frames (0: none)")
	workers := fs.Int("workers", 1, "goroutines casting each frame's beams (the output does not depend on it)")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ds3d synth: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case *out == "":
		return bad("--out DIR is required")
	case *frames < 1 || *frames > 100000:
		return bad("--frames %d: want 1..100000", *frames)
	case *columns < 0 || *columns > 20000:
		return bad("--columns %d: want 0..20000", *columns)
	case !(*noise >= 0 && *noise <= 1):
		return bad("--noise %g: want 0..1 m", *noise)
	case !(*dropout >= 0 && *dropout < 1):
		return bad("--dropout %g: want 0 ≤ p < 1", *dropout)
	case !(math.Abs(*speed) <= 60):
		return bad("--speed %g: want |speed| ≤ 60 m/s", *speed)
	case !(math.Abs(*yawRate) <= 90):
		return bad("--yaw-rate %g: want |rate| ≤ 90 °/s", *yawRate)
	case *every < 0:
		return bad("--progress %d: want ≥ 0", *every)
	case *workers < 1 || *workers > 256:
		return bad("--workers %d: want 1..256", *workers)
	}
	sen, err := synth.NewSensor(*sensor)
	if err != nil {
		return bad("--sensor: %v", err)
	}
	if *columns > 0 {
		sen.Columns = *columns
	}
	var formats []string
	for _, f := range strings.Split(*format, ",") {
		if f = strings.TrimSpace(f); f != "" {
			formats = append(formats, f)
		}
	}
	if len(formats) == 0 && !*camera && !*depth {
		return bad("--format is empty and neither --camera nor --depth is set: nothing to write")
	}
	scene, err := synth.NewScene(*seed, synth.Options{Frames: *frames, Speed: *speed, YawRate: *yawRate * math.Pi / 180})
	if err != nil {
		fmt.Fprintln(stderr, "ds3d synth:", err)
		return 1
	}
	w, err := synth.NewOutput(*out, synth.OutputOptions{Formats: formats, Camera: *camera, Depth: *depth, Truth: *truth})
	if err != nil {
		if strings.Contains(err.Error(), "unknown format") {
			return bad("--format: %v", err)
		}
		fmt.Fprintln(stderr, "ds3d synth:", err)
		return 1
	}
	sc := synth.NewScanner(sen, synth.LidarOptions{NoiseSigma: *noise, Dropout: *dropout, MinIntensity: synth.DefaultLidarOptions().MinIntensity, Still: *still, Workers: *workers})
	var fd synth.FrameData
	start := time.Now()
	points := 0
	for i := 0; i < *frames; i++ {
		sc.Scan(&fd, scene, i)
		points += fd.Points.Points()
		if err := w.Write(scene, &fd); err != nil {
			w.Close()
			fmt.Fprintf(stderr, "ds3d synth: frame %d: %v\n", i, err)
			return 1
		}
		if *every > 0 && ((i+1)%*every == 0 || i+1 == *frames) {
			fmt.Fprintf(stderr, "synth: %d/%d frames, %d points, %.1f s\n", i+1, *frames, points, time.Since(start).Seconds())
		}
	}
	if err := w.Close(); err != nil {
		fmt.Fprintln(stderr, "ds3d synth:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %d %s frames (%d points, %d objects in the scene) to %s\n", *frames, sen.Name, points, len(scene.Objects), *out)
	return 0
}
