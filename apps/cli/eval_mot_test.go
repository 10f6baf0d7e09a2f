package cli

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/fusion/eval"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

func TestEvalMOTJSONAndErrors(t *testing.T) {
	gt := sampledata.Shared(t, "mot15/TUD-Campus/gt.txt")
	pred := sampledata.Shared(t, "mot15/TUD-Campus/test.txt")
	var out, errb bytes.Buffer
	if rc := evalMOT([]string{"--gt", gt, "--pred", pred, "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	var got map[string]float64
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if math.Abs(got["mota"]-0.526462) > 1e-3 || got["num_switches"] != 7 {
		t.Errorf("json: %v", got)
	}
	out.Reset()
	if rc := evalMOT([]string{"--gt", gt, "--pred", pred}, &out, &errb); rc != 0 {
		t.Fatal(rc)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(eval.MOTNames) || !strings.HasPrefix(lines[0], "idf1 0.5576") {
		t.Errorf("text output:\n%s", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte("1,1,2,3\n"), 0o644)
	for _, c := range []struct {
		args []string
		rc   int
		msg  string
	}{
		{[]string{"--gt", gt}, 2, "need --gt and --pred"},
		{[]string{"--gt", gt, "--pred", pred, "--iou", "0"}, 2, "--iou"},
		{[]string{"--gt", gt, "--pred", bad}, 1, "bad.txt: line 1"},
		{[]string{"--gt", gt, "--pred", "/nonexistent.txt"}, 1, "nonexistent"},
		{[]string{"--gt", gt, "--pred", pred, "--frames", "0-5"}, 2, "--frames"},
		{[]string{"--gt", gt, "--pred", pred, "--frames", "9-3"}, 2, "--frames"},
		{[]string{"--gt", gt, "--pred", pred, "--frames", "x"}, 2, "--frames"},
	} {
		errb.Reset()
		if rc := evalMOT(c.args, &out, &errb); rc != c.rc || !strings.Contains(errb.String(), c.msg) {
			t.Errorf("%v: rc %d, stderr %q; want rc %d and %q", c.args, rc, errb.String(), c.rc, c.msg)
		}
	}
}

// --frames A-B scores what files cut to those frames score (the cut done
// here on the text, independently of the evaluator).
func TestEvalMOTFrames(t *testing.T) {
	gt := sampledata.Shared(t, "mot15/TUD-Campus/gt.txt")
	pred := sampledata.Shared(t, "mot15/TUD-Campus/test.txt")
	dir := t.TempDir()
	cut := func(src, name string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, line := range strings.Split(string(b), "\n") {
			f, _, _ := strings.Cut(line, ",")
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n >= 10 && n <= 40 {
				keep = append(keep, line)
			}
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(strings.Join(keep, "\n")+"\n"), 0o644)
		return p
	}
	var a, b, errb bytes.Buffer
	if rc := evalMOT([]string{"--gt", gt, "--pred", pred, "--frames", "10-40"}, &a, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	if rc := evalMOT([]string{"--gt", cut(gt, "gt.txt"), "--pred", cut(pred, "pred.txt")}, &b, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	if a.String() != b.String() {
		t.Errorf("--frames 10-40:\n%s\ncut files:\n%s", a.String(), b.String())
	}
	if strings.Contains(a.String(), "num_frames 71") || !strings.Contains(a.String(), "num_frames 31") {
		t.Errorf("want 31 frames scored:\n%s", a.String())
	}
}
