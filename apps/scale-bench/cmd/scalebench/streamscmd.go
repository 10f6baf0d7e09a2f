package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Inputs of the stream configs, relative to apps/scale-bench.
const (
	appDir      = "apps/scale-bench"
	lidarFiles  = "../../datasets/samples/kitti/velodyne/*.bin"
	sharedFiles = "../../../shared/data/kitti-object/training/velodyne/*.bin"
	videoURI    = "../../datasets/samples/video/vtest_20f_h264.mp4"
	yoloxModel  = "../../datasets/samples/models/yolox-nano/yolox_nano.onnx"
	cocoLabels  = "../../datasets/samples/models/yolox-nano/coco_classes.txt"
)

// StreamsReport is what `streams` writes.
type StreamsReport struct {
	Date       string          `json:"date"`
	Go         string          `json:"go"`
	GOMAXPROCS int             `json:"gomaxprocs"`
	LidarFiles string          `json:"lidar_files"`
	Runs       []*StreamResult `json:"runs"`
}

// lidarGlob prefers the five KITTI scans of ../shared (the tracker then
// sees a changing scene) over the one bundled scan.
func lidarGlob(dir string) string {
	if m, _ := filepath.Glob(filepath.Join(dir, sharedFiles)); len(m) > 0 {
		return sharedFiles
	}
	return lidarFiles
}

func cmdStreams(args []string) error {
	fs := flag.NewFlagSet("streams", flag.ExitOnError)
	lidar := fs.String("lidar", "1,2,4,8,16", "lidar stream counts (empty: none)")
	video := fs.String("video", "1,2,4,8", "video stream counts (empty: none)")
	dur := fs.Duration("duration", 20*time.Second, "length of each run")
	rate := fs.Float64("rate", 10, "lidar and video frame rate, Hz")
	out := fs.String("out", "out/scale/streams.json", "JSON results")
	files := fs.String("lidar-files", "", "glob of the lidar .bin scans, relative to "+appDir+" (default: the KITTI scans of ../shared, else the bundled one)")
	fs.Parse(args)
	registerProbe()
	dir, err := filepath.Abs(appDir)
	if err != nil {
		return err
	}
	rep := StreamsReport{Date: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), LidarFiles: lidarGlob(dir)}
	if *files != "" {
		rep.LidarFiles = *files
	}
	frames := int(dur.Seconds() * *rate)
	period := time.Duration(float64(time.Second) / *rate)
	ctx := context.Background()
	if *lidar != "" {
		ns, err := ints(*lidar)
		if err != nil {
			return err
		}
		for _, n := range ns {
			r, err := RunPaced(ctx, "lidar", dir, LidarStreams(n, rep.LidarFiles, *rate, frames, true), n, n*frames, period)
			if err != nil {
				return err
			}
			printRun(os.Stderr, r)
			rep.Runs = append(rep.Runs, r)
			runtime.GC()
		}
	}
	if *video != "" {
		ns, err := ints(*video)
		if err != nil {
			return err
		}
		for _, n := range ns {
			r, err := RunPaced(ctx, "video", dir, VideoStreams(n, videoURI, yoloxModel, cocoLabels, *rate, frames, true), n, n*frames, period)
			if err != nil {
				return err
			}
			printRun(os.Stderr, r)
			rep.Runs = append(rep.Runs, r)
			runtime.GC()
		}
	}
	if err := writeJSON(*out, rep); err != nil {
		return err
	}
	WriteStreamsTable(os.Stdout, &rep)
	return nil
}

func printRun(w io.Writer, r *StreamResult) {
	fmt.Fprintf(w, "%s ×%d: %d/%d delivered in %.1fs (%.1f/s), %d sets, drops %d, late %d, p50 %s p99 %s max %s, heap peak %.0f MiB, rss peak %.0f MiB, load %.2f→%.2f\n",
		r.Kind, r.Streams, r.Delivered, r.Expected, r.Wall.Seconds(), r.FPS, r.Sets, r.Drops, r.Late,
		fmtDur(r.P50.Seconds()), fmtDur(r.P99.Seconds()), fmtDur(r.Max.Seconds()),
		float64(r.HeapPeak)/(1<<20), float64(r.RSSPeak)/(1<<20), r.Load1Start, r.Load1End)
	for _, s := range r.Stages {
		fmt.Fprintf(w, "    %-22s p50 %-9s p99 %-9s %.1f/s\n", s.Impl, fmtDur(s.P50.Seconds()), fmtDur(s.P99.Seconds()), s.FPS)
	}
}

// WriteStreamsTable prints the runs as the Markdown table of docs/PERF.md.
func WriteStreamsTable(w io.Writer, rep *StreamsReport) {
	fmt.Fprintln(w, "| run | streams | frames processed / sent | per second | mixer sets / batches | drops | late (> 1 period) | latency p50 | p99 | max | slowest stage p50 / p99 | Go heap in use peak | RSS peak | load (1 min) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rep.Runs {
		var slow StageLatency
		for _, s := range r.Stages {
			if s.P50 > slow.P50 && s.Impl != probeImpl && s.Impl != "app_sink" {
				slow = s
			}
		}
		fmt.Fprintf(w, "| %s | %d | %d / %d | %.1f | %d | %d | %d | %s | %s | %s | %s %s / %s | %.0f MiB | %.0f MiB | %.1f–%.1f |\n",
			r.Kind, r.Streams, r.Delivered, r.Expected, r.FPS, r.Sets, r.Drops, r.Late,
			fmtDur(r.P50.Seconds()), fmtDur(r.P99.Seconds()), fmtDur(r.Max.Seconds()),
			slow.Impl, fmtDur(slow.P50.Seconds()), fmtDur(slow.P99.Seconds()),
			float64(r.HeapPeak)/(1<<20), float64(r.RSSPeak)/(1<<20), r.Load1Start, r.Load1End)
	}
}

func cmdConfigs(args []string) error {
	fs := flag.NewFlagSet("configs", flag.ExitOnError)
	dir := fs.String("dir", appDir, "folder to write the configs to")
	fs.Parse(args)
	files := map[string]string{
		LidarConfigName(1):  LidarStreams(1, lidarFiles, 10, 300, false),
		LidarConfigName(16): LidarStreams(16, lidarFiles, 10, 300, false),
		VideoConfigName(8):  VideoStreams(8, videoURI, yoloxModel, cocoLabels, 10, 300, false),
	}
	for name, doc := range files {
		if err := os.WriteFile(filepath.Join(*dir, name), []byte(doc), 0o644); err != nil {
			return err
		}
	}
	return nil
}
