package camera_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// runExample loads a shipped example config, points its datamap_file_sink
// into a temporary folder instead of ../../out, runs it, and returns the
// JSON lines the sink wrote.
func runExample(t *testing.T, name string) []map[string]any {
	t.Helper()
	p, err := config.Load(filepath.Join(sampledata.RepoRoot(t), "apps", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	sinks := 0
	for _, c := range p.Components {
		if fc, ok := c.Config.(*builtin.FileSinkConfig); ok {
			if !strings.Contains(string(fc.Path), "/out/") {
				t.Errorf("%s writes to %s, want ../../out/…", c.Name, fc.Path)
			}
			fc.Path = ds3d.Path(out)
			sinks++
		}
	}
	if sinks != 1 {
		t.Fatalf("%s has %d datamap_file_sinks, want 1", name, sinks)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var v struct {
			Keys map[string]any `json:"keys"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, v.Keys)
	}
	return lines
}

func TestExampleCameraLoaderConfig(t *testing.T) {
	lines := runExample(t, "camera_loader.toml")
	if len(lines) != 1 {
		t.Fatalf("%d datamaps, want 1", len(lines))
	}
	for i := 0; i < 6; i++ {
		k := "DS3D::ColorFrame_" + string(rune('0'+i))
		if got := lines[0][k]; got != "frame rgb u8 [900,1600,3] cpu" {
			t.Errorf("%s = %v", k, got)
		}
	}
	if lines[0]["DS3D::FrameNumber"] != 0.0 || lines[0]["DS3D::SourceId"] != 0.0 {
		t.Errorf("keys %v", lines[0])
	}
}
