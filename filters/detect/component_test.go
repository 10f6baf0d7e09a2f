package detect

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/filters/align"
	_ "github.com/ds3d-go/ds3d-go/filters/outlier"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/render/writer"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// TestExampleDetectKITTI runs apps/examples/detect_kitti.toml (output
// redirected to a temporary file) and checks that its boxes are those of
// Detect on the same cloud: the pedestrian of KITTI 000000 among them.
func TestExampleDetectKITTI(t *testing.T) {
	cfg := filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "detect_kitti.toml")
	p, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "boxes.jsonl")
	var dc *Config
	for _, c := range p.Components {
		switch c := c.Config.(type) {
		case *writer.JSONConfig:
			c.Path = ds3d.Path(out)
		case *Config:
			dc = c
		}
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Boxes []struct {
			Center []float64 `json:"center"`
			Label  string    `json:"label"`
		} `json:"objects"`
	}
	if err := json.Unmarshal(b, &line); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	src := ds3d.NewLidarFrame(0)
	readInto(t, src, sampledata.Sample(t, "kitti/velodyne/000000.bin"))
	f := NewFilter(dc)
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, src)
	var want []ds3d.Box3D
	if err := f.Process(context.Background(), m, func(m *ds3d.DataMap) error {
		want, err = ds3d.Get[[]ds3d.Box3D](m, ds3d.KeyLidar3DBboxRawData)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(line.Boxes) != len(want) || len(want) == 0 {
		t.Fatalf("pipeline wrote %d boxes, Detect gives %d", len(line.Boxes), len(want))
	}
	ped := false
	for _, b := range line.Boxes {
		// KITTI 000000's pedestrian is at (8.7, −1.9) in the lidar frame
		if b.Label == "Pedestrian" && (b.Center[0]-8.7)*(b.Center[0]-8.7)+(b.Center[1]+1.9)*(b.Center[1]+1.9) < 1 {
			ped = true
		}
	}
	if !ped {
		t.Errorf("the labelled pedestrian is not among %s", b)
	}
}

func TestConfigValidate(t *testing.T) {
	spec, ok := ds3d.Lookup("model_free_detector")
	if !ok {
		t.Fatal("model_free_detector not registered")
	}
	_ = spec
	bad := []struct {
		key  string
		edit func(*Config)
	}{
		{"input_datamap_key", func(c *Config) { c.InputKey = "" }},
		{"x_range", func(c *Config) { c.XRange = []float64{1, 0} }},
		{"cell_size", func(c *Config) { c.CellSize = 0 }},
		{"cell_size", func(c *Config) { c.CellSize = 1e-4 }},
		{"criterion", func(c *Config) { c.Criterion = "best" }},
		{"nms_iou_threshold", func(c *Config) { c.NMSThreshold = 2 }},
		{"ground_clearance", func(c *Config) { c.GroundClearance = 5 }},
		{"min_points", func(c *Config) { c.MinPoints = 0 }},
	}
	for _, b := range bad {
		c := defaultConfig()
		b.edit(c)
		err := ds3d.CheckConfig(c)
		if err == nil || !strings.Contains(err.Error(), b.key) {
			t.Errorf("%s: error %v", b.key, err)
		}
	}
	if err := ds3d.CheckConfig(defaultConfig()); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// TestExampleDetectFull runs apps/examples/detect_full_kitti.toml, which
// chains every component of filters/{align,outlier,detect,postprocess}, and
// checks it writes one line with at least one box.
func TestExampleDetectFull(t *testing.T) {
	cfg := filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "detect_full_kitti.toml")
	p, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "boxes.jsonl")
	for _, c := range p.Components {
		if c, ok := c.Config.(*writer.JSONConfig); ok {
			c.Path = ds3d.Path(out)
		}
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), `"label":"Pedestrian"`) {
		t.Errorf("output %s", b)
	}
}
