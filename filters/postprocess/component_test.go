package postprocess

import (
	"context"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func TestComponent(t *testing.T) {
	spec, ok := ds3d.Lookup("box_postprocess")
	if !ok {
		t.Fatal("box_postprocess not registered")
	}
	_ = spec
	c := &Config{InputGroup: ds3d.InputGroup{InputKey: "in"}, OutputGroup: ds3d.OutputGroup{OutputKey: "out"}, ScoreThreshold: 0.5, NMSThreshold: 0.1, MaxOutput: 1}
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	a, b, d := box(0, 0, 0, 4, 2, 2, 0), box(0.3, 0, 0, 4, 2, 2, 0), box(10, 0, 0, 4, 2, 2, 0)
	a.Score, b.Score, d.Score = 0.9, 0.8, 0.7
	low := box(20, 0, 0, 4, 2, 2, 0)
	low.Score = 0.2
	in := []ds3d.Box3D{low, b, a, d}
	m := ds3d.NewDataMap()
	m.Set("in", in)
	var got []ds3d.Box3D
	f := NewFilter(c)
	if err := f.Process(context.Background(), m, func(m *ds3d.DataMap) error {
		var err error
		got, err = ds3d.Get[[]ds3d.Box3D](m, "out")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Score != 0.9 {
		t.Errorf("kept %+v", got)
	}
	c.MaxOutput = -1
	f = NewFilter(c)
	f.Process(context.Background(), m, func(m *ds3d.DataMap) error { got, _ = ds3d.Get[[]ds3d.Box3D](m, "out"); return nil })
	if len(got) != 2 || got[1].Score != 0.7 || in[0].Score != 0.2 {
		t.Errorf("kept %+v (input %+v)", got, in)
	}
	for _, bad := range []struct {
		key  string
		edit func(*Config)
	}{
		{"input_datamap_key", func(c *Config) { c.InputKey = "" }},
		{"nms_iou_threshold", func(c *Config) { c.NMSThreshold = -0.1 }},
		{"max_output", func(c *Config) { c.MaxOutput = -2 }},
	} {
		c := &Config{InputGroup: ds3d.InputGroup{InputKey: "in"}, OutputGroup: ds3d.OutputGroup{OutputKey: "out"}, NMSThreshold: 0.1}
		bad.edit(c)
		if err := ds3d.CheckConfig(c); err == nil || !strings.Contains(err.Error(), bad.key) {
			t.Errorf("%s: %v", bad.key, err)
		}
	}
}
