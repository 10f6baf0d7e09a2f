package config_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

var firstAt = regexp.MustCompile(`\(first (defined at line|added as component) \d+\)`)

// stripped lists the errors of err without their file and line, which a
// pipeline built from Go values has none of.
func stripped(t *testing.T, err error) []string {
	t.Helper()
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v (%T) is not config.Errors", err, err)
	}
	var out []string
	for _, e := range es {
		c := *e
		c.File, c.Line = "", 0
		c.Msg = firstAt.ReplaceAllString(c.Msg, "(first at N)")
		out = append(out, c.Error())
	}
	return out
}

// TestBuildMatchesParse builds pipelines from Go values and the same
// pipelines from TOML: the results (components, configs, links) and, for
// broken ones, the errors must be the same, file lines aside.
func TestBuildMatchesParse(t *testing.T) {
	cases := []struct {
		name string
		defs []config.Def
		toml string
	}{
		{"good", []config.Def{
			{Name: "src", Impl: "test_source", Config: map[string]any{"count": int64(5), "rate_hz": 20.0}, LinkTo: []string{"mid"}},
			{Name: "mid", Impl: "passthrough", LinkTo: []string{"sink"}, QueueSize: 2, Leaky: "downstream"},
			{Name: "sink", Impl: "counting_sink", Config: map[string]any{"expect": int64(5)}},
		}, `
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "mid"
[component.config]
count = 5
rate_hz = 20.0
[[component]]
name = "mid"
type = "ds3d::datafilter"
impl = "passthrough"
link_to = "sink"
queue_size = 2
leaky = "downstream"
[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
[component.config]
expect = 5
`},
		{"bad keys and links", []config.Def{
			{Name: "src", Impl: "test_source", Config: map[string]any{"cont": int64(5), "rate_hz": "fast"}, LinkTo: []string{"nope", "sink.sink_3"}},
			{Name: "sink", Impl: "counting_sink", Leaky: "sideways"},
		}, `
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = ["nope", "sink.sink_3"]
[component.config]
cont = 5
rate_hz = "fast"
[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
leaky = "sideways"
`},
		{"rules", []config.Def{
			{Name: "src", Impl: "test_source", Config: map[string]any{"count": int64(-1), "drop_rate": 1.0}, LinkTo: []string{"sink"}},
			{Name: "sink", Impl: "counting_sink"},
		}, `
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "sink"
[component.config]
count = -1
drop_rate = 1.0
[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
`},
		{"graph", []config.Def{
			{Name: "src", Impl: "test_source", LinkTo: []string{"a"}},
			{Name: "a", Impl: "passthrough", LinkTo: []string{"b"}},
			{Name: "b", Impl: "passthrough", LinkTo: []string{"a"}},
			{Name: "a", Impl: "passthrough"},
		}, `
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "a"
[[component]]
name = "a"
type = "ds3d::datafilter"
impl = "passthrough"
link_to = "b"
[[component]]
name = "b"
type = "ds3d::datafilter"
impl = "passthrough"
link_to = "a"
[[component]]
name = "a"
type = "ds3d::datafilter"
impl = "passthrough"
`},
		{"kind and impl", []config.Def{
			{Name: "src", Impl: "test_source", Kind: ds3d.KindFilter, LinkTo: []string{"sink"}},
			{Name: "sink", Impl: "no_such_sink"},
		}, `
[[component]]
name = "src"
type = "ds3d::datafilter"
impl = "test_source"
link_to = "sink"
[[component]]
name = "sink"
type = "ds3d::datafilter"
impl = "no_such_sink"
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, werr := config.Parse("p.toml", "", []byte(c.toml))
			got, gerr := config.NewPipeline("").Add(c.defs...).Build()
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("Parse: %v\nBuild: %v", werr, gerr)
			}
			if werr != nil {
				// Within a component a file orders its errors by line.
				w, g := stripped(t, werr), stripped(t, gerr)
				sort.Strings(w)
				sort.Strings(g)
				if !reflect.DeepEqual(w, g) {
					t.Fatalf("errors differ\nParse:\n%s\nBuild:\n%s", strings.Join(w, "\n"), strings.Join(g, "\n"))
				}
				return
			}
			if len(got.Components) != len(want.Components) || len(got.Edges) != len(want.Edges) {
				t.Fatalf("got %d components %d edges, want %d and %d", len(got.Components), len(got.Edges), len(want.Components), len(want.Edges))
			}
			for i, w := range want.Components {
				g := got.Components[i]
				if g.Name != w.Name || g.Kind != w.Kind || g.Impl != w.Impl || g.QueueSize != w.QueueSize ||
					g.Leaky != w.Leaky || g.Inputs != w.Inputs || !reflect.DeepEqual(g.Config, w.Config) {
					t.Errorf("component %d: got %+v %+v\nwant %+v %+v", i, g, g.Config, w, w.Config)
				}
			}
			for i, w := range want.Edges {
				g := got.Edges[i]
				if g.From.Name != w.From.Name || g.To.Name != w.To.Name || g.Port != w.Port {
					t.Errorf("edge %d: got %s→%s:%d, want %s→%s:%d", i, g.From.Name, g.To.Name, g.Port, w.From.Name, w.To.Name, w.Port)
				}
			}
		})
	}
}

func TestBuildTypedConfig(t *testing.T) {
	src, err := config.Defaults[*builtin.SourceConfig]("test_source")
	if err != nil {
		t.Fatal(err)
	}
	if src.Count != 100 || src.MemPoolSize != 4 {
		t.Fatalf("defaults: %+v", src)
	}
	src.Count = 7
	sink := &builtin.FileSinkConfig{Path: "out/x.jsonl"}
	p, err := config.NewPipeline("typed").Dir("/data/run").
		Add(config.Def{Name: "src", Impl: "test_source", Config: src, LinkTo: []string{"sink"}},
			config.Def{Name: "sink", Impl: "datamap_file_sink", Config: sink}).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Component("src").Config.(*builtin.SourceConfig); got == src || got.Count != 7 {
		t.Errorf("src config: %+v (the caller's struct must be copied)", got)
	}
	if got := p.Component("sink").Config.(*builtin.FileSinkConfig).Path; got != ds3d.Path(filepath.Join("/data/run", "out/x.jsonl")) {
		t.Errorf("relative path resolved to %q", got)
	}
	if sink.Path != "out/x.jsonl" {
		t.Errorf("the caller's struct changed: %q", sink.Path)
	}

	// Typed configs go through the same rules: a zero struct breaks
	// nonempty, a negative count breaks min, and a struct of another
	// component is refused.
	_, err = config.NewPipeline("typed").
		Add(config.Def{Name: "src", Impl: "test_source", Config: &builtin.SourceConfig{Count: -2, RateHz: 1, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}}, LinkTo: []string{"sink"}},
			config.Def{Name: "sink", Impl: "datamap_file_sink", Config: &builtin.FileSinkConfig{}},
			config.Def{Name: "x", Impl: "passthrough", Config: sink, LinkFrom: []string{"src"}, LinkTo: []string{"sink2"}},
			config.Def{Name: "sink2", Impl: "counting_sink"}).
		Build()
	got := strings.Join(stripped(t, err), "\n")
	for _, want := range []string{
		`component "src": key "config.count": `,
		`component "sink": key "config.path": `,
		`component "x": key "config": passthrough takes a config of type *builtin.PassthroughConfig, got *builtin.FileSinkConfig`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	if _, err := config.Defaults[*builtin.FileSinkConfig]("test_source"); err == nil {
		t.Error("Defaults with the wrong type: no error")
	}
	if _, err := config.Defaults[*builtin.FileSinkConfig]("no_such_impl"); err == nil {
		t.Error("Defaults of an unknown impl: no error")
	}
}

// TestSetMatchesFile changes keys of a loaded pipeline as `ds3d run --set`
// does: the result and the errors are those of the same value in the file.
func TestSetMatchesFile(t *testing.T) {
	// extra replaces the file's count = 5.
	base := func(extra string) string {
		if extra == "" {
			extra = "count = 5"
		}
		return `
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "sink"
[component.config]
` + extra + `
[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "datamap_file_sink"
[component.config]
path = "x.jsonl"
`
	}
	cases := []struct {
		key  string
		val  any
		line string // the same change written in the file
	}{
		{"count", int64(9), "count = 9"},
		{"mem_pool_size", int64(2), "count = 5\nmem_pool_size = 2"},
		{"count", int64(-3), "count = -3"},
		{"count", "many", `count = "many"`},
		{"cont", int64(1), "count = 5\ncont = 1"},
		{"rate_hz", int64(4), "count = 5\nrate_hz = 4"},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			p, err := config.Parse("p.toml", "/cfg", []byte(base("")))
			if err != nil {
				t.Fatal(err)
			}
			want, werr := config.Parse("p.toml", "/cfg", []byte(base(c.line)))
			serr := p.Set("--set", "src", c.key, c.val)
			if (werr == nil) != (serr == nil) {
				t.Fatalf("file: %v\n--set: %v", werr, serr)
			}
			if werr != nil {
				w, s := stripped(t, werr), stripped(t, serr)
				if !reflect.DeepEqual(w, s) {
					t.Fatalf("errors differ\nfile:\n%s\n--set:\n%s", strings.Join(w, "\n"), strings.Join(s, "\n"))
				}
				if !strings.HasPrefix(serr.Error(), "--set: ") {
					t.Errorf("error does not say where it came from: %v", serr)
				}
				return
			}
			if g, w := p.Component("src").Config, want.Component("src").Config; !reflect.DeepEqual(g, w) {
				t.Errorf("config %+v, want %+v", g, w)
			}
		})
	}
	p, _ := config.Parse("p.toml", "/cfg", []byte(base("")))
	before := *p.Component("src").Config.(*builtin.SourceConfig)
	if err := p.Set("--set", "src", "count", "x"); err == nil {
		t.Fatal("bad value accepted")
	}
	if after := *p.Component("src").Config.(*builtin.SourceConfig); after != before {
		t.Errorf("a refused --set changed the config: %+v", after)
	}
	if err := p.Set("--set", "nope", "count", int64(1)); err == nil || !strings.Contains(err.Error(), `component "nope": no such component (the pipeline has src, sink)`) {
		t.Errorf("unknown component: %v", err)
	}
	if err := p.Set("--set", "sink", "path", "y.jsonl"); err != nil {
		t.Fatal(err)
	}
	if got := p.Component("sink").Config.(*builtin.FileSinkConfig).Path; got != ds3d.Path(filepath.Join("/cfg", "y.jsonl")) {
		t.Errorf("path resolved to %q", got)
	}
	if err := p.Set("--set", "src", "count.x", int64(1)); err == nil || !strings.Contains(err.Error(), "not a table") {
		t.Errorf("key inside a number: %v", err)
	}
}
