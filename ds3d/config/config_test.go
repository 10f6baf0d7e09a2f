package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	_ "github.com/ds3d-go/ds3d-go/gpu" // names the cuda build's components
)

const good = `[pipeline]
name = "t"

[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "mid"
[component.config]
count = 5

[[component]]
name = "mid"
type = "ds3d::datafilter"
impl = "passthrough"
link_to = "sink"

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "datamap_file_sink"
[component.config]
path = "out/x.jsonl"
`

func TestGoodConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.toml")
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Components) != 3 || len(p.Edges) != 2 {
		t.Fatalf("got %d components %d edges", len(p.Components), len(p.Edges))
	}
	// The relative path resolves against the config's folder, not the cwd.
	sink := p.Component("sink").Config
	got := reflectPath(t, sink)
	if want := filepath.Join(dir, "out", "x.jsonl"); got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	src := p.Component("src")
	if src.Line != 4 {
		t.Errorf("src line = %d, want 4", src.Line)
	}
}

func reflectPath(t *testing.T, cfg any) string {
	t.Helper()
	return reflect.ValueOf(cfg).Elem().FieldByName("Path").String()
}

// Each bad config is the good one with one edit; the error must name the
// file, the line and the key (or component) of that edit.
func TestValidateErrors(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(string) string
		wantLine int
		wantIn   []string // substrings of the error
	}{
		{"unknown key", func(s string) string {
			return strings.Replace(s, "count = 5", "count = 5\ncuont = 6", 1)
		}, 11, []string{`component "src"`, `key "config.cuont"`, "unknown key"}},
		{"wrong type", func(s string) string {
			return strings.Replace(s, "count = 5", `count = "5"`, 1)
		}, 10, []string{`component "src"`, `key "config.count"`, "expected integer, got string"}},
		{"duplicate name", func(s string) string {
			return strings.Replace(s, `name = "sink"`, `name = "mid"`, 1)
		}, 19, []string{`component "mid"`, `key "name"`, "duplicate component name (first defined at line 12)"}},
		{"dangling link", func(s string) string {
			return strings.Replace(s, `link_to = "sink"`, `link_to = "sinc"`, 1)
		}, 16, []string{`component "mid"`, `key "link_to[0]"`, `"sinc", which is not a component`}},
		{"cycle", func(s string) string {
			return s + `
[[component]]
name = "mid2"
type = "ds3d::datafilter"
impl = "passthrough"
link_to = "mid3"

[[component]]
name = "mid3"
type = "ds3d::datafilter"
impl = "passthrough"
link_to = "mid2"
`
		}, 25, []string{`component "mid2"`, "cycle: mid2 → mid3 → mid2"}},
		{"missing required key", func(s string) string {
			return strings.Replace(s, `path = "out/x.jsonl"`, "", 1)
		}, 22, []string{`component "sink"`, `key "config.path"`, `missing required key "path"`}},
		{"missing impl", func(s string) string {
			return strings.Replace(s, `impl = "passthrough"`, "", 1)
		}, 12, []string{`component "mid"`, `key "impl"`, `missing required key "impl"`}},
		{"bad pad name", func(s string) string {
			return strings.Replace(s, `link_to = "sink"`, `link_to = "sink.sink_3"`, 1)
		}, 16, []string{`component "mid"`, `key "link_to[0]"`, `bad pad "sink_3"`}},
		{"bad pad syntax", func(s string) string {
			return strings.Replace(s, `link_to = "sink"`, `link_to = "sink.input"`, 1)
		}, 16, []string{`key "link_to[0]"`, `bad pad "input"`}},
		{"kind mismatch", func(s string) string {
			return strings.Replace(s, `type = "ds3d::datafilter"`, `type = "ds3d::datarender"`, 1)
		}, 14, []string{`component "mid"`, `key "type"`, `does not match impl "passthrough", which is a ds3d::datafilter`}},
		{"unknown impl", func(s string) string {
			return strings.Replace(s, `impl = "passthrough"`, `impl = "passthru"`, 1)
		}, 15, []string{`key "impl"`, `no component implementation "passthru"`}},
		{"cuda-only impl", func(s string) string {
			return strings.Replace(s, `impl = "passthrough"`, `impl = "gpu_roi_crop"`, 1)
		}, 15, []string{`key "impl"`, `component implementation "gpu_roi_crop" is not in this build: rebuild with -tags cuda (make build-cuda)`}},
		{"rule tag: strict bound", func(s string) string {
			return strings.Replace(s, "count = 5", "count = 5\nrate_hz = 0.0", 1)
		}, 11, []string{`component "src"`, `key "config.rate_hz"`, "must be > 0, got 0.0"}},
		{"rule tag: nonempty", func(s string) string {
			return strings.Replace(s, `path = "out/x.jsonl"`, `path = ""`, 1)
		}, 23, []string{`component "sink"`, `key "config.path"`, "must not be empty"}},
		{"validate range", func(s string) string {
			return strings.Replace(s, "count = 5", "count = -1", 1)
		}, 10, []string{`key "config.count"`, "must be ≥ 0"}},
		{"unknown top-level", func(s string) string {
			return "pipelines = 1\n" + s
		}, 1, []string{`key "pipelines"`, "unknown top-level key"}},
		{"toml syntax", func(s string) string {
			return strings.Replace(s, "count = 5", "count = = 5", 1)
		}, 10, []string{"p.toml:10"}},
		{"ds3d yaml key", func(s string) string {
			return strings.Replace(s, `impl = "passthrough"`, "impl = \"passthrough\"\ncustom_lib_path = \"libx.so\"", 1)
		}, 16, []string{`key "custom_lib_path"`, "use impl"}},
		{"no input", func(s string) string {
			return s + `
[[component]]
name = "orphan"
type = "ds3d::datarender"
impl = "counting_sink"
`
		}, 25, []string{`component "orphan"`, "has no input"}},
		{"fan-in without mixer", func(s string) string {
			return strings.Replace(s, `link_to = "mid"`, `link_to = ["mid", "sink"]`, 1)
		}, 18, []string{`component "sink"`, "merge them with a ds3d::datamixer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "p.toml")
			if err := os.WriteFile(path, []byte(tc.edit(good)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(path)
			if err == nil {
				t.Fatal("config accepted")
			}
			var es config.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T is not config.Errors: %v", err, err)
			}
			// Every problem is reported; the one this edit causes must be
			// among them, at its line.
			var first *config.Error
			for _, e := range es {
				if e.Line == tc.wantLine {
					first = e
					break
				}
			}
			if first == nil || first.File != path {
				t.Fatalf("no error at %s:%d:\n%v", path, tc.wantLine, err)
			}
			msg := first.Error()
			if !strings.HasPrefix(msg, path+":") {
				t.Errorf("message does not start with the file: %s", msg)
			}
			for _, w := range tc.wantIn {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}
