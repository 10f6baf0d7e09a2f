package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestV2XCloudConfigsValidate checks apps/v2x-cloud's three pipelines the
// way `ds3d validate` does, and with the URLs and counts the demo script
// gives them through --set: running them needs the NATS cluster and the
// MQTT broker (TestE2EV2XCloudDemo).
func TestV2XCloudConfigsValidate(t *testing.T) {
	for _, args := range [][]string{
		{"../v2x-cloud/roadside.toml"},
		{"../v2x-cloud/worker.toml"},
		{"../v2x-cloud/fusion.toml"},
	} {
		if code, out, errs := runCmd(t, append([]string{"validate"}, args...)...); code != 0 {
			t.Errorf("validate %v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	// A --set the script passes that names a wrong key must fail, or the
	// script could pass keys the configs ignore.
	if code, _, errs := runCmd(t, "run", "--quiet", "--set", "publish.urll=nats://127.0.0.1:1", "../v2x-cloud/roadside.toml"); code == 0 || !strings.Contains(errs, "urll") {
		t.Errorf("a misspelt --set key: exit %d, stderr %q; want a failure naming it", code, errs)
	}
}

// TestE2EV2XCloudDemo runs apps/v2x-cloud/demo-cluster.sh (3 nats-server
// processes as a JetStream cluster, mosquitto, 4 roadside units, 2 workers,
// 1 fusion) on 20 frames per unit. The script must exit 0 and report no
// loss, and, read independently of its report, mosquitto_sub's log must
// hold exactly one detection3d payload per (source, frame) of the 4 × 20
// sent, each naming the world frame.
func TestE2EV2XCloudDemo(t *testing.T) {
	testenv.E2E(t)
	for _, tool := range []string{"mosquitto", "mosquitto_sub"} {
		testenv.Tool(t, tool, "apt-get install mosquitto mosquitto-clients")
	}
	testenv.Tool(t, "flock", "apt-get install util-linux")
	gobin := testenv.Tool(t, "go", "the Go toolchain builds ds3d and nats-server")
	// $DS3D names a ds3d binary built already; otherwise this tree's.
	bin := os.Getenv("DS3D")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "ds3d")
		build := exec.Command(gobin, "build", "-o", bin, "../ds3d")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ds3d: %v\n%s", err, out)
		}
	}
	work := t.TempDir()
	const frames, sources = 20, 4
	// The script's own TIMEOUT bounds the run; past it, SIGTERM lets its
	// trap stop the servers and processes it started.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../v2x-cloud/demo-cluster.sh", "20")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Env = append(os.Environ(), "DS3D="+bin, "TIMEOUT=240", "KEEP=1", "TMPDIR="+work)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo-cluster.sh: %v\n%s", err, out)
	}
	for _, want := range []string{`(?m)^frames sent +80 \(expected 80\)$`, `(?m)^loss +0$`, `(?m)^RESULT +ok$`} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}

	logs, err := filepath.Glob(filepath.Join(work, "v2x-cloud.*", "logs", "mqtt-sub.log"))
	if err != nil || len(logs) != 1 {
		t.Fatalf("mosquitto_sub log: %v %v", logs, err)
	}
	f, err := os.Open(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[[2]int64]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		_, payload, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("log line without payload: %.200s", sc.Text())
		}
		var p struct {
			SourceID    int64  `json:"source_id"`
			FrameNumber int64  `json:"frame_number"`
			FrameID     string `json:"frame_id"`
		}
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			t.Fatalf("payload: %v: %.200s", err, payload)
		}
		if p.FrameID != "world" {
			t.Errorf("source %d frame %d: frame_id %q, want world", p.SourceID, p.FrameNumber, p.FrameID)
		}
		seen[[2]int64{p.SourceID, p.FrameNumber}]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for s := range int64(sources) {
		for fn := range int64(frames) {
			if n := seen[[2]int64{s, fn}]; n != 1 {
				t.Errorf("source %d frame %d: %d payloads, want 1", s, fn, n)
			}
		}
	}
	if len(seen) != sources*frames {
		t.Errorf("%d distinct (source, frame) payloads, want %d", len(seen), sources*frames)
	}
}
