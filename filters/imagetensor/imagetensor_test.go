package imagetensor

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/align"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// nuScenes keyframe cameras in CUDA-BEVFusion's order (0-FRONT,
// 1-FRONT_RIGHT, 2-FRONT_LEFT, 3-BACK, 4-BACK_LEFT, 5-BACK_RIGHT), which is
// also apps/bevfusion's camera index order.
var camNames = []string{"CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT"}

const derivedJSON = "datasets/samples/nuscenes/n015-2018-07-24-11-22-45+0800.derived.json"

type nuCam struct {
	Path      string        `json:"img_path"`
	Cam2Img   [3][3]float64 `json:"cam2img"`
	Lidar2Cam [4][4]float64 `json:"lidar2cam"`
}

// nuScenesCams reads the six cameras' image paths and calibration from the
// keyframe's info JSON (independently of datasets/nuscenes and align).
func nuScenesCams(t testing.TB) []nuCam {
	t.Helper()
	root := sampledata.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, derivedJSON))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		DataList []struct {
			Images map[string]nuCam `json:"images"`
		} `json:"data_list"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	var out []nuCam
	for _, n := range camNames {
		c, ok := info.DataList[0].Images[n]
		if !ok {
			t.Fatalf("%s: no %s", derivedJSON, n)
		}
		c.Path = filepath.Join(root, "datasets/samples/nuscenes", c.Path)
		out = append(out, c)
	}
	return out
}

// loadFrames decodes the six JPEGs as image_file_loader does.
func loadFrames(t testing.TB, cams []nuCam) []*ds3d.Frame {
	t.Helper()
	var out []*ds3d.Frame
	for _, c := range cams {
		img, _, err := decode.DecodeFile(c.Path, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		fr, err := decode.NewColorFrame(b.Dx(), b.Dy(), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := decode.ToFrame(fr, img); err != nil {
			t.Fatal(err)
		}
		out = append(out, fr)
	}
	return out
}

func newFilter(t testing.TB, edit func(*Config)) *Filter {
	t.Helper()
	c := defaultConfig()
	if edit != nil {
		edit(c)
	}
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	f, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run processes one datamap holding frames under DS3D::ColorFrame_i and
// returns a copy of the output tensor.
func run(t testing.TB, f *Filter, frames []*ds3d.Frame, extra func(*ds3d.DataMap)) (tensor []float32, m *ds3d.DataMap) {
	t.Helper()
	m = ds3d.NewDataMap()
	for i, fr := range frames {
		m.SetFrame(ds3d.KeyColorFrame.Sensor(i), fr)
	}
	if extra != nil {
		extra(m)
	}
	if err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
		t.Fatal(err)
	}
	out, err := m.Frame(f.out)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), ds3d.AsFloat32(out)[:out.Shape.Elements()]...), m
}

// opencvRef is the reference: cv2.resize (INTER_LINEAR) of the same RGB
// bytes to the resized size, the crop, then (v/255 − mean)/std in float64,
// CHW, in the requested channel order.
const opencvRef = `
import sys, json, numpy as np, cv2
a = json.loads(sys.argv[1])
out, flt = [], []
for path, w, h in a["images"]:
    img = np.fromfile(path, np.uint8).reshape(h, w, 3)
    r = cv2.resize(img, (a["rw"], a["rh"]), interpolation=cv2.INTER_LINEAR)
    x0, y0 = a["crop"]
    r = r[y0:y0 + a["h"], x0:x0 + a["w"]]
    if a["bgr"]:
        r = r[:, :, ::-1]
    v = (r.astype(np.float64) / 255.0 - np.array(a["mean"])) / np.array(a["std"])
    out.append(v.transpose(2, 0, 1))
    # float64 bilinear with half-pixel centres, clamped, rounded half up
    def taps(n, off, src, res):
        f = (np.arange(n) + off + 0.5) * (src / res) - 0.5
        f = np.clip(f, 0, src - 1)
        i0 = np.floor(f).astype(int)
        return i0, np.minimum(i0 + 1, src - 1), f - i0
    x0, x1, wx = taps(a["w"], x0, w, a["rw"])
    y0, y1, wy = taps(a["h"], y0, h, a["rh"])
    im = img.astype(np.float64)
    top = im[y0][:, x0] * (1 - wx)[None, :, None] + im[y0][:, x1] * wx[None, :, None]
    bot = im[y1][:, x0] * (1 - wx)[None, :, None] + im[y1][:, x1] * wx[None, :, None]
    q = np.floor(top * (1 - wy)[:, None, None] + bot * wy[:, None, None] + 0.5)
    if a["bgr"]:
        q = q[:, :, ::-1]
    v = (q / 255.0 - np.array(a["mean"])) / np.array(a["std"])
    flt.append(v.transpose(2, 0, 1))
np.stack(out).astype(np.float32).tofile(a["out"])
np.stack(flt).astype(np.float32).tofile(a["out"] + ".float")
`

// opencv returns the cv2 reference and the float64-bilinear reference.
func opencv(t *testing.T, frames []*ds3d.Frame, g Geometry, bgr bool, mean, std []float64) (cv, flt []float32) {
	t.Helper()
	dir := t.TempDir()
	var imgs [][]any
	for i, fr := range frames {
		p := filepath.Join(dir, fmt.Sprintf("cam%d.rgb", i))
		if err := os.WriteFile(p, fr.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, []any{p, fr.Plane.Width, fr.Plane.Height})
	}
	out := filepath.Join(dir, "ref.f32")
	arg, _ := json.Marshal(map[string]any{"images": imgs, "rw": g.ResW, "rh": g.ResH, "crop": []int{g.X0, g.Y0},
		"w": g.W, "h": g.H, "bgr": bgr, "mean": mean, "std": std, "out": out})
	testenv.RunPython(t, []string{"numpy", "cv2"}, "-c", opencvRef, string(arg))
	return readF32(t, out), readF32(t, out+".float")
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ref := make([]float32, len(b)/4)
	for i := range ref {
		ref[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return ref
}

// compare returns the largest |a − b| and the share of values that differ
// by more than 1e-5 (an 8-bit level is 1/255/std ≈ 0.017).
func compare(t *testing.T, got, ref []float32) (maxDiff float64, share float64) {
	t.Helper()
	if len(got) != len(ref) {
		t.Fatalf("%d values, reference %d", len(got), len(ref))
	}
	n := 0
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(ref[i]))
		maxDiff = math.Max(maxDiff, d)
		if d > 1e-5 {
			n++
		}
	}
	return maxDiff, float64(n) / float64(len(got))
}

// levelTol is one 8-bit level through the smallest std (0.224) plus float32
// rounding: OpenCV interpolates with 11-bit fixed-point weights, we with
// float32 weights, so a value near a rounding boundary may land one level
// apart; never more.
const levelTol = 1.0/255/0.224 + 1e-5

// TestMatchesOpenCV: the six nuScenes cameras through BEVFusion's
// preprocessing (0.48 resize, crop (32, 176), ImageNet mean/std) against
// cv2.resize INTER_LINEAR + crop + normalise on the same decoded bytes; then
// BGR + a stretch to 352×128 (resize_scale 0).
func TestMatchesOpenCV(t *testing.T) {
	cams := nuScenesCams(t)
	frames := loadFrames(t, cams)
	for _, tc := range []struct {
		name string
		edit func(*Config)
		bgr  bool
	}{
		{"bevfusion", nil, false},
		{"bgr stretch", func(c *Config) { c.ResizeScale, c.Width, c.Height, c.ChannelOrder = 0, 352, 128, "BGR" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFilter(t, tc.edit)
			got, m := run(t, f, frames, nil)
			defer m.Reset()
			g := f.Geometry(0)
			if tc.edit == nil && (g.ResW != 768 || g.ResH != 432 || g.X0 != 32 || g.Y0 != 176) {
				t.Fatalf("geometry %+v, CUDA-BEVFusion's is 768×432 cropped at (32, 176)", g)
			}
			cv, flt := opencv(t, frames, g, tc.bgr, f.c.Mean, f.c.Std)
			maxDiff, share := compare(t, got, cv)
			t.Logf("%s vs cv2.resize: %d values, max |diff| %.5f (one 8-bit level ≈ %.5f), %.3f%% differ", tc.name, len(got), maxDiff, levelTol, 100*share)
			if maxDiff > levelTol {
				t.Errorf("max |diff| from OpenCV %v > one 8-bit level %v", maxDiff, levelTol)
			}
			if share > 0.2 {
				t.Errorf("%.3f%% of the values differ from OpenCV by a level (its 11-bit weights and truncating vertical pass account for ~11%%)", 100*share)
			}
			maxDiff, share = compare(t, got, flt)
			t.Logf("%s vs numpy float64 bilinear: max |diff| %.5f, %.4f%% differ", tc.name, maxDiff, 100*share)
			// the weights are ratios such as 1/48, so bilinear values sit
			// exactly on .5 often; float32 decides some of those ties
			// the other way (0.2–0.4 % here), nothing else may differ
			if maxDiff > levelTol || share > 0.01 {
				t.Errorf("numpy float64 bilinear: max |diff| %v, %.4f%% differ; only rounding ties (< 1%%) may", maxDiff, 100*share)
			}
		})
	}
}

// TestCameraMatrices: lidar_alignment_filter publishes the keyframe's K and
// lidar→camera [R|t]; the [1, 6, 4, 4] tensor must equal A·K·E computed
// here in float64 from the info JSON, and a lidar point projected through
// it must land where the resized-and-cropped image has that pixel.
func TestCameraMatrices(t *testing.T) {
	cams := nuScenesCams(t)
	frames := loadFrames(t, cams)
	ac := &align.Config{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, DepthMap: "none", DepthScale: 256, PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}}
	for i, c := range cams {
		var k, e []float64
		for r := 0; r < 3; r++ {
			k = append(k, c.Cam2Img[r][:]...)
		}
		for r := 0; r < 4; r++ {
			e = append(e, c.Lidar2Cam[r][:]...)
		}
		ac.Cameras = append(ac.Cameras, align.CameraConfig{Index: i, Intrinsic: k, Extrinsic: e, Width: 1600, Height: 900})
	}
	if err := ds3d.CheckConfig(ac); err != nil {
		t.Fatal(err)
	}
	al, err := align.NewFilter(ac)
	if err != nil {
		t.Fatal(err)
	}
	f := newFilter(t, func(c *Config) {
		c.MatricesKey = string(KeyLidarToImageTensor)
		c.AugMatricesKey = "DS3D::ImageAugTensor"
	})
	_, m := run(t, f, frames, func(m *ds3d.DataMap) {
		if err := al.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
	defer m.Reset()
	mf, err := m.Frame(KeyLidarToImageTensor)
	if err != nil {
		t.Fatal(err)
	}
	if mf.Shape.String() != "[1,6,4,4]" {
		t.Fatalf("matrices shape %s", mf.Shape)
	}
	got := ds3d.AsFloat32(mf)
	// the crop acts after the division by depth: in homogeneous form it
	// takes the depth column
	aug := [4][4]float64{{768.0 / 1600, 0, -32, 0}, {0, 432.0 / 900, -176, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
	for i, c := range cams {
		var k4 [4][4]float64
		for r := 0; r < 3; r++ {
			copy(k4[r][:3], c.Cam2Img[r][:])
		}
		k4[3][3] = 1
		p := mul(aug, mul(k4, c.Lidar2Cam))
		for r := 0; r < 4; r++ {
			for col := 0; col < 4; col++ {
				g, w := float64(got[16*i+4*r+col]), p[r][col]
				if math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
					t.Errorf("camera %d [%d][%d]: %v, float64 %v", i, r, col, g, w)
				}
			}
		}
		// a point 10 m along the camera's optical axis, in the lidar frame:
		// E⁻¹·(0, 0, 10): it is at the principal point (cx, cy) of the
		// original image, so at (cx·0.48 − 32, cy·0.48 − 176) in the tensor
		pl := applyInv(c.Lidar2Cam, [3]float64{0, 0, 10})
		var uvw [3]float64
		for r := 0; r < 3; r++ {
			uvw[r] = float64(got[16*i+4*r])*pl[0] + float64(got[16*i+4*r+1])*pl[1] + float64(got[16*i+4*r+2])*pl[2] + float64(got[16*i+4*r+3])
		}
		u, v := uvw[0]/uvw[2], uvw[1]/uvw[2]
		wu, wv := c.Cam2Img[0][2]*0.48-32, c.Cam2Img[1][2]*0.48-176
		if math.Abs(u-wu) > 1e-3 || math.Abs(v-wv) > 1e-3 || math.Abs(uvw[2]-10) > 1e-4 {
			t.Errorf("camera %d: optical-axis point lands at (%v, %v, depth %v), want (%v, %v, 10)", i, u, v, uvw[2], wu, wv)
		}
	}
	af, err := m.Frame("DS3D::ImageAugTensor")
	if err != nil {
		t.Fatal(err)
	}
	a := ds3d.AsFloat32(af)
	if a[16*5+0] != 0.48 || a[16*5+3] != -32 || a[16*5+5] != 0.48 || a[16*5+7] != -176 || a[16*5+10] != 1 {
		t.Errorf("camera 5 img_aug_matrix %v", a[80:96])
	}
}

func mul(a, b [4][4]float64) (c [4][4]float64) {
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			for k := 0; k < 4; k++ {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

// applyInv maps a camera-frame point back to the lidar frame through the
// rigid transform e: Rᵀ·(p − t).
func applyInv(e [4][4]float64, p [3]float64) (q [3]float64) {
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			q[i] += e[j][i] * (p[j] - e[j][3])
		}
	}
	return q
}

func TestConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"cameras":       {func(c *Config) { c.Cameras = 0 }, "cameras"},
		"crop len":      {func(c *Config) { c.Crop = []int{1} }, "crop"},
		"crop stretch":  {func(c *Config) { c.ResizeScale = 0; c.Crop = []int{0, 0} }, "crop"},
		"std zero":      {func(c *Config) { c.Std = []float64{1, 0, 1} }, "std"},
		"order":         {func(c *Config) { c.ChannelOrder = "RGBA" }, "channel_order"},
		"calib indices": {func(c *Config) { c.MatricesKey = "k"; c.CalibIndices = []int{0, 1} }, "calib_indices"},
		"scale":         {func(c *Config) { c.ResizeScale = math.NaN() }, "resize_scale"},
		"empty key":     {func(c *Config) { c.InputKeys = []string{"a", ""} }, "input_datamap_keys"},
	} {
		c := defaultConfig()
		tc.edit(c)
		err := ds3d.CheckConfig(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
	}
}

// TestFrameErrors: a missing camera, a window larger than the resized
// image, a depth frame and missing calibration are errors naming the camera.
func TestFrameErrors(t *testing.T) {
	small, _ := decode.NewColorFrame(100, 60, false)
	depth, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeF32, 1600, 900, 0)
	big, _ := decode.NewColorFrame(1600, 900, true)
	for name, tc := range map[string]struct {
		edit   func(*Config)
		frames []*ds3d.Frame
		want   string
	}{
		"missing": {func(c *Config) { c.Cameras = 2 }, []*ds3d.Frame{big}, "camera 1"},
		"window":  {func(c *Config) { c.Cameras = 1 }, []*ds3d.Frame{small}, "does not fit"},
		"depth":   {func(c *Config) { c.Cameras = 1 }, []*ds3d.Frame{depth}, "rgb or rgba"},
		"calib":   {func(c *Config) { c.Cameras = 1; c.MatricesKey = "M" }, []*ds3d.Frame{big}, "DS3D::Cam0_IntrinsicMatrix"},
	} {
		f := newFilter(t, tc.edit)
		m := ds3d.NewDataMap()
		for i, fr := range tc.frames {
			m.Set(ds3d.KeyColorFrame.Sensor(i), fr)
		}
		err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
		if n := f.pool.Size(); f.pool.TryGet() == nil {
			t.Errorf("%s: output frame leaked (pool of %d empty)", name, n)
		}
		m.Reset()
	}
}

// TestZeroAllocs: a steady stream of datamaps allocates nothing.
func TestZeroAllocs(t *testing.T) {
	frames := loadFrames(t, nuScenesCams(t))
	f := newFilter(t, func(c *Config) { c.Width, c.Height, c.ResizeScale = 176, 64, 0.12 })
	m := ds3d.NewDataMap()
	for i, fr := range frames {
		m.SetFrame(ds3d.KeyColorFrame.Sensor(i), fr)
	}
	emit := func(*ds3d.DataMap) error { return nil }
	ctx := context.Background()
	if err := f.Process(ctx, m, emit); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() {
		if err := f.Process(ctx, m, emit); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocs per datamap", n)
	}
}
