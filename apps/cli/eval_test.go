package cli

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/nuscenes"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

func writeFile(t *testing.T, name, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func boxLine(boxes ...string) string {
	return `{"frame":0,"source_id":0,"boxes":[` + strings.Join(boxes, ",") + "]}\n"
}

func jbox(label string, x, y float64, score float64, track int) string {
	return fmt.Sprintf(`{"center":[%g,%g,-1],"size":[4,1.8,1.5],"yaw":0,"class_id":0,"label":%q,"score":%g,"track_id":%d,"velocity":[0,0]}`, x, y, label, score, track)
}

// TestEvalV2xCommand scores hand-placed detections against the bundled
// DAIR-V2X-C label file 001366 (positions from the file): a Car on the car
// at (36.14, −2.99), a Cyclist 1.5 m from the motorcyclist at (45.73,
// −8.02), a Car 2.5 m from the car at (21.12, −6.04) (too far) and a Car
// on the motorcyclist at (34.03, −9.60) (right place, wrong class): by any
// class 3 of 8 objects are found, by class 2.
func TestEvalV2xCommand(t *testing.T) {
	gt := sampledata.Sample(t, "v2x/dair-v2x-c/infrastructure-side/label/virtuallidar/001366.json")
	pred := writeFile(t, "p.jsonl", boxLine(
		jbox("Car", 36.14, -2.99, 0.9, -1), jbox("Cyclist", 45.73, -6.52, 0.8, -1),
		jbox("Car", 21.12, -3.54, 0.7, -1), jbox("Car", 34.03, -9.6, 0.6, -1)))
	code, out, errs := runCmd(t, "eval", "v2x", "--gt", gt, "--pred", pred)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"Car          gt   4  recall@2m 0.2500 (as Car: 1)  any class 0.2500 (1)",
		"Motorcyclist gt   3  recall@2m 0.3333 (as Cyclist: 1)  any class 0.6667 (2)",
		"all          gt   8  recall@2m 0.2500 (as : 2)  any class 0.3750 (3)",
		"detections 4, unmatched 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errs := runCmd(t, "eval", "dair", "--gt", gt, "--pred", writeFile(t, "two.jsonl", boxLine()+boxLine())); code != 1 || !strings.Contains(errs, "2 lines for 1 label files") {
		t.Errorf("line count mismatch: exit %d %s", code, errs)
	}
}

// TestEvalNuScenesCommand: a Car detection on each of the keyframe's cars
// that nuScenes scores (lidar/radar points, within 50 m; read here with
// datasets/nuscenes) gives car AP 1 at every threshold (precision 1 at
// every recall: ((1 − 0.1)/0.9). Five classes have GT on this keyframe, so
// the mean over them is 0.2 and the devkit's ten-class mAP 0.1.
func TestEvalNuScenesCommand(t *testing.T) {
	infoPath := sampledata.Sample(t, "nuscenes/n015-2018-07-24-11-22-45+0800.derived.json")
	info, err := nuscenes.ReadInfo(infoPath)
	if err != nil {
		t.Fatal(err)
	}
	var boxes []string
	for _, o := range info.Samples[0].Objects {
		if o.Box.Label == "car" && o.NumLidarPts+o.NumRadarPts > 0 && math.Hypot(float64(o.Box.CX), float64(o.Box.CY)) <= 50 {
			boxes = append(boxes, jbox("Car", float64(o.Box.CX), float64(o.Box.CY), 0.9, -1))
		}
	}
	if len(boxes) != 4 {
		t.Fatalf("%d scored cars, the keyframe has 4", len(boxes))
	}
	pred := writeFile(t, "p.jsonl", boxLine(boxes...))
	code, out, errs := runCmd(t, "eval", "nuscenes", "--info", infoPath, "--pred", pred)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"car                  gt   4  AP@0.5 1.0000  @1 1.0000  @2 1.0000  @4 1.0000  mean 1.0000",
		"mAP 0.1000 (devkit: all 10 classes)  mAP over classes with GT 0.2000"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestEvalMOT3DCommand: the hand case of fusion/eval TestMOT3DHand through
// files: MOTA 0.6, MOTP 0.8 m, IDF1 8/11.
func TestEvalMOT3DCommand(t *testing.T) {
	gt := writeFile(t, "gt.jsonl", boxLine(jbox("Car", 0, 0, 1, 1), jbox("Car", 10, 0, 1, 2))+
		boxLine(jbox("Car", 1, 0, 1, 1), jbox("Car", 10, 0, 1, 2))+boxLine(jbox("Car", 2, 0, 1, 1)))
	pred := writeFile(t, "pred.jsonl", boxLine(jbox("Car", 0, 0.5, 1, 7), jbox("Car", 11, 0, 1, 8))+
		boxLine(jbox("Car", 1, 0.5, 1, 7), jbox("Car", 10, 1.5, 1, 9))+boxLine(jbox("Car", 2, 0.5, 1, 7), jbox("Car", 50, 0, 1, 10)))
	code, out, errs := runCmd(t, "eval", "mot3d", "--gt", gt, "--pred", pred)
	if code != 0 || !strings.Contains(out, "MOTA 0.6000  MOTP 0.8000 m  IDF1 0.7273") || !strings.Contains(out, "switches 1  FP 1  misses 0") {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
}

func TestEvalUsage(t *testing.T) {
	if code, _, errs := runCmd(t, "eval"); code != 2 || !strings.Contains(errs, "nuscenes") {
		t.Errorf("no kind: exit %d %s", code, errs)
	}
	if code, _, errs := runCmd(t, "eval", "waymo"); code != 2 || !strings.Contains(errs, `unknown kind "waymo"`) {
		t.Errorf("unknown kind: exit %d %s", code, errs)
	}
	for _, k := range []string{"v2x", "nuscenes", "mot3d"} {
		if code, _, _ := runCmd(t, "eval", k); code != 2 {
			t.Errorf("eval %s without flags: exit %d", k, code)
		}
	}
}
