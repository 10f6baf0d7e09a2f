package cli

import (
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

func cmdInfer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("input", "", "input 0 of the model: a raw little-endian float32 file (.bin: one batch element or the whole batch) or a JPEG/PNG image (letterboxed as YOLOX expects; a YOLOX model then prints its detections)")
	img := fs.String("image", "", "same as --input IMAGE")
	labels := fs.String("labels", "", "class names file (default: coco_classes.txt beside the model)")
	threads := fs.Int("threads", 1, "inference threads (0: all cores)")
	runs := fs.Int("runs", 10, "timed runs (after one warm-up)")
	batch := fs.Int("batch", 0, "run a fixed-batch-1 export at batch N (infer.Options.Batch: leading dim 1 of inputs and Reshape targets becomes N)")
	profile := fs.Bool("profile", false, "print the time per kernel type and per layer (share of the run, GFLOP/s of convolutions)")
	layers := fs.Int("layers", 15, "with --profile: how many of the slowest layers to list (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d infer [flags] MODEL.onnx\n\nPrints the graph summary (ops, parameters, FLOPs), times the model (on zeros, or on --input),\nand for a YOLOX model and an image input prints one line per detection.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || *batch < 0 || *runs < 1 {
		fs.Usage()
		return 2
	}
	if *input == "" {
		*input = *img
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	path := fs.Arg(0)
	m, err := onnx.Load(path)
	if err != nil {
		return fail(err)
	}
	opt := infer.Options{Threads: *threads, Batch: *batch}
	sum, err := infer.Summary(m, opt)
	if err != nil {
		return fail(err)
	}
	fmt.Fprint(stdout, sum.String())
	s, err := infer.NewSession(m, opt)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	ins, outs := make([][]float32, len(s.Inputs())), make([][]float32, len(s.Outputs()))
	for i, io := range s.Inputs() {
		ins[i] = make([]float32, io.Size())
	}
	for i, io := range s.Outputs() {
		outs[i] = make([]float32, io.Size())
	}
	var im image.Image
	if *input != "" {
		if im, err = fillInput(ins[0], s.Inputs()[0], *input); err != nil {
			return fail(err)
		}
	}
	if err := s.Run(ins, outs); err != nil {
		return fail(err)
	}
	if *profile {
		s.EnableProfile()
	}
	times := make([]time.Duration, *runs)
	for i := range times {
		t0 := time.Now()
		if err := s.Run(ins, outs); err != nil {
			return fail(err)
		}
		times[i] = time.Since(t0)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	med := times[len(times)/2]
	n := max(*batch, 1)
	fmt.Fprintf(stdout, "latency: median %s, min %s over %d runs, batch %d, %d thread(s), %.1f GFLOP/s, %.1f items/s\n",
		med.Round(10*time.Microsecond), times[0].Round(10*time.Microsecond), len(times), n, *threads,
		float64(sum.FLOPs)/med.Seconds()/1e9, float64(n)/med.Seconds())
	if *profile {
		fmt.Fprintf(stdout, "profile by kernel type (per run):\n%s", indent(infer.FormatProfile(s.Profile(), len(times))))
		lp := s.LayerProfile()
		var total time.Duration
		for _, st := range lp {
			total += st.Total
		}
		sort.SliceStable(lp, func(i, j int) bool { return lp[i].Total > lp[j].Total })
		if *layers > 0 && len(lp) > *layers {
			lp = lp[:*layers]
		}
		fmt.Fprintf(stdout, "slowest layers (per run, share of the whole run):\n%s", indent(infer.FormatProfileOf(lp, len(times), total)))
	}
	if im == nil {
		return 0
	}
	lf := *labels
	if lf == "" {
		lf = filepath.Join(filepath.Dir(path), "coco_classes.txt")
	}
	classes, _ := infer2d.ReadLabels(lf) // without names, detections carry class ids only
	y, err := infer2d.NewYOLOX(path, classes, infer.Options{Threads: *threads})
	if err != nil {
		fmt.Fprintf(stdout, "not a YOLOX model (%v): no detections printed\n", err)
		return 0
	}
	defer y.Close()
	dets, err := y.Detect(im)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "%d detections in %s:\n", len(dets), *input)
	for _, d := range dets {
		fmt.Fprintf(stdout, "%-14s %.3f  box %.1f %.1f %.1f %.1f\n", d.Label, d.Score, d.Left, d.Top, d.Left+d.Width, d.Top+d.Height)
	}
	return 0
}

// fillInput loads --input into dst (graph input info): a .bin file of
// float32 values for one batch element (copied to every element) or for
// the whole input, or an image letterboxed into every [3,S,S] element.
func fillInput(dst []float32, info infer.IOInfo, path string) (image.Image, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".jpg" || ext == ".jpeg" || ext == ".png" {
		sh := info.Shape
		if len(sh) != 4 || sh[1] != 3 || sh[2] != sh[3] {
			return nil, fmt.Errorf("%s: an image input needs a [N,3,S,S] model input, %s is %v", path, info.Name, sh)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		im, _, err := image.Decode(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		per := 3 * sh[2] * sh[3]
		for i := 0; i < sh[0]; i++ {
			infer2d.Letterbox(dst[i*per:(i+1)*per], im, sh[2])
		}
		return im, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of float32 values", path, len(b))
	}
	n := len(b) / 4
	per := len(dst)
	if len(info.Shape) > 0 && info.Shape[0] > 0 {
		per = len(dst) / info.Shape[0]
	}
	if n != len(dst) && n != per {
		return nil, fmt.Errorf("%s: %d float32 values; input %s %v needs %d (or %d for one batch element)", path, n, info.Name, info.Shape, len(dst), per)
	}
	for i := 0; i < n; i++ {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	for off := n; off < len(dst); off += n {
		copy(dst[off:], dst[:n])
	}
	return nil, nil
}

func indent(s string) string {
	if s == "" {
		return s
	}
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
