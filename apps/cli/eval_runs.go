package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/ds3d-go/ds3d-go/datasets/dair"
	"github.com/ds3d-go/ds3d-go/datasets/nuscenes"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/fusion/eval"
)

func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	return fs
}

func printJSON(w io.Writer, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintf(w, "%s\n", b)
}

func predFrames(path string) ([][]ds3d.Box3D, error) {
	fs, err := eval.ReadBoxFile(path)
	if err != nil {
		return nil, err
	}
	out := make([][]ds3d.Box3D, len(fs))
	for i, f := range fs {
		out[i] = f.Boxes
	}
	return out, nil
}

// dairLabelFiles lists a DAIR-V2X label JSON file, or the *.json files of
// a folder sorted by name.
func dairLabelFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	m, err := filepath.Glob(filepath.Join(path, "*.json"))
	if err != nil || len(m) == 0 {
		return nil, fmt.Errorf("eval: %s: no *.json label files", path)
	}
	sort.Strings(m)
	return m, nil
}

const v2xUsage = `usage: ds3d eval v2x --gt LABEL.json|LABEL_DIR --pred BOXES.jsonl [--dist 2] [--json]

Recall of DAIR-V2X(-C/-I) labelled objects (label/virtuallidar/*.json, box
centres in the virtual-lidar frame) within a BEV centre distance of the
detections in a json_box_writer file (line k pairs with the k-th label file
in name order). Matching is greedy one-to-one, closest pairs first. Per
labelled class it prints the recall by detections of the mapped detector
class (Car/Van/Truck/Bus → Car, Pedestrian, Cyclist/Motorcyclist/
Tricyclist/Barrowlist → Cyclist) and by detections of any class.
`

// evalV2X is "ds3d eval v2x" (also "dair"); args follow the subcommand.
func evalV2X(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ds3d eval v2x", v2xUsage, stderr)
	gtPath := fs.String("gt", "", "DAIR-V2X label file or folder (label/virtuallidar)")
	predPath := fs.String("pred", "", "json_box_writer JSON-lines file")
	dist := fs.Float64("dist", 2, "largest BEV centre distance of a match, metres")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if *gtPath == "" || *predPath == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "ds3d eval v2x: need --gt and --pred and no other arguments")
		fs.Usage()
		return 2
	}
	files, err := dairLabelFiles(*gtPath)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval v2x:", err)
		return 1
	}
	var gt [][]ds3d.Box3D
	for _, f := range files {
		ls, err := dair.ReadLabels(f)
		if err != nil {
			fmt.Fprintln(stderr, "ds3d eval v2x:", err)
			return 1
		}
		var bs []ds3d.Box3D
		for _, l := range ls {
			bs = append(bs, l.Box())
		}
		gt = append(gt, bs)
	}
	pred, err := predFrames(*predPath)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval v2x:", err)
		return 1
	}
	if len(pred) != len(gt) {
		fmt.Fprintf(stderr, "ds3d eval v2x: %s has %d lines for %d label files\n", *predPath, len(pred), len(gt))
		return 1
	}
	res, err := eval.RecallWithin(gt, pred, *dist, eval.DAIRToDetector)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval v2x:", err)
		return 1
	}
	if *asJSON {
		printJSON(stdout, res)
		return 0
	}
	for _, c := range append(res.Classes, res.Total()) {
		as := c.As
		if as == "" && c.Class != "all" {
			as = "-"
		}
		fmt.Fprintf(stdout, "%-12s gt %3d  recall@%gm %.4f (as %s: %d)  any class %.4f (%d)\n", c.Class, c.NumGT, res.MaxDist, c.Recall(), as, c.Found, c.RecallAny(), c.FoundAny)
	}
	fmt.Fprintf(stdout, "detections %d, unmatched %d\n", res.Detections, res.Unmatched)
	return 0
}

const nuUsage = `usage: ds3d eval nuscenes --info INFO.json --pred BOXES.jsonl [--json]

nuScenes detection AP (centre distance 0.5/1/2/4 m, 101-point precision,
min recall and precision 0.1, class ranges; see package fusion/eval) of the
detections in a json_box_writer file (line k pairs with sample k of the
info file, boxes in the LIDAR_TOP frame) against the info file's boxes.
Detection labels map to nuScenes names case-insensitively (Car → car,
Pedestrian/person → pedestrian, Cyclist/bicycle → bicycle, …).
`

// nuBoxesOfSample converts a nuScenes sample's objects to scored GT boxes.
func nuBoxesOfSample(s *nuscenes.Sample) []eval.NuBox {
	out := make([]eval.NuBox, 0, len(s.Objects))
	for _, o := range s.Objects {
		out = append(out, eval.NuBox{Name: o.Box.Label, Box: o.Box, Points: o.NumLidarPts + o.NumRadarPts})
	}
	return out
}

// nuBoxesOfPredictions names predictions by NuScenesName; unmapped labels
// are dropped.
func nuBoxesOfPredictions(bs []ds3d.Box3D) []eval.NuBox {
	var out []eval.NuBox
	for _, b := range bs {
		if n := eval.NuScenesName(b.Label); n != "" {
			out = append(out, eval.NuBox{Name: n, Box: b})
		}
	}
	return out
}

// evalNuScenes is "ds3d eval nuscenes".
func evalNuScenes(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ds3d eval nuscenes", nuUsage, stderr)
	infoPath := fs.String("info", "", "nuScenes info JSON (datasets/nuscenes)")
	predPath := fs.String("pred", "", "json_box_writer JSON-lines file")
	asJSON := fs.Bool("json", false, "print JSON")
	dist := fs.Float64("dist", 2, "recall: BEV centre distance in metres within which a GT box counts as found")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if !(*dist > 0) {
		fmt.Fprintf(stderr, "ds3d eval nuscenes: --dist is %v, want a positive distance\n", *dist)
		return 2
	}
	if *infoPath == "" || *predPath == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "ds3d eval nuscenes: need --info and --pred and no other arguments")
		fs.Usage()
		return 2
	}
	info, err := nuscenes.ReadInfo(*infoPath)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval nuscenes:", err)
		return 1
	}
	pred, err := predFrames(*predPath)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval nuscenes:", err)
		return 1
	}
	if len(pred) != len(info.Samples) {
		fmt.Fprintf(stderr, "ds3d eval nuscenes: %s has %d lines for %d samples\n", *predPath, len(pred), len(info.Samples))
		return 1
	}
	gt := make([][]eval.NuBox, len(pred))
	pb := make([][]eval.NuBox, len(pred))
	for i := range pred {
		gt[i] = nuBoxesOfSample(&info.Samples[i])
		pb[i] = nuBoxesOfPredictions(pred[i])
	}
	res, err := eval.NuScenes(gt, pb)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval nuscenes:", err)
		return 1
	}
	rec, err := eval.NuScenesRecallWithin(gt, pb, *dist)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval nuscenes:", err)
		return 1
	}
	if *asJSON {
		printJSON(stdout, struct {
			AP     any                 `json:"ap"`
			Recall eval.NuScenesRecall `json:"recall"`
		}{jsonNaN(res), rec})
		return 0
	}
	for _, c := range res.Classes {
		fmt.Fprintf(stdout, "%-20s gt %3d  AP@0.5 %.4f  @1 %.4f  @2 %.4f  @4 %.4f  mean %.4f\n", c.Class, c.NumGT, c.AP[0], c.AP[1], c.AP[2], c.AP[3], c.Mean)
	}
	fmt.Fprintf(stdout, "mAP %.4f (devkit: all 10 classes)  mAP over classes with GT %.4f\n", res.MAP, res.MAPWithGT)
	for _, c := range rec.Classes {
		fmt.Fprintf(stdout, "recall@%gm %-13s %d/%d (same class)  %d/%d (any class)\n", *dist, c.Class, c.Found, c.NumGT, c.FoundAny, c.NumGT)
	}
	t := rec.Total()
	fmt.Fprintf(stdout, "recall@%gm all           %d/%d (same class)  %d/%d (any class)\n", *dist, t.Found, t.NumGT, t.FoundAny, t.NumGT)
	fmt.Fprintf(stdout, "class accuracy of matched predictions %d/%d; predictions %d, unmatched %d\n", rec.ClassCorrect, rec.Matched, rec.Detections, rec.Unmatched)
	return 0
}

// jsonNaN replaces a NaN mAP (no class with GT) by null for JSON.
func jsonNaN(r eval.NuScenesResult) any {
	type out struct {
		eval.NuScenesResult
		MAPWithGT *float64 `json:"map_classes_with_gt"`
	}
	o := out{NuScenesResult: r}
	if !math.IsNaN(r.MAPWithGT) {
		v := r.MAPWithGT
		o.MAPWithGT = &v
	}
	return o
}

const mot3dUsage = `usage: ds3d eval mot3d --gt GT.jsonl --pred PRED.jsonl [--dist 2] [--any-class] [--json]

CLEAR-MOT (MOTA, MOTP in metres), MT/PT/ML and IDF1 of 3D tracks, with
ground truth and tracks as json_box_writer JSON lines (track_id set; line
k of one pairs with line k of the other). Boxes pair by BEV centre distance
≤ --dist and, unless --any-class, equal labels; the matching is
2D CLEAR-MOT's (py-motmetrics' rule and Hungarian assignment).
`

// evalMOT3D is "ds3d eval mot3d".
func evalMOT3D(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ds3d eval mot3d", mot3dUsage, stderr)
	gtPath := fs.String("gt", "", "ground-truth tracks (JSON lines)")
	predPath := fs.String("pred", "", "predicted tracks (JSON lines)")
	dist := fs.Float64("dist", 2, "largest BEV centre distance of a match, metres")
	anyClass := fs.Bool("any-class", false, "match boxes whatever their labels")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if *gtPath == "" || *predPath == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "ds3d eval mot3d: need --gt and --pred and no other arguments")
		fs.Usage()
		return 2
	}
	gt, err := predFrames(*gtPath)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval mot3d:", err)
		return 1
	}
	pred, err := predFrames(*predPath)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval mot3d:", err)
		return 1
	}
	if len(gt) != len(pred) {
		fmt.Fprintf(stderr, "ds3d eval mot3d: %d ground-truth lines but %d prediction lines\n", len(gt), len(pred))
		return 1
	}
	m, err := eval.MOT3D(gt, pred, *dist, !*anyClass)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval mot3d:", err)
		return 1
	}
	if *asJSON {
		printJSON(stdout, m)
		return 0
	}
	writeMOT(stdout, m)
	return 0
}

func writeMOT(w io.Writer, m eval.MOTMetrics) {
	fmt.Fprintf(w, "MOTA %.4f  MOTP %.4f m  IDF1 %.4f  IDP %.4f  IDR %.4f\n", m.MOTA, m.MOTP, m.IDF1, m.IDP, m.IDR)
	fmt.Fprintf(w, "objects %d  tracks-boxes %d  matches %d  switches %d  FP %d  misses %d  frag %d  MT %d PT %d ML %d\n",
		m.NumObjects, m.NumPredictions, m.NumMatches, m.NumSwitches, m.NumFalsePositives, m.NumMisses, m.NumFragmentations,
		m.MostlyTracked, m.PartiallyTracked, m.MostlyLost)
}
