package cli

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// Every subcommand prints its usage and exits 0 on -h, as a shell user
// expects of a help request.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range [][]string{{"validate"}, {"components"}, {"inspect"}, {"infer"}, {"view"},
		{"import-yaml"}, {"eval", "kitti"}, {"eval", "mot"}, {"eval", "nuscenes"}, {"eval", "v2x"}, {"eval", "mot3d"}} {
		for _, h := range []string{"-h", "--help"} {
			code, _, errs := runCmd(t, append(cmd, h)...)
			if code != 0 || !strings.Contains(errs, "usage") && !strings.Contains(errs, "Usage") {
				t.Errorf("ds3d %s %s: exit %d, stderr %q", strings.Join(cmd, " "), h, code, errs)
			}
		}
	}
}

func TestFlagsAfterOperands(t *testing.T) {
	pcd := sampledata.Shared(t, "pcd-ply/pcl/five_people.pcd")
	// The flag after the file is honoured (JSON, not text) and the file is
	// not taken for a flag value.
	code, out, errs := runCmd(t, "inspect", pcd, "--json")
	if code != 0 {
		t.Fatalf("inspect FILE --json: exit %d: %s", code, errs)
	}
	var info struct {
		Points int `json:"points"`
		NaNs   int `json:"nan_points"`
		Width  int `json:"width"`
		Fields []struct {
			Name, Type string
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("inspect --json output is not one JSON object: %v\n%s", err, out)
	}
	// PCL's pcl_pcd_info on five_people.pcd: 307200 points (640×480), of
	// which 68125 have NaN coordinates; fields x y z rgba.
	if info.Points != 307200 || info.NaNs != 68125 || info.Width != 640 || len(info.Fields) != 4 || info.Fields[3].Type != "uint32" {
		t.Errorf("inspect --json: %+v", info)
	}
	// "--" ends the flags: what follows is an operand even with a dash.
	code, _, errs = runCmd(t, "inspect", "--", "-no-such-file.pcd")
	if code != 1 || !strings.Contains(errs, "-no-such-file.pcd") {
		t.Errorf("inspect -- -FILE: exit %d, stderr %q", code, errs)
	}
	// A flag the command lacks is still a usage error after an operand.
	if code, _, _ := runCmd(t, "inspect", pcd, "--bogus"); code != 2 {
		t.Errorf("inspect FILE --bogus: exit %d, want 2", code)
	}
}

// The LAS description is one layout with the other formats: the point
// count once, no "created day 0 of 0" for files that leave the date
// unset, and --json carries the header next to the decoded facts.
func TestInspectLAS(t *testing.T) {
	path := sampledata.Shared(t, "las/pdal/autzen_trim_7.las")
	code, out, errs := runCmd(t, "inspect", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(out, "\npoints:"); n != 1 {
		t.Errorf("points printed %d times:\n%s", n, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if len(line) < 17 || line[16] != ' ' || !strings.HasSuffix(strings.TrimRight(line[:16], " "), ":") {
			t.Errorf("line not in the key: value layout: %q", line)
		}
	}
	// The header fields read straight from the file (LAS 1.4 spec, public
	// header block): creation day/year at 90/92, legacy point count at 107.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	day, year := binary.LittleEndian.Uint16(b[90:]), binary.LittleEndian.Uint16(b[92:])
	points := binary.LittleEndian.Uint32(b[107:])
	if !strings.Contains(out, "created "+itoa4(year)+" day ") || year == 0 {
		t.Errorf("creation date %d/%d not printed:\n%s", year, day, out)
	}
	code, out, errs = runCmd(t, "inspect", "--json", path)
	if code != 0 {
		t.Fatalf("--json exit %d: %s", code, errs)
	}
	var info struct {
		Points int `json:"points"`
		LAS    struct {
			Points       int64  `json:"points"`
			CreationYear uint16 `json:"creation_year"`
			CreationDay  uint16 `json:"creation_day"`
		} `json:"las"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.Points != int(points) || info.LAS.Points != int64(points) || info.LAS.CreationYear != year || info.LAS.CreationDay != day {
		t.Errorf("--json %+v, header says %d points, %d/%d", info, points, year, day)
	}
}

func itoa4(y uint16) string { return fmt.Sprintf("%04d", y) }

func TestValidateYAMLSaysImport(t *testing.T) {
	src := sampledata.Shared(t, "ds3d-configs/ds_3d_filter_depth2cloud.yaml")
	// Also under a .toml name: the content gives it away.
	renamed := filepath.Join(t.TempDir(), "pipeline.toml")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(renamed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{src, renamed} {
		code, _, errs := runCmd(t, "validate", p)
		if code != 1 || !strings.Contains(errs, "ds3d import-yaml "+p) {
			t.Errorf("validate %s: exit %d, stderr %q", p, code, errs)
		}
	}
}

func TestRunHelpYAMLAndNoCheckout(t *testing.T) {
	if code, _, errs := runCmd(t, "run", "-h"); code != 0 || !strings.Contains(errs, "usage: ds3d run") {
		t.Errorf("run -h: exit %d, stderr %q", code, errs)
	}
	yaml := sampledata.Shared(t, "ds3d-configs/ds_3d_filter_depth2cloud.yaml")
	if code, _, errs := runCmd(t, "run", yaml, "--headless"); code != 1 || !strings.Contains(errs, "ds3d import-yaml "+yaml) {
		t.Errorf("run YAML: exit %d, stderr %q", code, errs)
	}
	// Outside a checkout the default pipeline has no samples to read: say
	// what is needed rather than failing to open a relative path.
	t.Chdir(t.TempDir())
	code, _, errs := runCmd(t, "run", "--quiet")
	if code != 2 || !strings.Contains(errs, "no CONFIG given") || strings.Contains(errs, "open ") {
		t.Errorf("run outside a checkout: exit %d, stderr %q", code, errs)
	}
}
