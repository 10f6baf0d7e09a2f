package postprocess

import (
	"context"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

// TestUpdate changes score_threshold and max_output of a built filter the
// way a running pipeline does (config.Update, then Update), and refuses a
// key that is not runtime-updatable.
func TestUpdate(t *testing.T) {
	spec, _ := ds3d.Lookup("box_postprocess")
	cur := spec.NewConfig().(*Config)
	cur.InputKey, cur.OutputKey = "in", "out"
	f := NewFilter(cur)
	a, b := box(0, 0, 0, 4, 2, 2, 0), box(10, 0, 0, 4, 2, 2, 0)
	a.Score, b.Score = 0.9, 0.5
	run := func() []ds3d.Box3D {
		m := ds3d.NewDataMap()
		m.Set("in", []ds3d.Box3D{a, b})
		var got []ds3d.Box3D
		if err := f.Process(context.Background(), m, func(m *ds3d.DataMap) error {
			var err error
			got, err = ds3d.Get[[]ds3d.Box3D](m, "out")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := run(); len(got) != 2 {
		t.Fatalf("before: kept %d boxes", len(got))
	}
	c := &config.Component{Name: "post", Impl: "box_postprocess", Spec: spec}
	next, err := config.Update(c, cur, "", map[string]any{"score_threshold": 0.6})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Update(next); err != nil {
		t.Fatal(err)
	}
	if got := run(); len(got) != 1 || got[0].Score != 0.9 {
		t.Errorf("after: kept %+v", got)
	}
	if cur.ScoreThreshold != 0.1 {
		t.Errorf("the running config changed: %v", cur.ScoreThreshold)
	}
	if _, err := config.Update(c, cur, "", map[string]any{"input_datamap_key": "x"}); err == nil {
		t.Error("input_datamap_key changed at run time")
	}
	if _, err := config.Update(c, cur, "", map[string]any{"nms_iou_threshold": 1.5}); err == nil {
		t.Error("nms_iou_threshold 1.5 accepted")
	}
}
