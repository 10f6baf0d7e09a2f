package config_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// TestDecodeConfig: one component's table decodes to the config the file
// loader builds from the same keys, with the same refusals.
func TestDecodeConfig(t *testing.T) {
	dir := t.TempDir()
	table := "count = 7\nrate_hz = 20\npoints = 3\nseed = 2"
	doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"test_source\"\nlink_to = \"sink\"\n[component.config]\n" + table +
		"\n[[component]]\nname = \"sink\"\ntype = \"ds3d::datarender\"\nimpl = \"counting_sink\"\n"
	p, err := config.Parse("t.toml", dir, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := config.ParseUpdate(table)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := ds3d.Lookup("test_source")
	got, err := config.DecodeConfig(spec, "src", dir, tbl, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p.Component("src").Config) {
		t.Errorf("DecodeConfig %+v, the loader %+v", got, p.Component("src").Config)
	}
	if c := got.(*builtin.SourceConfig); c.MemPoolSize != 4 || c.Count != 7 {
		t.Errorf("defaults not applied: %+v", c)
	}

	for in, want := range map[string]string{
		"rate_hz = 0":     `component "src": key "config.rate_hz": must be > 0`,
		"cout = 1":        `key "config.cout": unknown key "cout"`,
		`count = "x"`:     `key "config.count": expected integer, got string "x"`,
		"drop_rate = 1.0": `key "config.drop_rate"`,
	} {
		tbl, _ := config.ParseUpdate(in)
		if _, err := config.DecodeConfig(spec, "src", dir, tbl, true); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}

	// Relative paths resolve against dir; the file checks run only with
	// files set.
	ls, _ := ds3d.Lookup("lidar_file_loader")
	tbl, _ = config.ParseUpdate(`files = ["missing/*.bin"]`)
	cfg, err := config.DecodeConfig(ls, "l", dir, tbl, false)
	if err != nil {
		t.Fatalf("without file checks: %v", err)
	}
	if f := reflect.ValueOf(cfg).Elem().FieldByName("Files").Index(0).String(); f != filepath.Join(dir, "missing/*.bin") {
		t.Errorf("path %q not resolved against %s", f, dir)
	}
	if _, err := config.DecodeConfig(ls, "l", dir, tbl, true); err == nil || !strings.Contains(err.Error(), `key "config.files": element 0: glob`) {
		t.Errorf("with file checks: %v", err)
	}
}
