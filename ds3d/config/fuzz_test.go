package config_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

// FuzzParse feeds arbitrary bytes to the loader: any outcome but a panic is
// fine. Seeds: the test config, every TOML config in the repository.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(mixerConfig))
	root := "../.."
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".toml") {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := config.Parse("fuzz.toml", "/nonexistent", data)
		if err == nil && p == nil {
			t.Fatal("nil pipeline without error")
		}
	})
}

// mixMixer is a minimal mixer for pad tests.
type mixMixer struct{}

func (mixMixer) Push(_ context.Context, _ int, in *ds3d.DataMap, emit ds3d.Emit) error {
	return emit(in)
}

type noConfig struct{}

func (*noConfig) Validate() error { return nil }

func init() {
	ds3d.Register(ds3d.KindMixer, "config_test_mixer", "Forwards whatever arrives (a test mixer).",
		func() *noConfig { return &noConfig{} },
		func(*noConfig, *ds3d.Env) (any, error) { return mixMixer{}, nil })
}

const mixerConfig = `[[component]]
name = "a"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "mix.sink_1"

[[component]]
name = "b"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "mix.sink_0"

[[component]]
name = "c"
type = "ds3d::dataloader"
impl = "test_source"

[[component]]
name = "mix"
type = "ds3d::datamixer"
impl = "config_test_mixer"
link_from = ["c"]
link_to = "out"

[[component]]
name = "out"
type = "ds3d::datarender"
impl = "counting_sink"
`

func TestMixerPads(t *testing.T) {
	p, err := config.Parse("m.toml", "", []byte(mixerConfig))
	if err != nil {
		t.Fatal(err)
	}
	mix := p.Component("mix")
	if mix.Inputs != 3 {
		t.Fatalf("mixer inputs = %d, want 3", mix.Inputs)
	}
	ports := map[string]int{}
	for _, e := range p.Edges {
		if e.To == mix {
			ports[e.From.Name] = e.Port
		}
	}
	// Explicit pads keep their numbers; link_from takes the lowest free one.
	want := map[string]int{"a": 1, "b": 0, "c": 2}
	for k, v := range want {
		if ports[k] != v {
			t.Errorf("%s → port %d, want %d (all: %v)", k, ports[k], v, ports)
		}
	}

	gap := strings.Replace(mixerConfig, `link_to = "mix.sink_0"`, `link_to = "mix.sink_5"`, 1)
	if _, err := config.Parse("m.toml", "", []byte(gap)); err == nil || !strings.Contains(err.Error(), "numbered from sink_0 without gaps") {
		t.Errorf("gap in mixer pads: %v", err)
	}
	twice := strings.Replace(mixerConfig, `link_to = "mix.sink_0"`, `link_to = "mix.sink_1"`, 1)
	if _, err := config.Parse("m.toml", "", []byte(twice)); err == nil || !strings.Contains(err.Error(), `pad sink_1 of "mix" is already linked`) {
		t.Errorf("pad used twice: %v", err)
	}
}

// TestEveryFieldDocumented checks the registry against the reflection that
// the binder uses: every key the binder accepts has a doc line.
func TestEveryFieldDocumented(t *testing.T) {
	var walk func(impl string, fs []ds3d.Field)
	walk = func(impl string, fs []ds3d.Field) {
		for _, f := range fs {
			if strings.TrimSpace(f.Doc) == "" || f.Name == "" || f.Type == "" {
				t.Errorf("%s: field %+v is undocumented", impl, f)
			}
			walk(impl, f.Fields)
		}
	}
	specs := ds3d.Specs()
	if len(specs) == 0 {
		t.Fatal("no components registered")
	}
	for _, s := range specs {
		if s.Doc == "" {
			t.Errorf("%s has no doc", s.Impl)
		}
		n := 0
		for _, k := range ds3d.StructKeys(s.ConfigType()) { // squashed groups' keys included
			if k.Name != "" {
				n++
			}
		}
		if n != len(s.Fields) {
			t.Errorf("%s: %d config keys but %d documented", s.Impl, n, len(s.Fields))
		}
		walk(s.Impl, s.Fields)
	}
}
