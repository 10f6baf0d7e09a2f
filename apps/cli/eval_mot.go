package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/datasets/mot"
	"github.com/ds3d-go/ds3d-go/fusion/eval"
)

const evalMOTUsage = `usage: ds3d eval mot --gt GT.txt --pred PRED.txt [--json] [--iou 0.5] [--gt-min-conf 1] [--frames A-B]

Scores a MOTChallenge tracking result against ground truth with CLEAR-MOT,
MT/PT/ML and IDF1, as py-motmetrics does (IoU distance; MOTP is the mean
1 − IoU of matches). Prints one "name value" line per metric, or JSON.
`

// evalMOT is the "ds3d eval mot" command: args are the arguments after "mot".
// It returns the exit code: 0 on success, 1 on a read error, 2 on a usage
// error.
func evalMOT(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ds3d eval mot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, evalMOTUsage); fs.PrintDefaults() }
	gtPath := fs.String("gt", "", "ground-truth file (MOTChallenge gt.txt)")
	predPath := fs.String("pred", "", "tracker result file (MOTChallenge format)")
	asJSON := fs.Bool("json", false, "print the metrics as one JSON object")
	iou := fs.Float64("iou", 0.5, "least IoU for a prediction to match a ground-truth box")
	gtMin := fs.Float64("gt-min-conf", 1, "ignore ground-truth rows whose confidence column is below this")
	frames := fs.String("frames", "", "score only frames A to B (1-based, inclusive), e.g. 1-200: a run on the first frames of a sequence")
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if *gtPath == "" || *predPath == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "ds3d eval mot: need --gt and --pred and no other arguments")
		fs.Usage()
		return 2
	}
	if !(*iou > 0 && *iou <= 1) {
		fmt.Fprintf(stderr, "ds3d eval mot: --iou is %g, want a value in (0, 1]\n", *iou)
		return 2
	}
	lo, hi, err := frameRange(*frames)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval mot: --frames:", err)
		return 2
	}
	gt, err := mot.Read(*gtPath)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval mot:", err)
		return 1
	}
	pred, err := mot.Read(*predPath)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d eval mot:", err)
		return 1
	}
	gt, pred = inRange(gt, lo, hi), inRange(pred, lo, hi)
	m, err := eval.EvaluateMOT(gt, pred, eval.MOTOptions{MaxDist: 1 - *iou, GTMinConf: *gtMin})
	if err != nil {
		fmt.Fprintf(stderr, "ds3d eval mot: %s: %v\n", *gtPath, err)
		return 1
	}
	if *asJSON {
		b, _ := json.MarshalIndent(m, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	}
	for _, n := range eval.MOTNames {
		v, _ := m.Value(n)
		if v == float64(int64(v)) && n != "mota" && n != "motp" {
			fmt.Fprintf(stdout, "%s %d\n", n, int64(v))
		} else {
			fmt.Fprintf(stdout, "%s %.6f\n", n, v)
		}
	}
	return 0
}

// frameRange parses --frames "A-B" (or "A"); empty means every frame.
func frameRange(s string) (lo, hi int, err error) {
	if s == "" {
		return 1, int(^uint(0) >> 1), nil
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1 || hi < lo {
		return 0, 0, fmt.Errorf("%q: want A-B with 1 ≤ A ≤ B (MOTChallenge frames count from 1)", s)
	}
	return lo, hi, nil
}

func inRange(rows []mot.Row, lo, hi int) []mot.Row {
	out := rows[:0:0]
	for _, r := range rows {
		if r.Frame >= lo && r.Frame <= hi {
			out = append(out, r)
		}
	}
	return out
}
