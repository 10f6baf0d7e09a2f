// Command scalebench measures how ds3d-go's cost grows (issue 19's cost
// curves and real-time goals): `curves` times every point-cloud filter and
// the model-free detector on one core from 10k to 2M points per frame (and
// the 3D tracker from 10 to 3,000 boxes), fits the log-log exponent and
// draws the plots of docs/img/cost-*.png; `streams` runs 1 → 16 lidar
// streams through lidar-inference's detection chain and 1 → 8 video streams
// through video-detect's, each paced at sensor rate, and reports throughput,
// end-to-end latency, drops and memory; `synth` writes the synthetic
// scans both run on (datasets/synth); `plot` redraws the plots from the
// JSON; `configs` writes the benchmark configs of apps/scale-bench. `make
// bench-scale` runs them; the figures are in docs/PERF.md ("Cost curves
// and streams").
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/ds3d-go/ds3d-go/apps/components"
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "curves":
		err = cmdCurves(os.Args[2:])
	case "streams":
		err = cmdStreams(os.Args[2:])
	case "synth":
		err = cmdSynth(os.Args[2:])
	case "plot":
		err = cmdPlot(os.Args[2:])
	case "configs":
		err = cmdConfigs(os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return
	default:
		fmt.Fprintf(os.Stderr, "scalebench: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage (from the repository root):
  go run ./apps/scale-bench/cmd/scalebench curves  [-sizes 10000,...] [-boxes 10,...] [-pool GLOB] [-img DIR] [-out FILE]
  go run ./apps/scale-bench/cmd/scalebench streams [-lidar 1,2,4,8,16] [-video 1,2,4,8] [-duration 20s] [-out FILE]
  go run ./apps/scale-bench/cmd/scalebench synth   [-sensor hdl64e|dense|...] [-frames 20] [-dir DIR]
  go run ./apps/scale-bench/cmd/scalebench plot    [-in out/scale/curves.json] [-img DIR]
  go run ./apps/scale-bench/cmd/scalebench configs [-dir apps/scale-bench]
`)
}

// sharedKITTI is the five KITTI training scans of ../shared/data; the
// bundled sample holds one of them.
const (
	sharedKITTI  = "../shared/data/kitti-object/training/velodyne/*.bin"
	bundledKITTI = "datasets/samples/kitti/velodyne/*.bin"
)

func defaultPool() string {
	if d := os.Getenv("DS3D_SHARED_DATA"); d != "" {
		return filepath.Join(d, "kitti-object/training/velodyne/*.bin")
	}
	if m, _ := filepath.Glob(sharedKITTI); len(m) > 0 {
		return sharedKITTI
	}
	return bundledKITTI
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("list %q: %q is not a positive integer", s, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// CurvesReport is what `curves` writes.
type CurvesReport struct {
	Date       string   `json:"date"`
	Go         string   `json:"go"`
	Pool       []string `json:"pool"`
	Load1Start float64  `json:"load1_start"`
	Load1End   float64  `json:"load1_end"`
	Curves     []Curve  `json:"curves"`
}

func cmdCurves(args []string) error {
	fs := flag.NewFlagSet("curves", flag.ExitOnError)
	sizes := fs.String("sizes", "10000,30000,120000,500000,1000000,2000000", "points per frame")
	boxes := fs.String("boxes", "10,30,100,300,1000,3000", "boxes per frame for the tracker")
	pool := fs.String("pool", defaultPool(), "KITTI .bin scans the clouds are made of")
	only := fs.String("only", "", "comma-separated stage names to run (default all)")
	img := fs.String("img", "docs/img", "folder of the PNG plots; empty: none")
	out := fs.String("out", "out/scale/curves.json", "JSON results")
	budget := fs.Duration("budget", 1500*time.Millisecond, "time per size after the first 3 runs")
	fs.Parse(args)
	ns, err := ints(*sizes)
	if err != nil {
		return err
	}
	bs, err := ints(*boxes)
	if err != nil {
		return err
	}
	p, err := LoadPool(*pool)
	if err != nil {
		return err
	}
	// One core, as the per-frame goals are stated.
	runtime.GOMAXPROCS(1)
	tm := Timing{MinRuns: 3, MaxRuns: 15, Budget: *budget}
	rep := CurvesReport{Date: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(), Pool: p.Files, Load1Start: load1()}
	fmt.Fprintf(os.Stderr, "pool: %d points from %d scans; load %.2f\n", p.Len(), len(p.Files), rep.Load1Start)
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	ctx := context.Background()
	for _, st := range Stages() {
		if len(want) > 0 && !want[st.Name] {
			continue
		}
		cv, err := MeasureStage(ctx, st, p, ns, tm)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%-20s k=%.2f  %s\n", cv.Name, cv.Fit.K, pointsLine(cv))
		rep.Curves = append(rep.Curves, cv)
	}
	if len(want) == 0 || want["tracker_3d"] {
		cv, err := MeasureTracker(bs, tm)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%-20s k=%.2f  %s\n", cv.Name, cv.Fit.K, pointsLine(cv))
		rep.Curves = append(rep.Curves, cv)
	}
	rep.Load1End = load1()
	if err := writeJSON(*out, rep); err != nil {
		return err
	}
	if *img != "" {
		if err := plotAll(*img, &rep); err != nil {
			return err
		}
	}
	WriteCurvesTable(os.Stdout, &rep)
	return nil
}

// cmdPlot redraws the plots and the table from a curves JSON file.
func cmdPlot(args []string) error {
	fs := flag.NewFlagSet("plot", flag.ExitOnError)
	in := fs.String("in", "out/scale/curves.json", "JSON results of curves")
	img := fs.String("img", "docs/img", "folder of the PNG plots")
	fs.Parse(args)
	b, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	var rep CurvesReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	if err := plotAll(*img, &rep); err != nil {
		return err
	}
	WriteCurvesTable(os.Stdout, &rep)
	return nil
}

// plotAll draws the three plots: the filters, the heavier point stages,
// and the tracker (whose n is boxes).
func plotAll(img string, rep *CurvesReport) error {
	{
		var filt, det, trk []Curve
		for _, c := range rep.Curves {
			switch {
			case c.Unit == "boxes":
				trk = append(trk, c)
			case c.Impl == "model_free_detector" || c.Impl == "statistical_outlier_removal" || c.Impl == "radius_outlier_removal" || c.Impl == "ransac_ground_segmentation":
				det = append(det, c)
			default:
				filt = append(filt, c)
			}
		}
		plots := []struct {
			file, title, x string
			c              []Curve
		}{
			{"cost-filters.png", "point-cloud filters - one core", "points per frame", filt},
			{"cost-detect.png", "detector - outlier removal - ground - one core", "points per frame", det},
			{"cost-tracker.png", "tracker_3d - one core", "boxes per frame", trk},
		}
		for _, pl := range plots {
			if len(pl.c) == 0 {
				continue
			}
			if err := PlotLogLog(filepath.Join(img, pl.file), pl.title, pl.x, pl.c); err != nil {
				return err
			}
		}
	}
	return nil
}

func pointsLine(cv Curve) string {
	var b strings.Builder
	for _, p := range cv.Points {
		fmt.Fprintf(&b, " %s:%s", countLabel(float64(p.N)), fmtDur(p.Median))
	}
	return b.String()
}

func fmtDur(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.2fs", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3gms", s*1e3)
	}
	return fmt.Sprintf("%.3gµs", s*1e6)
}

// WriteCurvesTable prints the curves as the Markdown table of docs/PERF.md.
func WriteCurvesTable(w io.Writer, rep *CurvesReport) {
	if len(rep.Curves) == 0 {
		return
	}
	fmt.Fprint(w, "| component | settings |")
	for _, p := range rep.Curves[0].Points {
		fmt.Fprintf(w, " %s |", countLabel(float64(p.N)))
	}
	fmt.Fprintln(w, " exponent k (R²) |")
	fmt.Fprint(w, "|---|---|")
	for range rep.Curves[0].Points {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w, "---|")
	for _, c := range rep.Curves {
		if c.Unit != "points" {
			continue
		}
		fmt.Fprintf(w, "| %s (`%s`) | %s |", c.Name, c.Impl, c.Note)
		for _, p := range c.Points {
			fmt.Fprintf(w, " %s |", fmtDur(p.Median))
		}
		fmt.Fprintf(w, " %.2f (%.3f) |\n", c.Fit.K, c.Fit.R2)
	}
	for _, c := range rep.Curves {
		if c.Unit != "boxes" {
			continue
		}
		fmt.Fprintf(w, "\n| %s, boxes per frame |", c.Name)
		for _, p := range c.Points {
			fmt.Fprintf(w, " %d |", p.N)
		}
		fmt.Fprint(w, " exponent k (R²) |\n|---|")
		for range c.Points {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprint(w, "---|\n| time per frame |")
		for _, p := range c.Points {
			fmt.Fprintf(w, " %s |", fmtDur(p.Median))
		}
		fmt.Fprintf(w, " %.2f (%.3f) |\n", c.Fit.K, c.Fit.R2)
	}
}
