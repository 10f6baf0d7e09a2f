package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ds3d-go/ds3d-go/fusion/eval"
)

const kittiUsage = `usage: ds3d eval kitti --gt LABEL_DIR --pred PRED_DIR [--class Car[,Pedestrian,...]] [--curve devkit|exact] [--json]

Scores KITTI-format detections (%06d.txt label files, 16th column the score)
against KITTI ground truth exactly as the KITTI object devkit does
(evaluate_object_3d_offline.cpp; see package fusion/eval): 2D, orientation
(AOS), BEV and 3D AP per class and difficulty, R11 (what the devkit prints)
and R40 (the mean of rows 2-41 of its plot file), as fractions of 1. Only
frames with a file in PRED_DIR are scored. Boxes are compared in the
rectified camera frame, as the devkit does.

--curve devkit (the default) samples recall at the devkit's 41 score
thresholds, so published KITTI numbers compare; on small sets this is far
from the exact curve (one pedestrian, found: R11 0.0909, R40 0).
--curve exact evaluates every detection score instead.

Prints a table, one row per class, metric and difficulty, with the counted
ground truth (gt) and the TP and FP with every detection; "-" where the
devkit evaluates nothing (no detection of the class, or AOS without valid
alpha). --json prints the same rows as JSON (ap_r11/ap_r40 null there).
`

// evalKITTI is the "ds3d eval kitti" command: args are the arguments after
// "kitti". It returns 0 on success, 1 on a read or evaluation error, 2 on
// a usage error.
func evalKITTI(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ds3d eval kitti", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, kittiUsage); fs.PrintDefaults() }
	gtDir := fs.String("gt", "", "ground-truth label folder (label_2)")
	predDir := fs.String("pred", "", "prediction label folder (KITTI result files)")
	class := fs.String("class", "", "comma-separated classes (default Car,Pedestrian,Cyclist)")
	curve := fs.String("curve", eval.CurveDevkit, "recall sampling: devkit (41 score thresholds, as published KITTI AP) or exact")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if *gtDir == "" || *predDir == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "ds3d eval kitti: need --gt and --pred and no other arguments")
		fs.Usage()
		return 2
	}
	if *curve != eval.CurveDevkit && *curve != eval.CurveExact {
		fmt.Fprintf(stderr, "ds3d eval kitti: --curve %q, want devkit or exact\n", *curve)
		return 2
	}
	opt := eval.Options{Curve: *curve}
	if *class != "" {
		for _, c := range strings.Split(*class, ",") {
			if c = strings.TrimSpace(c); c != "" {
				opt.Classes = append(opt.Classes, c)
			}
		}
	}
	gt, err := eval.ReadDir(*gtDir)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval kitti:", err)
		return 1
	}
	pred, err := eval.ReadDir(*predDir)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval kitti:", err)
		return 1
	}
	res, err := eval.KITTI(gt, pred, opt)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval kitti:", err)
		return 1
	}
	if *asJSON {
		type jentry struct {
			eval.Entry
			Curve string   `json:"curve"`
			AP11  *float64 `json:"ap_r11"`
			AP40  *float64 `json:"ap_r40"`
		}
		out := make([]jentry, len(res.Entries))
		for i, e := range res.Entries {
			out[i].Entry, out[i].Curve = e, res.Curve
			if e.Evaluated && !math.IsNaN(e.AP11) && !math.IsNaN(e.AP40) {
				a, b := e.AP11, e.AP40
				out[i].AP11, out[i].AP40 = &a, &b
			}
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	}
	writeKITTITable(stdout, res, len(pred))
	return 0
}

// writeKITTITable prints res as the table of "ds3d eval kitti"; frames is the
// number of frames scored, for the header.
func writeKITTITable(w io.Writer, res eval.Result, frames int) {
	how := "devkit sampling: 41 score thresholds, R11 = mean of positions 0,4,..,40, R40 = mean of 1..40"
	if res.Curve == eval.CurveExact {
		how = "exact precision/recall curve (not the devkit's sampling)"
	}
	fmt.Fprintf(w, "# KITTI AP, %d frames, fractions of 1; %s\n", frames, how)
	fmt.Fprintf(w, "%-12s %-6s %-10s %7s %7s %6s %6s %6s\n", "class", "metric", "difficulty", "R11", "R40", "gt", "tp", "fp")
	for _, e := range res.Entries {
		r11, r40 := "-", "-"
		if e.Evaluated {
			r11, r40 = fmt.Sprintf("%.4f", e.AP11), fmt.Sprintf("%.4f", e.AP40)
		}
		fmt.Fprintf(w, "%-12s %-6s %-10s %7s %7s %6d %6d %6d\n", e.Class, e.Metric, e.Difficulty, r11, r40, e.NumGT, e.TP, e.FP)
	}
}
