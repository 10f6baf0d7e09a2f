package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/datasets/nuscenes"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunDefaultPipeline(t *testing.T) {
	code, out, errs := runCmd(t, "run", "--quiet=false")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	for _, want := range []string{"pipeline default (lidar-inference, headless):", "component", "p50", "p99", "fps"} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics table lacks %q:\n%s", want, out)
		}
	}
}

func TestRunJSONMetrics(t *testing.T) {
	code, out, errs := runCmd(t, "run", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Components []struct {
			Name string `json:"name"`
			In   uint64 `json:"frames_in"`
			Out  uint64 `json:"frames_out"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(doc.Components) == 0 || doc.Components[0].Out == 0 {
		t.Fatalf("no source output in %+v", doc)
	}
}

func TestValidateReportsFileAndLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[[component]]\nname = \"a\"\ntype = \"ds3d::dataloader\"\nimpl = \"test_source\"\nlink_to = \"b\"\n[component.config]\ncont = 3\n"), 0o644)
	code, _, errs := runCmd(t, "validate", bad)
	if code != 1 {
		t.Fatalf("exit %d for a bad config", code)
	}
	for _, want := range []string{bad + ":7:", `component "a"`, `key "config.cont"`, `links to "b"`} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errs)
		}
	}
	code, out, errs := runCmd(t, "validate", "default.toml")
	if code != 0 || !strings.Contains(out, "default.toml: ok") {
		t.Errorf("default.toml: exit %d %s %s", code, out, errs)
	}
}

// TestComponentsDocumentsEverySpecField checks that `ds3d components`
// prints every key of every registered component: the listing comes from
// the same specs the config loader binds.
func TestComponentsDocumentsEverySpecField(t *testing.T) {
	code, out, _ := runCmd(t, "components")
	if code != 0 {
		t.Fatal("components failed")
	}
	var walk func(impl string, fs []ds3d.Field)
	walk = func(impl string, fs []ds3d.Field) {
		for _, f := range fs {
			line := f.Name + " (" + f.Type
			if !strings.Contains(out, line) || !strings.Contains(out, f.Doc) {
				t.Errorf("%s: key %q (%s) missing from the listing", impl, f.Name, f.Doc)
			}
			walk(impl, f.Fields)
		}
	}
	for _, s := range ds3d.Specs() {
		if !strings.Contains(out, s.Impl+" ("+string(s.Kind)+")") {
			t.Errorf("%s missing", s.Impl)
		}
		walk(s.Impl, s.Fields)
	}
	code, out, _ = runCmd(t, "components", "test_source")
	if code != 0 || !strings.Contains(out, "count (integer, default 100, count ≥ 0)") {
		t.Errorf("components test_source: %d\n%s", code, out)
	}
	if code, _, errs := runCmd(t, "components", "nope"); code != 1 || !strings.Contains(errs, `no component "nope"`) {
		t.Errorf("unknown impl: %d %s", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	if code, _, _ := runCmd(t); code != 2 {
		t.Error("no command should exit 2")
	}
	if code, _, errs := runCmd(t, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Error("unknown command")
	}
	if code, out, _ := runCmd(t, "version"); code != 0 || !strings.HasPrefix(out, "ds3d ") {
		t.Error("version")
	}
	if code, _, errs := runCmd(t, "run", "/nonexistent.toml"); code != 1 || !strings.Contains(errs, "nonexistent.toml") {
		t.Errorf("missing config: %d %s", code, errs)
	}
}

// TestCtrlCDrainsAndFlushes sends the process SIGINT while an endless
// pipeline runs: the first Ctrl-C must drain (sources stop, sinks flush),
// exit 0 and print the metrics, with every emitted datamap in the output.
func TestCtrlCDrainsAndFlushes(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "endless.toml")
	os.WriteFile(cfg, []byte(`[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "out"
[component.config]
count = 0
points = 1000

[[component]]
name = "out"
type = "ds3d::datarender"
impl = "datamap_file_sink"
[component.config]
path = "out.jsonl"
`), 0o644)
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		var o, e bytes.Buffer
		code := run([]string{"run", "--quiet=false", cfg}, &o, &e)
		done <- result{code, o.String(), e.String()}
	}()
	// Wait until the sink has opened its file: the signal handler is in place by then.
	outPath := filepath.Join(dir, "out.jsonl")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := os.Stat(outPath); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pipeline never started writing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-C did not end the run")
	}
	if r.code != 0 || !strings.Contains(r.err, "draining") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var last struct {
		Seq int `json:"seq"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("last line not flushed whole: %v", err)
	}
	if last.Seq != len(lines)-1 {
		t.Errorf("last seq %d of %d lines", last.Seq, len(lines))
	}
	// The table's source row says how many datamaps were emitted: all are in the file.
	want := fmt.Sprintf("%d datamaps from the sources, %d arrivals", len(lines), len(lines))
	if !strings.Contains(r.out, want) {
		t.Errorf("output lacks %q:\n%s", want, r.out)
	}
}

func TestImportYAMLCommand(t *testing.T) {
	dir := t.TempDir()
	y := filepath.Join(dir, "p.yaml")
	os.WriteFile(y, []byte("%YAML 1.2\n---\nname: rs\ntype: ds3d::dataloader\ncustom_lib_path: libnvds_3d_dataloader_realsense.so\ncustom_create_function: createRealsenseDataloader\n"), 0o644)
	code, out, errs := runCmd(t, "import-yaml", y)
	if code != 3 || !strings.Contains(out, "[pipeline]") || !strings.Contains(errs, y+":3: component \"rs\"") || !strings.Contains(errs, "librealsense") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
}

// TestEvalMOTCommand scores MOT15 TUD-Campus's published tracker output
// (test.txt) against gt.txt: mota and idf1 are py-motmetrics' published
// values (mot15/PROVENANCE.md).
func TestEvalMOTCommand(t *testing.T) {
	dir := sampledata.Shared(t, "mot15/TUD-Campus")
	code, out, errs := runCmd(t, "eval", "mot", "--gt", filepath.Join(dir, "gt.txt"), "--pred", filepath.Join(dir, "test.txt"))
	if code != 0 || !strings.Contains(out, "mota 0.526462\n") || !strings.Contains(out, "idf1 0.557659\n") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, _ := runCmd(t, "eval", "kitti"); code != 2 {
		t.Errorf("unknown eval kind: exit %d", code)
	}
}

func TestViewHeadless(t *testing.T) {
	out := t.TempDir()
	bin := sampledata.Sample(t, "kitti/velodyne/000000.bin")
	code, stdout, errs := runCmd(t, "view", "--out", out, bin)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, errs)
	}
	st, err := os.Stat(filepath.Join(out, "frame_000000.png"))
	if err != nil || st.Size() < 10000 {
		t.Errorf("no rendered frame: %v", err)
	}
}

// TestLidarInferenceApp runs apps/lidar-inference headless on the bundled
// KITTI frame and finds the frame's one labelled object — the pedestrian of
// datasets/samples/kitti/label_2/000000.txt — among the written KITTI label
// rows: same class, bottom centre within 1 m in the camera frame.
func TestLidarInferenceApp(t *testing.T) {
	code, out, errs := runCmd(t, "run", "--headless", "--quiet", "../lidar-inference/config.toml")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	truth := parseKITTI(t, sampledata.Sample(t, "kitti/label_2/000000.txt"))
	got := parseKITTI(t, filepath.Join("..", "..", "out", "lidar-inference", "label_2", "000000.txt"))
	if len(truth) != 1 || truth[0].typ != "Pedestrian" {
		t.Fatalf("bundled label: %+v", truth)
	}
	found := false
	for _, g := range got {
		if g.typ == truth[0].typ && math.Hypot(g.x-truth[0].x, g.z-truth[0].z) < 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("the labelled pedestrian at (%.2f, %.2f) is not among the detections %+v", truth[0].x, truth[0].z, got)
	}
	for _, f := range []string{"bev/frame_000000.png", "gl/frame_000000.png", "boxes.jsonl"} {
		if st, err := os.Stat(filepath.Join("..", "..", "out", "lidar-inference", f)); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing: %v", f, err)
		}
	}
}

type kittiRow struct {
	typ  string
	x, z float64
}

func parseKITTI(t *testing.T, path string) []kittiRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []kittiRow
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) < 15 {
			continue
		}
		x, _ := strconv.ParseFloat(f[11], 64)
		z, _ := strconv.ParseFloat(f[13], 64)
		rows = append(rows, kittiRow{f[0], x, z})
	}
	return rows
}

// TestDepthCameraApp runs apps/depth-camera headless: the PLY it writes holds
// one point per Redwood depth pixel with a return — 640×480 minus the 40,071
// empty pixels of rgbd-open3d/PROVENANCE.md (all depths lie in 0.955–2.702 m,
// inside the app's 0.3–6 m clip).
func TestDepthCameraApp(t *testing.T) {
	code, out, errs := runCmd(t, "run", "--headless", "--quiet", "../depth-camera/config.toml")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	c, err := lidar.ReadFile(filepath.Join("..", "..", "out", "depth-camera", "cloud_000000.ply"), lidar.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := 640*480 - 40071; c.Len() != want {
		t.Errorf("cloud has %d points, want %d", c.Len(), want)
	}
	if st, err := os.Stat(filepath.Join("..", "..", "out", "depth-camera", "gl", "frame_000000.png")); err != nil || st.Size() < 10000 {
		t.Errorf("no rendered view: %v", err)
	}
}

// TestInspectPcap: the bundled VLP-16 capture is, per its README (from
// lidar-raw/PROVENANCE.md), a VLP-16 in strongest-return mode, 84 packets.
func TestInspectPcap(t *testing.T) {
	code, out, errs := runCmd(t, "inspect", sampledata.Sample(t, "lidar-raw/vlp16_strongest_2018.pcap"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"Velodyne VLP-16", "return mode:     strongest", "84 UDP datagrams", "31630 in all"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
}

// TestInferCommand: the bundled YOLOX-Nano on COCO 785 finds what the
// onnxruntime golden file lists: a person (0.886) and skis (0.743).
func TestInferCommand(t *testing.T) {
	img := sampledata.Shared(t, "models-2d/yolox-nano/images/000000000785.jpg")
	model := filepath.Join("..", "..", "datasets", "samples", "models", "yolox-nano", "yolox_nano.onnx")
	code, out, errs := runCmd(t, "infer", "--runs", "1", "--image", img, model)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"369 nodes", "parameters 904467", "2 detections", "person         0.88", "skis           0.74"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBEVFusionApp runs apps/bevfusion on the bundled nuScenes keyframe and
// scores its fused boxes against the keyframe's 69 ground-truth boxes
// (datasets/nuscenes, lidar frame): recall of cars and pedestrians within
// 2 m (centre distance, BEV) and, for the boxes a camera confirmed, whether
// the 2D class agrees with the matched ground truth's class.
func TestBEVFusionApp(t *testing.T) {
	code, out, errs := runCmd(t, "run", "--quiet", "../bevfusion/config.toml")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	info, err := nuscenes.ReadInfo(sampledata.Sample(t, "nuscenes/n015-2018-07-24-11-22-45+0800.derived.json"))
	if err != nil {
		t.Fatal(err)
	}
	gt := info.Samples[0].Boxes()
	b, err := os.ReadFile(filepath.Join("..", "..", "out", "bevfusion", "boxes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Boxes []struct {
			Center [3]float64 `json:"center"`
			Label  string     `json:"label"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(b, &line); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	stats := map[string][2]int{} // class → found, total
	agree, confirmed := 0, 0
	for _, g := range gt {
		cls := ""
		switch {
		case g.Label == "car":
			cls = "car"
		case g.Label == "pedestrian":
			cls = "pedestrian"
		default:
			continue
		}
		s := stats[cls]
		s[1]++
		for _, d := range line.Boxes {
			if math.Hypot(d.Center[0]-float64(g.CX), d.Center[1]-float64(g.CY)) <= 2 {
				s[0]++
				// A lower-case label came from a camera (COCO names).
				if d.Label == strings.ToLower(d.Label) {
					confirmed++
					if d.Label == cls || (cls == "pedestrian" && d.Label == "person") {
						agree++
					}
				}
				break
			}
		}
		stats[cls] = s
	}
	t.Logf("recall within 2 m: car %d/%d, pedestrian %d/%d; camera-confirmed matches %d, class agrees %d; %d boxes out",
		stats["car"][0], stats["car"][1], stats["pedestrian"][0], stats["pedestrian"][1], confirmed, agree, len(line.Boxes))
	if stats["car"][1] == 0 {
		t.Fatal("no ground-truth cars read")
	}
	// The model-free detector is tuned for 64-beam KITTI; on this 32-beam
	// sweep it must still put boxes on real cars and pedestrians.
	if stats["car"][0] == 0 || stats["pedestrian"][0] == 0 {
		t.Errorf("no ground-truth car or pedestrian has a box within 2 m: %v", stats)
	}
}

// Flags may follow the config; a second config is refused by name.
func TestRunFlagsAfterConfig(t *testing.T) {
	code, out, errs := runCmd(t, "run", "../examples/lidar_loader.toml", "--quiet", "--json")
	if code != 0 || !strings.Contains(out, `"components"`) {
		t.Fatalf("run CONFIG --quiet --json: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs = runCmd(t, "run", "../examples/lidar_loader.toml", "--quiet", "other.toml")
	if code != 2 || !strings.Contains(errs, "one config at a time (got ../examples/lidar_loader.toml and other.toml)") {
		t.Fatalf("two configs: exit %d, %s", code, errs)
	}
}
