//go:build !cuda

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestComponentsDocFresh fails when docs/COMPONENTS.md is not what
// `ds3d components --markdown` prints for the components this build links.
func TestComponentsDocFresh(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "COMPONENTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	code, got, errs := runCmd(t, "components", "--markdown")
	if code != 0 {
		t.Fatalf("components --markdown: exit %d: %s", code, errs)
	}
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("docs/COMPONENTS.md is stale (line %d is\n\t%s\nwhere the specs give\n\t%s\n); regenerate it with make docs", i+1, w, g)
		}
	}
}

// TestComponentsPrintsRules checks that the listing states the tag rules.
func TestComponentsPrintsRules(t *testing.T) {
	code, out, _ := runCmd(t, "components", "sweep_accumulator", "box_postprocess", "velodyne_udp")
	if code != 0 {
		t.Fatal("components failed")
	}
	for _, want := range []string{
		"max_sweeps (integer, default 10, 1 ≤ max_sweeps ≤ 1000)",
		"missing_pose (string, default \"drop\", one of drop|error|identity)",
		"cut_angle (float, 0 ≤ cut_angle < 360 (°))",
		"nms_iou_threshold (float, default 0.01, 0 ≤ nms_iou_threshold ≤ 1, runtime-updatable)",
		"mem_pool_size (integer, default 4, mem_pool_size ≥ 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q", want)
		}
	}
}

// TestValidateChecksWithoutRunning: `ds3d validate` reports files and globs
// that do not exist, and names the build that has a cuda-only impl.
func TestValidateChecksWithoutRunning(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pipe := func(loader string) string {
		return `[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "mid"
[component.config]
` + loader + `

[[component]]
name = "mid"
type = "ds3d::datafilter"
impl = "roi_crop"
link_to = "sink"

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
`
	}
	write("000.bin", "")
	ok := write("ok.toml", pipe(`files = ["*.bin"]`))
	if code, out, errs := runCmd(t, "validate", ok); code != 0 {
		t.Fatalf("existing glob: exit %d %s %s", code, out, errs)
	}
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"glob.toml", pipe(`files = ["/nonexistent/*.bin"]`),
			[]string{"glob.toml:7: component \"src\": key \"config.files\": element 0: glob \"/nonexistent/*.bin\" matches no file"}},
		{"list.toml", pipe(`data_config_file = "nolist.toml"`),
			[]string{"list.toml:7: component \"src\"", `key "config.data_config_file"`, filepath.Join(dir, "nolist.toml") + " does not exist"}},
		{"cuda.toml", strings.Replace(pipe(`files = ["*.bin"]`), `impl = "roi_crop"`, `impl = "gpu_roi_crop"`, 1),
			[]string{"cuda.toml:12: component \"mid\": key \"impl\"", `"gpu_roi_crop" is not in this build: rebuild with -tags cuda (make build-cuda)`}},
	} {
		p := write(tc.name, tc.body)
		code, _, errs := runCmd(t, "validate", p)
		if code != 1 {
			t.Errorf("%s: exit %d", tc.name, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: error lacks %q:\n%s", tc.name, w, errs)
			}
		}
	}
}
