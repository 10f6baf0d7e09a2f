package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestEvalKITTICommandFlags drives "ds3d eval kitti" on one KITTI frame
// (formerly fusion/eval's TestRun).
func TestEvalKITTICommandFlags(t *testing.T) {
	labels := filepath.Join(sampledata.Shared(t, "kitti-object/training"), "label_2")
	pred := t.TempDir()
	line := "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01 0.9\n"
	if err := os.WriteFile(filepath.Join(pred, "000000.txt"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if rc := evalKITTI([]string{"--gt", labels, "--pred", pred}, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "devkit sampling") || !strings.Contains(s, "1 frames") ||
		!regexp.MustCompile(`\nPedestrian +3d +moderate +0\.0909 +0\.0000 +1 +1 +0\n`).MatchString(s) ||
		!regexp.MustCompile(`\nCar +bev +moderate +- +- +0 +0 +0\n`).MatchString(s) || strings.Count(s, "\n") != 2+36 {
		t.Errorf("output:\n%s", s)
	}
	out.Reset()
	if rc := evalKITTI([]string{"--gt", labels, "--pred", pred, "--curve", "exact", "--class", "Pedestrian"}, &out, &errb); rc != 0 ||
		!regexp.MustCompile(`\nPedestrian +3d +moderate +1\.0000 +1\.0000 `).MatchString(out.String()) || !strings.Contains(out.String(), "exact") {
		t.Errorf("exact: rc %d\n%s", rc, out.String())
	}
	out.Reset()
	if rc := evalKITTI([]string{"--gt", labels, "--pred", pred, "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("json rc %d: %s", rc, errb.String())
	}
	var js []map[string]any
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || len(js) != 36 {
		t.Fatalf("json: %v, %d entries", err, len(js))
	}
	for _, e := range js {
		if e["class"] == "Pedestrian" && e["metric"] == "2d" && e["difficulty"] == "easy" {
			if e["ap_r11"] != 1.0/11 || e["curve"] != "devkit" || e["evaluated"] != true {
				t.Errorf("json entry %v", e)
			}
		}
		if e["class"] == "Car" && e["ap_r11"] != nil {
			t.Errorf("json Car entry %v: want ap_r11 null", e)
		}
	}
	if rc := evalKITTI([]string{"--gt", labels}, &out, &errb); rc != 2 {
		t.Errorf("missing --pred: rc %d, want 2", rc)
	}
	if rc := evalKITTI([]string{"--gt", labels, "--pred", pred, "--curve", "x"}, &out, &errb); rc != 2 {
		t.Errorf("bad --curve: rc %d, want 2", rc)
	}
	if rc := evalKITTI([]string{"--gt", t.TempDir(), "--pred", labels}, &out, &errb); rc != 1 {
		t.Errorf("empty gt dir: rc %d, want 1", rc)
	}
}
