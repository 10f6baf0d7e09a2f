package paint

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/align"
	"github.com/ds3d-go/ds3d-go/internal/nusctest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// nuScenes categories of the info JSON's metainfo, by bbox_label.
var nuscLabels = []string{"car", "truck", "trailer", "bus", "construction_vehicle", "bicycle", "motorcycle", "person", "traffic_cone", "barrier"}

// testClasses exercises single labels, "|" groups and labels that paint
// nothing (traffic_cone, barrier).
var testClasses = []string{"car", "person", "bicycle|motorcycle", "truck|bus|trailer|construction_vehicle"}

// keyframe is the bundled nuScenes keyframe as point_painting needs it.
type keyframe struct {
	info, lidar string
	pts         []float32 // [N,4] x, y, z, intensity (lidar_file_loader's element_size 4)
	align       align.Config
	dets        [][]ds3d.Object2D // per camera, nusctest.CameraNames order
}

// loadKeyframe reads the keyframe. Its 2D boxes are the dataset's own
// per-camera boxes (the info JSON's cam_instances: mmdetection3d's GT
// boxes projected into each image), with deterministic scores
// 0.30, 0.31, … so that overlapping boxes have distinct scores.
func loadKeyframe(t testing.TB) *keyframe {
	t.Helper()
	kf := &keyframe{info: sampledata.Sample(t, nusctest.Info)}
	raw, err := os.ReadFile(kf.info)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		DataList []struct {
			LidarPoints struct {
				LidarPath string `json:"lidar_path"`
			} `json:"lidar_points"`
			Images map[string]struct {
				Cam2Img   [][]float64 `json:"cam2img"`
				Lidar2Cam [][]float64 `json:"lidar2cam"`
			} `json:"images"`
			CamInstances map[string][]struct {
				Label int       `json:"bbox_label"`
				BBox  []float64 `json:"bbox"`
			} `json:"cam_instances"`
		} `json:"data_list"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", kf.info, err)
	}
	d := doc.DataList[0]
	kf.lidar = filepath.Join(filepath.Dir(kf.info), d.LidarPoints.LidarPath)
	b, err := os.ReadFile(kf.lidar)
	if err != nil {
		t.Fatal(err)
	}
	n := len(b) / 20
	kf.pts = make([]float32, 4*n)
	for i := 0; i < n; i++ {
		for c := 0; c < 4; c++ {
			kf.pts[4*i+c] = math.Float32frombits(binary.LittleEndian.Uint32(b[20*i+4*c:]))
		}
	}
	kf.align = align.Config{InputGroup: ds3d.InputGroup{InputKey: "DS3D::LidarXYZI"}, DepthMap: "none", DepthScale: 256, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}}
	k := 0
	for i, name := range nusctest.CameraNames {
		im := d.Images[name]
		cc := align.CameraConfig{Index: i, Width: 1600, Height: 900}
		for r := 0; r < 3; r++ {
			cc.Intrinsic = append(cc.Intrinsic, im.Cam2Img[r][:3]...)
		}
		for r := 0; r < 4; r++ {
			cc.Extrinsic = append(cc.Extrinsic, im.Lidar2Cam[r]...)
		}
		kf.align.Cameras = append(kf.align.Cameras, cc)
		var dets []ds3d.Object2D
		for _, in := range d.CamInstances[name] {
			label := "unknown"
			if in.Label >= 0 && in.Label < len(nuscLabels) {
				label = nuscLabels[in.Label]
			}
			x1, y1, x2, y2 := in.BBox[0], in.BBox[1], in.BBox[2], in.BBox[3]
			dets = append(dets, ds3d.Object2D{Left: float32(x1), Top: float32(y1), Width: float32(x2 - x1), Height: float32(y2 - y1),
				Label: label, ClassID: int32(in.Label), Score: float32(0.30 + 0.01*float64(k%70))})
			k++
		}
		kf.dets = append(kf.dets, dets)
	}
	return kf
}

// dataMap returns the keyframe as point_painting sees it in a pipeline:
// the points, each camera's detections and the calibration published by
// a real lidar_alignment_filter.
func (kf *keyframe) dataMap(t testing.TB, al *align.Filter) *ds3d.DataMap {
	t.Helper()
	f := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(len(kf.pts)/4, 4))
	copy(ds3d.AsFloat32(f), kf.pts)
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, f)
	for i, d := range kf.dets {
		m.Set(ds3d.KeyObject2DBbox.Sensor(i), d)
	}
	if err := al.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

func newAlign(t testing.TB, kf *keyframe) *align.Filter {
	t.Helper()
	if err := ds3d.CheckConfig(kf.align); err != nil {
		t.Fatal(err)
	}
	al, err := align.NewFilter(&kf.align)
	if err != nil {
		t.Fatal(err)
	}
	return al
}

func testConfig(cameras int, bg bool) *Config {
	return &Config{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, OutputGroup: ds3d.OutputGroup{OutputKey: string(KeyLidarPainted)}, Cameras: cameras,
		ObjectsKey: string(ds3d.KeyObject2DBbox), IntrinsicsKey: string(ds3d.KeyCamIntrinsicMatrix),
		ExtrinsicsKey: string(ds3d.KeyLidarToCamExtrinsic), Classes: testClasses, Background: bg, Near: 0.5, PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}}
}

// TestNuScenesMatchesNumpy paints the keyframe's 34,688 points with the
// dataset's 84 per-camera 2D boxes through the six cameras and compares
// every point with testdata/paint_ref.py, which projects in float64 from
// the info JSON's cam2img and lidar2cam: the same points painted with the
// same scores, except the few whose pixel lies within 0.05 px of an image
// or box edge (float32 rounding may decide those either way). The
// reference's `@` goes through BLAS, whose float64 last bits depend on the
// CPU's kernel: about 1e-12 px, far inside that margin.
func TestNuScenesMatchesNumpy(t *testing.T) {
	testenv.Python(t, "numpy")
	kf := loadKeyframe(t)
	dir := t.TempDir()
	ref := map[string]any{"cameras": nusctest.CameraNames, "width": 1600, "height": 900, "near": 0.5, "margin": 0.05, "classes": testClasses}
	var all [][]map[string]any
	total := 0
	for _, ds := range kf.dets {
		var js []map[string]any
		for _, d := range ds {
			js = append(js, map[string]any{"label": d.Label, "score": float64(d.Score), "l": float64(d.Left), "t": float64(d.Top),
				"r": float64(d.Left + d.Width), "b": float64(d.Top + d.Height)})
		}
		total += len(ds)
		all = append(all, js)
	}
	ref["dets"] = all
	raw, _ := json.Marshal(ref)
	dets := filepath.Join(dir, "dets.json")
	if err := os.WriteFile(dets, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"testdata/paint_ref.py", kf.info, kf.lidar, dets, filepath.Join(dir, "ref")}
	if os.Getenv("PAINT_PEER_TIME") != "" { // the peer timing for BenchmarkNuScenes, same run
		args = append(args, "--time")
	}
	out := testenv.RunPython(t, []string{"numpy"}, args...)
	t.Logf("numpy: %s (boxes %d)", out, total)
	refScores := readF32(t, filepath.Join(dir, "ref.scores"))
	amb, err := os.ReadFile(filepath.Join(dir, "ref.ambiguous"))
	if err != nil {
		t.Fatal(err)
	}

	f, err := New(testConfig(6, true))
	if err != nil {
		t.Fatal(err)
	}
	m := kf.dataMap(t, newAlign(t, kf))
	defer m.Release()
	var got *ds3d.DataMap
	if err := f.Process(context.Background(), m, func(o *ds3d.DataMap) error { got = o; return nil }); err != nil {
		t.Fatal(err)
	}
	fr, err := got.Frame(KeyLidarPainted)
	if err != nil {
		t.Fatal(err)
	}
	n, C := len(kf.pts)/4, len(testClasses)
	if fr.Shape.NumDims != 2 || fr.Shape.D[0] != n || fr.Shape.D[1] != 4+C+1 {
		t.Fatalf("output shape %s, want [%d,%d]", fr.Shape, n, 4+C+1)
	}
	if len(refScores) != n*(C+1) || len(amb) != n {
		t.Fatalf("reference has %d scores, %d flags for %d points", len(refScores), len(amb), n)
	}
	o := ds3d.AsFloat32(fr)
	painted, ambiguous, perClass := 0, 0, make([]int, C)
	for i := 0; i < n; i++ {
		row := o[i*(4+C+1) : (i+1)*(4+C+1)]
		for c := 0; c < 4; c++ {
			if row[c] != kf.pts[4*i+c] && !(math.IsNaN(float64(row[c])) && math.IsNaN(float64(kf.pts[4*i+c]))) {
				t.Fatalf("point %d column %d: %v, input %v", i, c, row[c], kf.pts[4*i+c])
			}
		}
		if amb[i] != 0 {
			ambiguous++
			continue
		}
		want := refScores[i*(C+1) : (i+1)*(C+1)]
		hit := false
		for c := 0; c <= C; c++ {
			if row[4+c] != want[c] {
				t.Errorf("point %d (%v): channels %v, numpy %v", i, kf.pts[4*i:4*i+3], row[4:], want)
				break
			}
			if c < C && want[c] > 0 {
				hit = true
				perClass[c]++
			}
		}
		if hit {
			painted++
		}
	}
	t.Logf("painted %d of %d points (per class %v), %d ambiguous left out", painted, n, perClass, ambiguous)
	// Not vacuous: thousands of points painted, every class present, few left out.
	if painted < 1000 || ambiguous > n/100 {
		t.Errorf("painted %d, ambiguous %d", painted, ambiguous)
	}
	for c, k := range perClass {
		if k == 0 {
			t.Errorf("class %q painted no point", testClasses[c])
		}
	}
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}
