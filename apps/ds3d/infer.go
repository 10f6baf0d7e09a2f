package main

import (
	"flag"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

func cmdInfer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	img := fs.String("image", "", "run the model as a YOLOX detector on this JPEG/PNG and print one line per detection")
	labels := fs.String("labels", "", "class names file (default: coco_classes.txt beside the model)")
	threads := fs.Int("threads", 1, "inference threads (0: all cores)")
	runs := fs.Int("runs", 10, "timed runs (after one warm-up)")
	profile := fs.Bool("profile", false, "print the time per kernel type")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d infer [flags] MODEL.onnx\n\nPrints the graph summary (ops, parameters, FLOPs), times the model on a zero input, and with\n--image runs it as a YOLOX detector.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	path := fs.Arg(0)
	m, err := onnx.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	opt := infer.Options{Threads: *threads}
	sum, err := infer.Summary(m, opt)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	fmt.Fprint(stdout, sum.String())
	s, err := infer.NewSession(m, opt)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	defer s.Close()
	ins, outs := make([][]float32, len(s.Inputs())), make([][]float32, len(s.Outputs()))
	for i, io := range s.Inputs() {
		ins[i] = make([]float32, io.Size())
	}
	for i, io := range s.Outputs() {
		outs[i] = make([]float32, io.Size())
	}
	if err := s.Run(ins, outs); err != nil {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	if *profile {
		s.EnableProfile()
	}
	times := make([]time.Duration, max(*runs, 1))
	for i := range times {
		t0 := time.Now()
		if err := s.Run(ins, outs); err != nil {
			fmt.Fprintln(stderr, "ds3d infer:", err)
			return 1
		}
		times[i] = time.Since(t0)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	med := times[len(times)/2]
	fmt.Fprintf(stdout, "latency: median %s, min %s over %d runs, %d thread(s), %.1f GFLOP/s\n",
		med.Round(10*time.Microsecond), times[0].Round(10*time.Microsecond), len(times), *threads, float64(sum.FLOPs)/med.Seconds()/1e9)
	if *profile {
		for _, st := range s.Profile() {
			fmt.Fprintf(stdout, "  %-32s %4d calls %10s\n", st.Kernel, st.Calls, (st.Total / time.Duration(len(times))).Round(time.Microsecond))
		}
	}
	if *img == "" {
		return 0
	}
	lf := *labels
	if lf == "" {
		lf = filepath.Join(filepath.Dir(path), "coco_classes.txt")
	}
	classes, _ := infer.ReadLabels(lf) // without names, detections carry class ids only
	y, err := infer.NewYOLOX(path, classes, opt)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	defer y.Close()
	f, err := os.Open(*img)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	im, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "ds3d infer: %s: %v\n", *img, err)
		return 1
	}
	dets, err := y.Detect(im)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%d detections in %s:\n", len(dets), *img)
	for _, d := range dets {
		fmt.Fprintf(stdout, "%-14s %.3f  box %.1f %.1f %.1f %.1f\n", d.Label, d.Score, d.Left, d.Top, d.Left+d.Width, d.Top+d.Height)
	}
	return 0
}
