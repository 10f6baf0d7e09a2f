package lidarinfer

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/filters/pointcloud"
	"github.com/ds3d-go/ds3d-go/filters/postprocess"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// capture is what the test sink keeps of each datamap (copied: the
// runtime recycles the frames after Render).
type capture struct {
	boxes    []ds3d.Box3D
	hasBoxes bool
	cls      []float32
	clsShape string
}

type recSink struct {
	mu   sync.Mutex
	caps []capture
}

func (r *recSink) Render(_ context.Context, m *ds3d.DataMap) error {
	var c capture
	if b, err := ds3d.Get[[]ds3d.Box3D](m, ds3d.KeyLidar3DBboxRawData); err == nil {
		c.boxes, c.hasBoxes = b, true
	}
	if f, err := m.Frame("DS3D::ClsPreds"); err == nil {
		c.cls = append([]float32(nil), ds3d.AsFloat32(f)[:f.Shape.Elements()]...)
		c.clsShape = f.Shape.String()
	}
	r.mu.Lock()
	r.caps = append(r.caps, c)
	r.mu.Unlock()
	return nil
}

type noCfg struct{}

func (*noCfg) Validate() error { return nil }

var sinks sync.Map

func init() {
	ds3d.Register(ds3d.KindRender, "lidarinfer_test_recorder", "Records lidar_infer outputs for tests.",
		func() *noCfg { return &noCfg{} },
		func(_ *noCfg, env *ds3d.Env) (any, error) {
			s := &recSink{}
			sinks.Store(env.Name, s)
			return s, nil
		})
}

// small is the 10.24 m × 10.24 m, 64×64-pillar grid used under -race and
// -short (the full KITTI grid is ~60 GFLOP per frame).
func gridFor(small bool) (cfg onnxbuild.PointPillarsConfig, rng string) {
	cfg = onnxbuild.DefaultPointPillars()
	rng = "[0.0, -39.68, -3.0, 69.12, 39.68, 1.0]"
	if small {
		cfg.NX, cfg.NY, cfg.MaxPillars = 64, 64, 3000
		rng = "[0.0, -5.12, -3.0, 10.24, 5.12, 1.0]"
	}
	return cfg, rng
}

// TestPipelinePointPillars: KITTI sample → pillar_scatter_prep → lidar_infer
// (the random-weight PointPillars written to a temporary .onnx) → sink.
func TestPipelinePointPillars(t *testing.T) {
	small := testenv.RaceEnabled || testing.Short()
	cfg, rng := gridFor(small)
	dir := t.TempDir()
	model, err := onnxbuild.PointPillars(cfg)
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "pointpillars.onnx")
	if err := os.WriteFile(modelPath, model, 0o644); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(sampledata.RepoRoot(t), "datasets/samples/kitti/lidar_list.toml")
	doc := fmt.Sprintf(`[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "pillars"
[component.config]
data_config_file = [%q]
element_size = 4
element_stride = 4
mem_pool_size = 2

[[component]]
name = "pillars"
type = "ds3d::datafilter"
impl = "pillar_scatter_prep"
link_to = "infer"
[component.config]
point_cloud_range = %s
max_pillars = %d

[[component]]
name = "infer"
type = "ds3d::datafilter"
impl = "lidar_infer"
link_to = "rec"
[component.config]
model_path = %q
threads = 2
postprocess = "pointpillars"
point_cloud_range = %s
score_threshold = 0.3
[[component.config.model_inputs]]
name = "voxels"
datamap_key = "DS3D::LidarFeatureTensor"
datatype = "FP32"
shape = [%d, 32, 10]
[[component.config.model_inputs]]
name = "voxel_coords"
datamap_key = "DS3D::LidarCoordTensor"
datatype = "INT32"
pad_row = [0, 0, %d, 0]
[[component.config.model_outputs]]
name = "cls_preds"
datamap_key = "DS3D::ClsPreds"

[[component]]
name = "rec"
type = "ds3d::datarender"
impl = "lidarinfer_test_recorder"
`, list, rng, cfg.MaxPillars, modelPath, rng, cfg.MaxPillars, cfg.NY)
	path := filepath.Join(dir, "pipeline.toml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, _ := sinks.Load("rec")
	caps := s.(*recSink).caps
	if len(caps) != 1 {
		t.Fatalf("%d datamaps reached the sink, want 1", len(caps))
	}
	c := caps[0]
	if !c.hasBoxes {
		t.Fatal("no DS3D::Lidar3DBboxRawData in the datamap")
	}
	ny, nx := cfg.NY/2, cfg.NX/2
	if want := fmt.Sprintf("[1 %d %d 18]", ny, nx); !strings.Contains(c.clsShape, fmt.Sprint(ny)) || len(c.cls) != ny*nx*18 {
		t.Fatalf("cls_preds frame %s (%d values), want %s", c.clsShape, len(c.cls), want)
	}
	// Independent count of anchors over the threshold, from the stored logits:
	// sigmoid(max of the 3 class logits) ≥ 0.3.
	over := 0
	for k := 0; k < ny*nx*6; k++ {
		l := c.cls[k*3 : k*3+3]
		m := math.Max(float64(l[0]), math.Max(float64(l[1]), float64(l[2])))
		if 1/(1+math.Exp(-m)) >= 0.3 {
			over++
		}
	}
	if len(c.boxes) > over || (over > 0 && len(c.boxes) == 0) {
		t.Fatalf("%d boxes after NMS from %d anchors over the threshold", len(c.boxes), over)
	}
	names := map[string]int32{"Car": 0, "Pedestrian": 1, "Cyclist": 2}
	for i, b := range c.boxes {
		for _, v := range []float32{b.CX, b.CY, b.CZ, b.DX, b.DY, b.DZ, b.Yaw, b.Score} {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("box %d: %+v", i, b)
			}
		}
		if id, ok := names[b.Label]; !ok || id != b.ClassID || b.Score < 0.3 || b.DX <= 0 || b.DY <= 0 || b.DZ <= 0 ||
			b.Yaw < -math.Pi || b.Yaw >= math.Pi {
			t.Fatalf("box %d: %+v", i, b)
		}
		if i > 0 && b.Score > c.boxes[i-1].Score {
			t.Fatalf("boxes not in descending score order at %d", i)
		}
		for j := 0; j < i; j++ {
			if iou := postprocess.BEVIoU(&c.boxes[j], &b); iou > 0.01 {
				t.Fatalf("boxes %d and %d overlap by BEV IoU %v > nms_iou_threshold 0.01", j, i, iou)
			}
		}
	}
	t.Logf("%d anchors over 0.3, %d boxes after NMS", over, len(c.boxes))
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := onnxbuild.DefaultPointPillars()
	cfg.NX, cfg.NY, cfg.MaxPillars = 16, 16, 100
	model, err := onnxbuild.PointPillars(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(mp, model, 0o644); err != nil {
		t.Fatal(err)
	}
	spec, _ := ds3d.Lookup("lidar_infer")
	good := func() *Config {
		c := spec.NewConfig().(*Config)
		c.ModelPath = ds3d.Path(mp)
		c.ModelInputs = []ModelInput{{Name: "voxels", DatamapKey: "a"}, {Name: "voxel_coords", DatamapKey: "b"}}
		return c
	}
	if f, err := New(good()); err != nil {
		t.Fatalf("good config: %v", err)
	} else {
		f.Close()
	}
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"missing input":   {func(c *Config) { c.ModelInputs = c.ModelInputs[:1] }, "voxel_coords"},
		"unknown input":   {func(c *Config) { c.ModelInputs = append(c.ModelInputs, ModelInput{Name: "x", DatamapKey: "k"}) }, `"x" is not an input`},
		"shape":           {func(c *Config) { c.ModelInputs[0].Shape = []int{1, 2} }, "model_inputs[voxels].shape"},
		"unknown output":  {func(c *Config) { c.ModelOutputs = []ModelOutput{{Name: "y", DatamapKey: "k"}} }, `"y" is not an output`},
		"datatype":        {func(c *Config) { c.ModelInputs[0].Datatype = "FP8" }, `model_inputs[0].datatype: must be one of "", "FP32"`},
		"postprocess":     {func(c *Config) { c.Postprocess = "yolo" }, `postprocess: must be one of "", "pointpillars", got "yolo"`},
		"cls output name": {func(c *Config) { c.Postprocess = "pointpillars"; c.ClsOutput = "nope" }, `"nope" is not an output`},
		"missing model":   {func(c *Config) { c.ModelPath = ds3d.Path(filepath.Join(dir, "none.onnx")) }, "none.onnx"},
	} {
		c := good()
		tc.edit(c)
		_, err := spec.Build(c, &ds3d.Env{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
}

// TestFillPadding checks the frame → input conversion: int32 coords are
// widened, missing rows take pad_row, too many rows are an error.
func TestFillPadding(t *testing.T) {
	b := &boundInput{ModelInput: ModelInput{Name: "c"}, size: 12, buf: make([]float32, 12), pad: []float32{0, 0, 9, 0}}
	fr := ds3d.NewTensorFrame(ds3d.DTypeI32, 2, 4)
	copy(ds3d.AsInt32(fr), []int32{0, 0, 3, 4, 0, 0, -5, 6})
	if err := b.fill(fr); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(b.buf) != "[0 0 3 4 0 0 -5 6 0 0 9 0]" {
		t.Errorf("buf %v", b.buf)
	}
	big := ds3d.NewTensorFrame(ds3d.DTypeI32, 4, 4)
	if err := b.fill(big); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("4 rows into 3: %v", err)
	}
	odd := ds3d.NewTensorFrame(ds3d.DTypeI32, 1, 5)
	if err := b.fill(odd); err == nil {
		t.Error("rows of 5 into 12 accepted")
	}
	b.Datatype, b.dtype = "FP32", ds3d.DTypeF32
	if err := b.fill(fr); err == nil || !strings.Contains(err.Error(), "FP32") {
		t.Errorf("datatype mismatch: %v", err)
	}
}
