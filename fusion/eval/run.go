package eval

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
)

const runUsage = `usage: ds3d eval kitti --gt LABEL_DIR --pred PRED_DIR [--calib CALIB_DIR] [--class Car[,Pedestrian,...]] [--json]

Scores KITTI-format detections (%06d.txt label files, 16th column the score)
against KITTI ground truth with the KITTI object benchmark protocol (see
package fusion/eval): BEV and 3D AP per class and difficulty, R11 and R40.
Boxes are compared in the rectified camera frame, as the devkit does; with
--calib they are converted to the velodyne frame first. Prints one line
"Class metric difficulty R11|R40 AP" per value (nan: no ground truth), or JSON.
`

// Run is the "ds3d eval kitti" command: args are the arguments after
// "kitti". It returns 0 on success, 1 on a read or evaluation error, 2 on
// a usage error.
func Run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ds3d eval kitti", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); fs.PrintDefaults() }
	gtDir := fs.String("gt", "", "ground-truth label folder (label_2)")
	predDir := fs.String("pred", "", "prediction label folder (KITTI result files)")
	calibDir := fs.String("calib", "", "calibration folder (calib); optional: compare in the velodyne frame")
	class := fs.String("class", "", "comma-separated classes (default Car,Pedestrian,Cyclist)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if *gtDir == "" || *predDir == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "ds3d eval kitti: need --gt and --pred and no other arguments")
		fs.Usage()
		return 2
	}
	var opt Options
	if *class != "" {
		for _, c := range strings.Split(*class, ",") {
			if c = strings.TrimSpace(c); c != "" {
				opt.Classes = append(opt.Classes, c)
			}
		}
	}
	read := func(dir string) ([]FrameBoxes, error) {
		if *calibDir != "" {
			return ReadDirLidar(dir, *calibDir)
		}
		return ReadDir(dir)
	}
	gt, err := read(*gtDir)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval kitti:", err)
		return 1
	}
	pred, err := read(*predDir)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval kitti:", err)
		return 1
	}
	res, err := KITTI(gt, pred, opt)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval kitti:", err)
		return 1
	}
	if *asJSON {
		type jentry struct {
			Entry
			AP11 *float64 `json:"ap_r11"`
			AP40 *float64 `json:"ap_r40"`
		}
		out := make([]jentry, len(res.Entries))
		for i, e := range res.Entries {
			out[i].Entry = e
			if !math.IsNaN(e.AP11) {
				a, b := e.AP11, e.AP40
				out[i].AP11, out[i].AP40 = &a, &b
			}
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	}
	for _, e := range res.Entries {
		fmt.Fprintf(stdout, "%s %s %s R11 %.4f\n", e.Class, e.Metric, e.Difficulty, e.AP11)
		fmt.Fprintf(stdout, "%s %s %s R40 %.4f\n", e.Class, e.Metric, e.Difficulty, e.AP40)
	}
	return 0
}
