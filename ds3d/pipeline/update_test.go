package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

// TestUpdateConfigBetweenFrames changes a runtime-updatable key of a running
// pipeline (counting_sink's delay) and checks that the change takes effect,
// and that changes the spec does not allow, or that do not validate, are
// refused with errors naming the component and the key.
func TestUpdateConfigBetweenFrames(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := build(t, chain("test_source\n--\ncount = 0\n", []string{"passthrough"}, "counting_sink\n--\ndelay = \"40ms\"\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	waitFrames := func(n uint64, within time.Duration) bool {
		deadline := time.Now().Add(within)
		for g.SinkFrames() < n {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(time.Millisecond)
		}
		return true
	}
	if !waitFrames(2, 10*time.Second) {
		t.Fatal("no frames reached the sink")
	}
	for _, tc := range []struct {
		comp    string
		changes map[string]any
		want    []string
	}{
		{"sink", map[string]any{"expect": int64(3)}, []string{`component "sink"`, `key "config.expect"`, "cannot change while the pipeline runs", "[delay]"}},
		{"sink", map[string]any{"delay": "-1s"}, []string{`key "config.delay"`, "must be ≥ 0s, got -1s"}},
		{"sink", map[string]any{"delay": int64(5)}, []string{`key "config.delay"`, "expected duration, got integer 5"}},
		{"sink", map[string]any{"dealy": "1ms"}, []string{`key "config.dealy"`, `counting_sink has no key "dealy"`}},
		{"stage1", map[string]any{"x": 1}, []string{`component "stage1"`, "passthrough has no runtime-updatable keys"}},
		{"nope", map[string]any{"delay": "1ms"}, []string{`no component "nope"`}},
	} {
		err := g.UpdateConfig(ctx, tc.comp, tc.changes)
		if err == nil {
			t.Errorf("%s %v accepted", tc.comp, tc.changes)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v: error %q lacks %q", tc.comp, tc.changes, err, w)
			}
		}
	}
	// At 40 ms a datamap, 200 more take 8 s; without the delay, moments.
	changes, err := config.ParseUpdate(`delay = "0s"`)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.UpdateConfig(ctx, "sink", changes); err != nil {
		t.Fatalf("update refused: %v", err)
	}
	if !waitFrames(g.SinkFrames()+200, 4*time.Second) {
		t.Errorf("the new delay did not apply: %d frames", g.SinkFrames())
	}
	g.Drain()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := g.UpdateConfig(context.Background(), "sink", map[string]any{"delay": "1ms"}); err == nil || !strings.Contains(err.Error(), "has stopped") {
		t.Errorf("update after the run: %v", err)
	}
}
