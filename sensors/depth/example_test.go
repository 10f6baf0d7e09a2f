package depth_test

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

// TestExampleDepthLoaderConfig runs the shipped apps/examples/depth_loader.toml
// (its sink pointed into a temporary folder) on the bundled Redwood pair.
func TestExampleDepthLoaderConfig(t *testing.T) {
	p, err := config.Load(filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "depth_loader.toml"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	p.Component("summary").Config.(*builtin.FileSinkConfig).Path = ds3d.Path(out)
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
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d datamaps, want 1:\n%s", len(lines), data)
	}
	var v struct {
		Keys map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &v); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"DS3D::ColorFrame":     "frame rgb u8 [480,640,3] cpu",
		"DS3D::DepthFrame":     "frame depth u16 [480,640] cpu",
		"DS3D::DepthScaleUnit": 0.001,
		"DS3D::Timestamp":      0.0,
		"DS3D::FrameNumber":    0.0,
	}
	for k, w := range want {
		if v.Keys[k] != w {
			t.Errorf("%s = %v, want %v", k, v.Keys[k], w)
		}
	}
	if s, _ := v.Keys["DS3D::Cam0_IntrinsicMatrix"].(string); !strings.Contains(s, "525") || !strings.Contains(s, "319.5") {
		t.Errorf("DS3D::Cam0_IntrinsicMatrix = %v", v.Keys["DS3D::Cam0_IntrinsicMatrix"])
	}
}
