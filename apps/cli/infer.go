package cli

import (
	"encoding/binary"
	"errors"
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
	"strconv"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/gpuinfer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

func cmdInfer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var inputs, shapes listFlag
	fs.Var(&inputs, "input", "a model input: FILE for input 0 or NAME=FILE (repeatable); FILE is raw little-endian float32 (.bin: one batch element or the whole batch) or, for input 0, a JPEG/PNG image (letterboxed as YOLOX expects; a YOLOX model then prints its detections)")
	fs.Var(&shapes, "shape", "NAME=d0,d1,... fixes the dynamic dims of input NAME (repeatable; infer.Options.InputShapes)")
	img := fs.String("image", "", "same as --input IMAGE")
	output := fs.String("output", "", "write output 0 of the last run to this file as raw little-endian float32")
	outDir := fs.String("output-dir", "", "write every output of the last run to DIR/NAME.bin as raw little-endian float32")
	labels := fs.String("labels", "", "class names file (default: coco_classes.txt beside the model)")
	threads := fs.Int("threads", 1, "inference threads (0: all cores)")
	runs := fs.Int("runs", 10, "timed runs (after one warm-up)")
	batch := fs.Int("batch", 0, "run a fixed-batch-1 export at batch N (infer.Options.Batch: leading dim 1 of inputs and Reshape targets becomes N)")
	profile := fs.Bool("profile", false, "print the time per kernel type and per layer (share of the run, GFLOP/s of convolutions)")
	layers := fs.Int("layers", 15, "with --profile: how many of the slowest layers to list (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d infer [flags] MODEL.onnx\n\nPrints the graph summary (ops, parameters, FLOPs), times the model (on zeros, or on --input),\nwrites the outputs with --output/--output-dir, and for a YOLOX model and an image input\nprints one line per detection. --shape fixes dynamic input dims.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || *batch < 0 || *runs < 1 {
		fs.Usage()
		return 2
	}
	if *img != "" {
		inputs = append(inputs, *img)
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "ds3d infer:", err)
		return 1
	}
	inShapes, err := parseShapes(shapes)
	if err != nil {
		return fail(err)
	}
	path := fs.Arg(0)
	m, err := onnx.Load(path)
	if err != nil {
		return fail(err)
	}
	opt := infer.Options{Threads: *threads, Batch: *batch, InputShapes: inShapes}
	if err := checkDynamic(m, opt); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	sum, err := infer.Summary(m, opt)
	if err != nil {
		return fail(err)
	}
	fmt.Fprint(stdout, sum.String())
	if u := gpuinfer.UnsupportedOps(m); u != nil {
		// The GPU backend (build tag cuda) would refuse the model at load.
		fmt.Fprintf(stdout, "cuda backend: no kernel for %s\n", strings.Join(u, ", "))
	}
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
	var imPath string
	files, err := bindInputs(inputs, s.Inputs())
	if err != nil {
		return fail(err)
	}
	for i, f := range files {
		if f == "" {
			continue
		}
		got, err := fillInput(ins[i], s.Inputs()[i], f, i == 0)
		if err != nil {
			return fail(err)
		}
		if got != nil {
			im, imPath = got, f
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
	if *output != "" {
		if err := writeF32(*output, outs[0]); err != nil {
			return fail(err)
		}
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			return fail(err)
		}
		for i, o := range s.Outputs() {
			if err := writeF32(filepath.Join(*outDir, outputFileName(o.Name)), outs[i]); err != nil {
				return fail(err)
			}
		}
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
	fmt.Fprintf(stdout, "%d detections in %s:\n", len(dets), imPath)
	for _, d := range dets {
		fmt.Fprintf(stdout, "%-14s %.3f  box %.1f %.1f %.1f %.1f\n", d.Label, d.Score, d.Left, d.Top, d.Left+d.Width, d.Top+d.Height)
	}
	return 0
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// parseShapes turns --shape NAME=d0,d1,... values into Options.InputShapes.
func parseShapes(vals []string) (map[string][]int, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := map[string][]int{}
	for _, v := range vals {
		name, dims, ok := strings.Cut(v, "=")
		if !ok || name == "" || dims == "" {
			return nil, fmt.Errorf("--shape %q: want NAME=d0,d1,... (e.g. images=1,3,640,640)", v)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("--shape %q: input %s is given twice", v, name)
		}
		var sh []int
		for _, d := range strings.Split(dims, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("--shape %q: dim %q is not a positive integer", v, d)
			}
			sh = append(sh, n)
		}
		out[name] = sh
	}
	return out, nil
}

// checkDynamic names the graph inputs whose dynamic dims neither --shape
// nor --batch fixes, with the flag that would: the engine compiles static
// shapes only.
func checkDynamic(m *onnx.Model, opt infer.Options) error {
	inits := map[string]bool{}
	for _, t := range m.Graph.Initializers {
		inits[t.Name] = true
	}
	var msgs []string
	for _, in := range m.Graph.Inputs {
		if inits[in.Name] || opt.InputShapes[in.Name] != nil || !in.HasShape {
			continue
		}
		for i, d := range in.Dims {
			if d.Value < 0 && !(i == 0 && opt.Batch > 0) {
				dims, eg := make([]string, len(in.Dims)), make([]string, len(in.Dims))
				for j, d := range in.Dims {
					dims[j], eg[j] = d.String(), d.String()
					if d.Value < 0 {
						eg[j] = "1"
					}
				}
				msgs = append(msgs, fmt.Sprintf("input %s [%s] has dynamic dims: fix them with --shape (e.g. --shape %s=%s)",
					in.Name, strings.Join(dims, ","), in.Name, strings.Join(eg, ",")))
				break
			}
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// bindInputs maps --input values to graph inputs: NAME=FILE names the
// input, a bare FILE is input 0. A value whose text before "=" is no input
// name is a bare file name (paths may contain "=").
func bindInputs(vals []string, infos []infer.IOInfo) ([]string, error) {
	files := make([]string, len(infos))
	index := map[string]int{}
	var names []string
	for i, in := range infos {
		index[in.Name] = i
		names = append(names, in.Name)
	}
	for _, v := range vals {
		i, f := 0, v
		if name, file, ok := strings.Cut(v, "="); ok {
			if j, known := index[name]; known {
				i, f = j, file
			} else if !fileExists(v) {
				return nil, fmt.Errorf("--input %q: the model has no input %q (inputs: %s)", v, name, strings.Join(names, ", "))
			}
		}
		if files[i] != "" {
			return nil, fmt.Errorf("--input %q: input %s is already given (%s)", v, infos[i].Name, files[i])
		}
		files[i] = f
	}
	return files, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// outputFileName is NAME.bin for an output NAME, with path separators and
// other characters unsafe in file names replaced.
func outputFileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		b = append([]byte("output_"), b...)
	}
	return string(b) + ".bin"
}

// writeF32 writes v as raw little-endian float32.
func writeF32(path string, v []float32) error {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// fillInput loads an --input file into dst (graph input info): a .bin file
// of float32 values for one batch element (copied to every element) or for
// the whole input, or (for input 0 only, images allowed) an image
// letterboxed into every [3,S,S] element.
func fillInput(dst []float32, info infer.IOInfo, path string, images bool) (image.Image, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if images && (ext == ".jpg" || ext == ".jpeg" || ext == ".png") {
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
	n := len(b) / 4
	per := len(dst)
	if len(info.Shape) > 0 && info.Shape[0] > 0 {
		per = len(dst) / info.Shape[0]
	}
	if len(b) != 4*len(dst) && len(b) != 4*per {
		return nil, fmt.Errorf("%s: %d bytes; input %s %v needs %d bytes (%d float32 values), or %d for one batch element", path, len(b), info.Name, info.Shape, 4*len(dst), len(dst), 4*per)
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
