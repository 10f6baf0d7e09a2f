package lidarinfer

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/filters/align"
	"github.com/ds3d-go/ds3d-go/filters/imagetensor"
	"github.com/ds3d-go/ds3d-go/filters/voxelize"
	_ "github.com/ds3d-go/ds3d-go/fusion/mixer"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/sensors/camera" // image_file_loader
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// frameCopy is a frame as the sink saw it (copied: the runtime recycles
// frames after Render).
type frameCopy struct {
	shape string
	f32   []float32
	i32   []int32
}

type frameSink struct {
	mu   sync.Mutex
	maps []map[ds3d.Key]frameCopy
}

func (r *frameSink) Render(_ context.Context, m *ds3d.DataMap) error {
	got := map[ds3d.Key]frameCopy{}
	m.Range(func(k ds3d.Key, v any) bool {
		fr, ok := v.(*ds3d.Frame)
		if !ok || fr.Type != ds3d.FrameTensor {
			return true
		}
		c := frameCopy{shape: fr.Shape.String()}
		n := fr.Shape.Elements()
		switch fr.DType {
		case ds3d.DTypeF32:
			c.f32 = append([]float32(nil), ds3d.AsFloat32(fr)[:n]...)
		case ds3d.DTypeI32:
			c.i32 = append([]int32(nil), ds3d.AsInt32(fr)[:n]...)
		}
		got[k] = c
		return true
	})
	r.mu.Lock()
	r.maps = append(r.maps, got)
	r.mu.Unlock()
	return nil
}

func init() {
	ds3d.Register(ds3d.KindRender, "lidarinfer_test_frames", "Copies the tensor frames of each datamap, for tests.",
		func() *noCfg { return &noCfg{} },
		func(_ *noCfg, env *ds3d.Env) (any, error) {
			s := &frameSink{}
			sinks.Store(env.Name, s)
			return s, nil
		})
}

func runPipeline(t *testing.T, doc, sink string) map[ds3d.Key]frameCopy {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipeline.toml")
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
	s, _ := sinks.Load(sink)
	maps := s.(*frameSink).maps
	if len(maps) != 1 {
		t.Fatalf("%d datamaps reached the sink, want 1", len(maps))
	}
	return maps[0]
}

func writeModel(t *testing.T, b []byte, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func need(t *testing.T, got map[ds3d.Key]frameCopy, key, shape string) frameCopy {
	t.Helper()
	f, ok := got[ds3d.Key(key)]
	if !ok {
		var keys []string
		for k := range got {
			keys = append(keys, string(k))
		}
		t.Fatalf("no %s in the datamap (tensors: %s)", key, strings.Join(keys, ", "))
	}
	if f.shape != shape {
		t.Fatalf("%s has shape %s, want %s", key, f.shape, shape)
	}
	return f
}

func near(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 1e-4*math.Max(1, math.Abs(want))
}

// nuScenes cameras in apps/bevfusion's (and CUDA-BEVFusion's) order.
var nuCams = []string{"CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT"}

// alignCameras writes lidar_alignment_filter's camera blocks from the
// keyframe's info JSON.
func alignCameras(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "datasets/samples/nuscenes/n015-2018-07-24-11-22-45+0800.derived.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		DataList []struct {
			Images map[string]struct {
				Cam2Img   [][]float64 `json:"cam2img"`
				Lidar2Cam [][]float64 `json:"lidar2cam"`
			} `json:"images"`
		} `json:"data_list"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	flat := func(m [][]float64) string {
		var s []string
		for _, r := range m {
			for _, v := range r {
				s = append(s, fmt.Sprint(v))
			}
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	var sb strings.Builder
	for i, n := range nuCams {
		c := info.DataList[0].Images[n]
		fmt.Fprintf(&sb, "[[component.config.cameras]]\nindex = %d\nwidth = 1600\nheight = 900\nintrinsic = %s\nextrinsic = %s\n",
			i, flat(c.Cam2Img), flat(c.Lidar2Cam))
	}
	return sb.String()
}

// TestBEVFusionPipeline: the nuScenes keyframe (LIDAR_TOP + 6 cameras) →
// multisensor_mixer → lidar_alignment_filter → image_tensor (img
// [1, 6, 3, 256, 704] + lidar2image [1, 6, 4, 4]) → voxelize → lidar_infer
// with the BEVFusion-shaped model. The outputs must appear under their keys
// with the model's shapes, and camera_feature and one heatmap element must
// equal a float64 computation from the datamap's inputs and the weights.
func TestBEVFusionPipeline(t *testing.T) {
	root := sampledata.RepoRoot(t)
	cfg := fusionCfg{Batch: 6, H: 256, W: 704, Stride: 16, V: 12000, P: 10, F: 4, NY: 128, NX: 128,
		Cc: 4, Cl: 8, Cg: 4, Ch: 8, K: 10, Seed: 7}
	b, model, err := bevFusionModel(cfg)
	mp := writeModel(t, b, err)
	ns := filepath.Join(root, "datasets/samples/nuscenes")
	var lists []string
	for _, n := range nuCams {
		lists = append(lists, fmt.Sprintf("%q", filepath.Join(ns, strings.ToLower(n)+"_list.toml")))
	}
	doc := fmt.Sprintf(`[[component]]
name = "lidar"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "mix.sink_0"
[component.config]
data_config_file = [%q]
element_size = 4
element_stride = 5

[[component]]
name = "cameras"
type = "ds3d::dataloader"
impl = "image_file_loader"
link_to = "mix.sink_1"
[component.config]
data_config_file = [%s]
mem_pool_size = 2

[[component]]
name = "mix"
type = "ds3d::datamixer"
impl = "multisensor_mixer"
link_to = "align"
[component.config]
policy = "publish_on"
publish_on = 0
max_interval_ms = 50.0
force_sync = true

[[component]]
name = "align"
type = "ds3d::datafilter"
impl = "lidar_alignment_filter"
link_to = "camtensor"
[component.config]
input_datamap_key = "DS3D::LidarXYZI+0"
depth_map = "none"
%s
[[component]]
name = "camtensor"
type = "ds3d::datafilter"
impl = "image_tensor"
link_to = "voxelize"
[component.config]
input_datamap_key = "DS3D::ColorFrame+1"
cameras = 6
camera_matrices_key = "DS3D::LidarToImageTensor"
mem_pool_size = 2

[[component]]
name = "voxelize"
type = "ds3d::datafilter"
impl = "voxelize"
link_to = "bevfusion"
[component.config]
input_datamap_keys = ["DS3D::LidarXYZI+0"]
point_cloud_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
voxel_size = [0.8, 0.8, 8.0]
max_points_per_voxel = %d
max_voxels = %d
num_point_features = %d
pad_to_max_voxels = true
mem_pool_size = 2

[[component]]
name = "bevfusion"
type = "ds3d::datafilter"
impl = "lidar_infer"
link_to = "rec_bev"
[component.config]
model_path = %q
threads = 2
[[component.config.model_inputs]]
name = "img"
datamap_key = "DS3D::VideoPreprocessTensor"
shape = [1, 6, 3, 256, 704]
[[component.config.model_inputs]]
name = "voxels"
datamap_key = "DS3D::LidarFeatureTensor"
[[component.config.model_inputs]]
name = "coords"
datamap_key = "DS3D::LidarCoordTensor"
datatype = "INT32"
[[component.config.model_inputs]]
name = "lidar2image"
datamap_key = "DS3D::LidarToImageTensor"
[[component.config.model_outputs]]
name = "heatmap"
datamap_key = "DS3D::BEVHeatmap"
[[component.config.model_outputs]]
name = "camera_feature"
datamap_key = "DS3D::CameraFeature"

[[component]]
name = "rec_bev"
type = "ds3d::datarender"
impl = "lidarinfer_test_frames"
`, filepath.Join(ns, "lidar_list.toml"), strings.Join(lists, ", "), alignCameras(t, root), cfg.P, cfg.V, cfg.F, mp)
	got := runPipeline(t, doc, "rec_bev")

	img := need(t, got, "DS3D::VideoPreprocessTensor", "[1,6,3,256,704]").f32
	mats := need(t, got, "DS3D::LidarToImageTensor", "[1,6,4,4]").f32
	feats := need(t, got, "DS3D::LidarFeatureTensor", fmt.Sprintf("[1,%d,%d,%d]", cfg.V, cfg.P, cfg.F)).f32
	coords := need(t, got, "DS3D::LidarCoordTensor", fmt.Sprintf("[1,%d,4]", cfg.V)).i32
	heat := need(t, got, "DS3D::BEVHeatmap", "[1,10,128,128]").f32
	camf := need(t, got, "DS3D::CameraFeature", "[1,24]").f32

	var cams [][]float64
	for i := 0; i < cfg.Batch; i++ {
		f := model.refCamera(img, i)
		cams = append(cams, f)
		for o, want := range f {
			if g := camf[i*cfg.Cc+o]; !near(g, want) {
				t.Errorf("camera_feature[%d, %d] = %v, float64 %v", i, o, g, want)
			}
		}
	}
	embed := model.refEmbed(cams, mats)
	nv := need(t, got, "DS3D::LidarVoxelNumTensor", "[1,1]").i32
	if nv[0] < 1000 || int(nv[0]) >= cfg.V {
		t.Fatalf("%d voxels: want the keyframe's thousands, below max_voxels %d", nv[0], cfg.V)
	}
	// padding rows (coords 0, features 0) add nothing; the cell is chosen
	// among the real voxels
	y, x, n := busiestCell(coords, cfg.V, 0, int(nv[0]), cfg.NY, cfg.NX)
	cell := func(yy, xx int) []float64 {
		return append(model.refLidarCell(feats, coords, 0, cfg.V, yy, xx), embed...)
	}
	for k := 0; k < cfg.K; k += 3 {
		want := model.refHeat(k, y, x, cfg.Cl+cfg.Cg, cell)
		g := heat[(k*cfg.NY+y)*cfg.NX+x]
		if !near(g, want) {
			t.Errorf("heatmap[0, %d, %d, %d] = %v, float64 %v", k, y, x, g, want)
		}
		if k == 0 {
			t.Logf("%d voxels; heatmap[0, 0, %d, %d] (%d voxels around) = %v, float64 %v", nv[0], y, x, n, g, want)
		}
	}
	if n < 5 {
		t.Errorf("busiest cell has %d voxels around it; the lidar branch is barely exercised", n)
	}
}

// dairStreams is the mixer + voxelize part of apps/v2xfusion: the DAIR-V2X-C
// roadside frame as four streams.
func dairStreams(root string, cfg fusionCfg) string {
	var sb strings.Builder
	list := filepath.Join(root, "datasets/samples/v2x/dair_infra_list.toml")
	for i := 0; i < 4; i++ {
		fmt.Fprintf(&sb, `[[component]]
name = "stream%d"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "mix.sink_%d"
[component.config]
data_config_file = [%q]
element_size = 4
source_id = %d
mem_pool_size = 2

`, i, i, list, i)
	}
	fmt.Fprintf(&sb, `[[component]]
name = "mix"
type = "ds3d::datamixer"
impl = "multisensor_mixer"
link_to = "voxelize"
[component.config]
policy = "approximate_time"
max_interval_ms = 50.0

[[component]]
name = "voxelize"
type = "ds3d::datafilter"
impl = "voxelize"
link_to = "v2xfusion"
[component.config]
input_datamap_keys = ["DS3D::LidarXYZI+0", "DS3D::LidarXYZI+1", "DS3D::LidarXYZI+2", "DS3D::LidarXYZI+3"]
point_cloud_range = [0.0, -51.2, -5.0, 102.4, 51.2, 3.0]
voxel_size = [0.8, 0.8, 8.0]
max_points_per_voxel = %d
max_voxels = %d
num_point_features = %d
pad_to_max_voxels = false
mem_pool_size = 2

`, cfg.P, cfg.V, cfg.F)
	return sb.String()
}

// TestV2XFusionPipeline: DAIR-V2X-C roadside frame × 4 streams → mixer →
// voxelize (not padded: V is the batch's largest count, below the model's
// 8000, so lidar_infer pads every stream's rows) → lidar_infer with the
// V2XFusion-shaped model, lidar-only (no DAIR camera images are in our
// data; TestV2XFusionImages feeds an image batch). N masks the voxels.
func TestV2XFusionPipeline(t *testing.T) {
	root := sampledata.RepoRoot(t)
	cfg := fusionCfg{Batch: 4, V: 8000, P: 10, F: 4, NY: 128, NX: 128, Cl: 8, Ch: 8, K: 6, Seed: 11}
	b, model, err := v2xFusionModel(cfg)
	mp := writeModel(t, b, err)
	doc := dairStreams(root, cfg) + fmt.Sprintf(`[[component]]
name = "v2xfusion"
type = "ds3d::datafilter"
impl = "lidar_infer"
link_to = "rec_v2x"
[component.config]
model_path = %q
threads = 2
[[component.config.model_inputs]]
name = "feats"
datamap_key = "DS3D::LidarFeatureTensor"
[[component.config.model_inputs]]
name = "coords"
datamap_key = "DS3D::LidarCoordTensor"
datatype = "INT32"
shape = [4, 8000, 4]
pad_row = [0, 0, 0, 0]
[[component.config.model_inputs]]
name = "N"
datamap_key = "DS3D::LidarVoxelNumTensor"
datatype = "INT32"
[[component.config.model_outputs]]
name = "heatmap"
datamap_key = "DS3D::BEVHeatmap"

[[component]]
name = "rec_v2x"
type = "ds3d::datarender"
impl = "lidarinfer_test_frames"
`, mp)
	got := runPipeline(t, doc, "rec_v2x")
	nv := need(t, got, "DS3D::LidarVoxelNumTensor", "[4,1]").i32
	V := int(nv[0])
	if V >= cfg.V || V < 100 {
		t.Fatalf("%d voxels per stream; the test wants fewer than the model's %d so that padding happens", V, cfg.V)
	}
	feats := need(t, got, "DS3D::LidarFeatureTensor", fmt.Sprintf("[4,%d,%d,%d]", V, cfg.P, cfg.F)).f32
	coords := need(t, got, "DS3D::LidarCoordTensor", fmt.Sprintf("[4,%d,4]", V)).i32
	heat := need(t, got, "DS3D::BEVHeatmap", "[4,6,128,128]").f32
	ref := model
	ref.cfg.V = V // the frames' layout; the model's padding rows add nothing
	plane := cfg.NY * cfg.NX
	for _, s := range []int{0, 3} {
		y, x, n := busiestCell(coords, V, s, int(nv[s]), cfg.NY, cfg.NX)
		cell := func(yy, xx int) []float64 { return ref.refLidarCell(feats, coords, s, int(nv[s]), yy, xx) }
		for k := 0; k < cfg.K; k++ {
			want := ref.refHeat(k, y, x, cfg.Cl, cell)
			g := heat[(s*cfg.K+k)*plane+y*cfg.NX+x]
			if !near(g, want) {
				t.Errorf("stream %d heatmap[%d, %d, %d] = %v, float64 %v", s, k, y, x, g, want)
			}
		}
		t.Logf("stream %d: %d voxels, cell (%d, %d) with %d voxels around", s, nv[s], y, x, n)
	}
	for i := 0; i < cfg.K*plane; i++ {
		if heat[i] != heat[3*cfg.K*plane+i] {
			t.Fatalf("streams 0 and 3 carry the same frame but heatmap value %d differs: %v, %v", i, heat[i], heat[3*cfg.K*plane+i])
		}
	}
}

// TestV2XFusionImages: the V2XFusion-shaped model with its images input
// [4, 3, H, W], fed by image_tensor (batch_dim false, stretched) from four
// nuScenes cameras standing in for the roadside cameras (DAIR-V2X-C's images
// are not in our data), and the DAIR frame voxelized four times; lidar_infer
// is driven directly (no mixer) so the two sources need no common clock.
func TestV2XFusionImages(t *testing.T) {
	root := sampledata.RepoRoot(t)
	H, W := 864, 1536 // ds3d's v2xfusion images [4, 3, 864, 1536]
	if testenv.RaceEnabled || testing.Short() {
		H, W = 216, 384
	}
	cfg := fusionCfg{Batch: 4, H: H, W: W, Stride: 32, V: 8000, P: 10, F: 4, NY: 128, NX: 128, Cc: 4, Cl: 8, Ch: 8, K: 6, Images: true, Seed: 13}
	b, model, err := v2xFusionModel(cfg)
	mp := writeModel(t, b, err)

	m := ds3d.NewDataMap()
	defer m.Release()
	ns := filepath.Join(root, "datasets/samples/nuscenes")
	for i, n := range nuCams[:4] {
		matches, _ := filepath.Glob(filepath.Join(ns, "*__"+n+"__*.jpg"))
		if len(matches) != 1 {
			t.Fatalf("%s: %d images", n, len(matches))
		}
		img, _, err := decode.DecodeFile(matches[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		fr, _ := decode.NewColorFrame(img.Bounds().Dx(), img.Bounds().Dy(), false)
		if err := decode.ToFrame(fr, img); err != nil {
			t.Fatal(err)
		}
		m.SetFrame(ds3d.KeyColorFrame.Sensor(i), fr)
	}
	spec, _ := ds3d.Lookup("image_tensor")
	ic := spec.NewConfig().(*imagetensor.Config)
	ic.Cameras, ic.Width, ic.Height, ic.ResizeScale, ic.BatchDim = 4, W, H, 0, false
	it, err := spec.Build(ic, &ds3d.Env{})
	if err != nil {
		t.Fatal(err)
	}
	cloud := ds3d.NewLidarFrame(0)
	if err := lidar.ReadFileInto(cloud, filepath.Join(root, "datasets/samples/v2x/dair-v2x-c/infrastructure-side/velodyne/001366.pcd"), lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	p := voxelize.DefaultParams
	p.VoxelSize = [3]float64{0.8, 0.8, 8}
	vx, err := voxelize.New(p)
	if err != nil {
		t.Fatal(err)
	}
	feat, coords, num, nvox := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0),
		ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	if err := vx.Voxelize(feat, coords, num, nvox, cloud, cloud, cloud, cloud); err != nil {
		t.Fatal(err)
	}
	m.SetFrame(ds3d.KeyLidarFeatureTensor, feat)
	m.SetFrame(ds3d.KeyLidarCoordTensor, coords)
	m.SetFrame(voxelize.KeyLidarVoxelNumTensor, nvox)

	f, err := New(&Config{ModelPath: ds3d.Path(mp), Threads: 2, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1},
		ModelInputs: []ModelInput{
			{Name: "images", DatamapKey: string(imagetensor.KeyVideoPreprocessTensor), Shape: []int{4, 3, H, W}},
			{Name: "feats", DatamapKey: string(ds3d.KeyLidarFeatureTensor)},
			{Name: "coords", DatamapKey: string(ds3d.KeyLidarCoordTensor), Datatype: "INT32"},
			{Name: "N", DatamapKey: string(voxelize.KeyLidarVoxelNumTensor), Datatype: "INT32"}},
		ModelOutputs: []ModelOutput{{Name: "heatmap", DatamapKey: "DS3D::BEVHeatmap"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	noop := func(*ds3d.DataMap) error { return nil }
	if err := it.(ds3d.Filter).Process(context.Background(), m, noop); err != nil {
		t.Fatal(err)
	}
	if err := f.Process(context.Background(), m, noop); err != nil {
		t.Fatal(err)
	}
	imf, _ := m.Frame(imagetensor.KeyVideoPreprocessTensor)
	if imf.Shape.String() != fmt.Sprintf("[4,3,%d,%d]", H, W) {
		t.Fatalf("images %s", imf.Shape)
	}
	hf, err := m.Frame("DS3D::BEVHeatmap")
	if err != nil {
		t.Fatal(err)
	}
	if hf.Shape.String() != "[4,6,128,128]" {
		t.Fatalf("heatmap %s", hf.Shape)
	}
	img, heat := ds3d.AsFloat32(imf), ds3d.AsFloat32(hf)
	fe, co, nv := ds3d.AsFloat32(feat), ds3d.AsInt32(coords), ds3d.AsInt32(nvox)
	plane := cfg.NY * cfg.NX
	for _, s := range []int{1, 2} {
		cam := model.refCamera(img, s)
		y, x, _ := busiestCell(co, cfg.V, s, int(nv[s]), cfg.NY, cfg.NX)
		cell := func(yy, xx int) []float64 {
			return append(model.refLidarCell(fe, co, s, int(nv[s]), yy, xx), cam...)
		}
		for k := 0; k < cfg.K; k += 2 {
			want := model.refHeat(k, y, x, cfg.Cl+cfg.Cc, cell)
			if g := heat[(s*cfg.K+k)*plane+y*cfg.NX+x]; !near(g, want) {
				t.Errorf("stream %d heatmap[%d, %d, %d] = %v, float64 %v", s, k, y, x, g, want)
			}
		}
	}
	// same cloud, different cameras: the streams' heatmaps must differ
	if heat[1*cfg.K*plane] == heat[2*cfg.K*plane] && heat[1*cfg.K*plane+5] == heat[2*cfg.K*plane+5] {
		t.Error("streams 1 and 2 have equal heatmaps although their camera images differ")
	}
}

// TestFillAxisPadding: a [2, 2, 4] i32 frame into a [2, 3, 4] input pads
// each batch entry's third row with pad_row, not the end of the buffer.
func TestFillAxisPadding(t *testing.T) {
	b := &boundInput{ModelInput: ModelInput{Name: "coords"}, shape: []int{2, 3, 4}, size: 24, buf: make([]float32, 24), pad: []float32{9, 9, 9, 9}}
	fr := ds3d.NewTensorFrame(ds3d.DTypeI32, 2, 2, 4)
	for i := range ds3d.AsInt32(fr) {
		ds3d.AsInt32(fr)[i] = int32(i)
	}
	if err := b.fill(fr); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(b.buf); got != "[0 1 2 3 4 5 6 7 9 9 9 9 8 9 10 11 12 13 14 15 9 9 9 9]" {
		t.Errorf("buf %s", got)
	}
	b.pad = []float32{1, 2}
	if err := b.fill(fr); err == nil || !strings.Contains(err.Error(), "pad_row has 2 values") {
		t.Errorf("short pad_row: %v", err)
	}
	h := ds3d.NewTensorFrame(ds3d.DTypeF16, 1, 3)
	copy(h.Data, []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}) // 1, −2, 2⁻²⁴
	hb := &boundInput{ModelInput: ModelInput{Name: "h"}, shape: []int{1, 3}, size: 3, buf: make([]float32, 3)}
	if err := hb.fill(h); err != nil {
		t.Fatal(err)
	}
	if hb.buf[0] != 1 || hb.buf[1] != -2 || hb.buf[2] != float32(math.Ldexp(1, -24)) {
		t.Errorf("f16 frame → %v", hb.buf)
	}
}

// TestUnsupportedOpsRejected: an export with TensorRT-only ops (CUDA-BEVFusion's
// bevpool, a custom-domain plugin) fails at load, naming every such op.
func TestUnsupportedOpsRejected(t *testing.T) {
	g := onnxbuild.New("bevpool_plugin", 13)
	x := g.Input("camera_feature", onnx.Float, 6, 80, 32, 88)
	d := g.Input("camera_depth_weights", onnx.Float, 6, 118, 32, 88)
	y := g.Node("BEVPool", []string{x, d})
	g.NodeOut("Relu", []string{y}, []string{"bev"})
	g.Output("bev", onnx.Float, 1, 80, 360, 360)
	b, err := g.Build()
	mp := writeModel(t, b, err)
	_, err = New(&Config{ModelPath: ds3d.Path(mp), PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}, ModelInputs: []ModelInput{{Name: "camera_feature", DatamapKey: "a"}, {Name: "camera_depth_weights", DatamapKey: "b"}}})
	if err == nil || !strings.Contains(err.Error(), "unsupported ops: BEVPool (1: ") {
		t.Fatalf("err %v, want the unsupported BEVPool named", err)
	}
	t.Logf("load error: %v", err)
}
