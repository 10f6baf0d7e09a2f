package cli

import (
	"fmt"
	"io"
)

const evalUsage = `usage: ds3d eval KIND [flags]

kinds:
  mot      --gt GT.txt --pred PRED.txt [--json] [--iou 0.5]
           MOTChallenge CLEAR-MOT, IDF1, MT/ML of 2D tracking results
  kitti    --gt LABEL_DIR --pred PRED_DIR [--class Car,...] [--curve devkit|exact] [--json]
           KITTI AP as the KITTI devkit computes it: 2D, AOS, BEV, 3D (R11, R40)
           per class and difficulty
  v2x      --gt LABEL.json|LABEL_DIR --pred BOXES.jsonl [--dist 2] [--json]   (alias: dair)
           DAIR-V2X recall within a BEV centre distance, per labelled class
  nuscenes --info INFO.json --pred BOXES.jsonl [--json]
           nuScenes centre-distance AP (0.5/1/2/4 m) per class and mAP
  mot3d    --gt GT.jsonl --pred PRED.jsonl [--dist 2] [--any-class] [--json]
           CLEAR-MOT (MOTP in metres), IDF1, MT/ML of 3D tracks by BEV centre distance

Run 'ds3d eval KIND -h' for a kind's flags.
`

// cmdEval dispatches "ds3d eval KIND".
func cmdEval(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, evalUsage)
		return 2
	}
	switch args[0] {
	case "mot":
		return evalMOT(args[1:], stdout, stderr)
	case "kitti":
		return evalKITTI(args[1:], stdout, stderr)
	case "v2x", "dair":
		return evalV2X(args[1:], stdout, stderr)
	case "nuscenes":
		return evalNuScenes(args[1:], stdout, stderr)
	case "mot3d":
		return evalMOT3D(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, evalUsage)
		return 0
	}
	fmt.Fprintf(stderr, "ds3d eval: unknown kind %q\n\n%s", args[0], evalUsage)
	return 2
}
