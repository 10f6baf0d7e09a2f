//go:build cuda

package gpu

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/align"
	"github.com/ds3d-go/ds3d-go/filters/depth2point"
	"github.com/ds3d-go/ds3d-go/filters/postprocess"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

// samples finds datasets/samples from the repo root (as carried to the GPU
// machine) or from gpu/ (go test).
func samples(t testing.TB, rel string) string {
	for _, d := range []string{"datasets/samples", "../datasets/samples"} {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("no datasets/samples/%s", rel)
	return ""
}

// gpuData finds a fixture of .gpudata (boxes.bin, …) like dataDir.
func gpuData(t testing.TB, name string) string {
	for _, d := range []string{os.Getenv("DS3D_GPU_DATA"), ".gpudata", "../.gpudata"} {
		if d == "" {
			continue
		}
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	t.Skipf("no %s in .gpudata (make gpu-data writes it; gpu/Makefile.inc)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// kittiCamera is image_2 of KITTI 000000's calibration at the image's size.
func kittiCamera(t testing.TB) align.Camera {
	k, err := calib.ReadKITTI(samples(t, "kitti/calib/000000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	img := kittiImage(t)
	cam, err := align.KITTICamera(k, 2, img.Shape.D[1], img.Shape.D[0])
	if err != nil {
		t.Fatal(err)
	}
	return cam
}

// kittiImage is image_2/000000.png as a packed [H,W,3] RGB frame.
func kittiImage(t testing.TB) *ds3d.Frame {
	f, err := os.Open(samples(t, "kitti/image_2/000000.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := im.Bounds()
	fr, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, b.Dx(), b.Dy(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := im.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*fr.Plane.Pitch + x*3
			fr.Data[i], fr.Data[i+1], fr.Data[i+2] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
	return fr
}

// redwood is the Redwood living-room depth 00000 ([480,640] u16, mm) and
// its PrimeSense intrinsics.
func redwood(t testing.TB) (*ds3d.Frame, ds3d.Intrinsics) {
	f, err := os.Open(samples(t, "redwood/depth/00000.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := im.(*image.Gray16)
	if !ok {
		t.Fatalf("redwood depth decodes to %T, want *image.Gray16", im)
	}
	b := g.Bounds()
	d, err := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, b.Dx(), b.Dy(), 0)
	if err != nil {
		t.Fatal(err)
	}
	u := ds3d.AsUint16(d)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			u[y*b.Dx()+x] = g.Gray16At(b.Min.X+x, b.Min.Y+y).Y
		}
	}
	raw, err := os.ReadFile(samples(t, "redwood/camera_primesense.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cj struct {
		Width, Height int
		K             []float64 `json:"intrinsic_matrix"`
	}
	if err := json.Unmarshal(raw, &cj); err != nil || len(cj.K) != 9 {
		t.Fatalf("camera_primesense.json: %v", err)
	}
	// Open3D stores K column-major
	in := ds3d.Intrinsics{Fx: cj.K[0], Fy: cj.K[4], Cx: cj.K[6], Cy: cj.K[7], Skew: cj.K[3], Width: cj.Width, Height: cj.Height}
	return d, in
}

// repitch copies an image frame into one with extra row padding filled
// with a poison byte.
func repitch(f *ds3d.Frame, extra int) *ds3d.Frame {
	h := f.Plane.Height
	row := f.Plane.Width * f.Plane.BytesPerPixel
	g := &ds3d.Frame{DType: f.DType, Type: f.Type, Shape: f.Shape, Plane: f.Plane}
	g.Plane.Pitch = row + extra
	g.Data = make([]byte, g.Plane.Pitch*h)
	for i := range g.Data {
		g.Data[i] = 0xA7
	}
	for y := 0; y < h; y++ {
		copy(g.Data[y*g.Plane.Pitch:], f.Data[y*f.Plane.Pitch:y*f.Plane.Pitch+row])
	}
	return g
}

// devicePath runs fn on a device copy of src and returns its device
// output downloaded.
func onDevice(t *testing.T, src *ds3d.Frame, fn func(d *ds3d.Frame) *ds3d.Frame) *ds3d.Frame {
	t.Helper()
	d := &ds3d.Frame{}
	if err := testCtx.Upload(d, src); err != nil {
		t.Fatal(err)
	}
	defer testCtx.Free(d)
	out := fn(d)
	if out.Mem != ds3d.MemGPU {
		t.Fatalf("device input gave a %s output", out.Mem)
	}
	back := &ds3d.Frame{}
	if err := testCtx.Download(back, out); err != nil {
		t.Fatal(err)
	}
	testCtx.Free(out)
	return back
}

func TestDepthMapAndProjectMatchCPU(t *testing.T) {
	r := seed(t)
	cam := kittiCamera(t)
	W, H := cam.Intrinsics.Width, cam.Intrinsics.Height
	for fi := 0; fi < 5; fi++ {
		cloud := loadKITTI(t, fi)
		for vi, src := range []*ds3d.Frame{cloud, cols3(cloud), withNaN(cloud, r)} {
			what := fmt.Sprintf("%06d (000000's calibration) variant %d", fi, vi)
			v := ds3d.AsFloat32(src)[:src.Shape.Elements()]
			want, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeF32, W, H, 0)
			nw := cam.DepthMap(ds3d.AsFloat32(want), W, v, src.Shape.D[1])
			got := &ds3d.Frame{}
			ng, err := testCtx.DepthMap(got, src, &cam)
			if err != nil {
				t.Fatal(err)
			}
			if ng != nw {
				t.Fatalf("%s: %d points land, want %d", what, ng, nw)
			}
			sameFrame(t, what+" depth map", got, want)
			if fi == 0 && vi == 0 {
				nz := 0
				for _, d := range ds3d.AsFloat32(want) {
					if d > 0 {
						nz++
					}
				}
				t.Logf("%s: %d points, %d land, %d depth pixels: bit-identical", what, cloud.Points(), nw, nz)
			}
			uw := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FramePointCoord, ds3d.NewShape(src.Points(), 3))
			pw := cam.Project(ds3d.AsFloat32(uw), v, src.Shape.D[1])
			ug := &ds3d.Frame{}
			pg, err := testCtx.Project(ug, src, &cam)
			if err != nil {
				t.Fatal(err)
			}
			if pg != pw {
				t.Fatalf("%s: Project: %d in the image, want %d", what, pg, pw)
			}
			sameFrame(t, what+" u,v,w", ug, uw)
			if vi == 0 {
				back := onDevice(t, src, func(d *ds3d.Frame) *ds3d.Frame {
					o := &ds3d.Frame{}
					if _, err := testCtx.DepthMap(o, d, &cam); err != nil {
						t.Fatal(err)
					}
					return o
				})
				sameFrame(t, what+" depth map (device)", back, want)
			}
		}
	}
}

// coordFrame is an empty [0,2] f32 colour-coordinate frame, as the
// depth2point component's pool makes them.
func coordFrame() *ds3d.Frame {
	return ds3d.NewFrame(ds3d.DTypeF32, ds3d.FramePointCoord, ds3d.NewShape(0, 2))
}

func TestUnprojectMatchesCPU(t *testing.T) {
	depth, in := redwood(t)
	f32 := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameDepth, depth.Shape)
	f32.Plane = ds3d.Plane{Width: depth.Plane.Width, Height: depth.Plane.Height, Pitch: depth.Plane.Width * 4, BytesPerPixel: 4}
	fv := ds3d.AsFloat32(f32)
	for i, u := range ds3d.AsUint16(depth) {
		fv[i] = float32(u)
		switch i % 997 { // non-finite and negative raw values must be skipped
		case 1:
			fv[i] = float32(math.NaN())
		case 2:
			fv[i] = float32(math.Inf(1))
		case 3:
			fv[i] = -fv[i]
		}
	}
	skew := in
	skew.Skew = 0.75
	cases := []struct {
		name  string
		depth *ds3d.Frame
		p     depth2point.Params
	}{
		{"u16", depth, depth2point.Params{Intrinsics: in, Unit: 0.001}},
		{"u16 clipped, pixels", depth, depth2point.Params{Intrinsics: in, Unit: 0.001, MinDepth: 0.8, MaxDepth: 2.5, PixelCoord: true}},
		{"u16 max_points", depth, depth2point.Params{Intrinsics: in, Unit: 0.001, MaxPoints: 50000}},
		{"u16 pitched, skew", repitch(depth, 36), depth2point.Params{Intrinsics: skew, Unit: 0.001}},
		{"f32 with NaN/Inf/negative", f32, depth2point.Params{Intrinsics: in, Unit: 0.001, MaxDepth: 3}},
	}
	for _, tc := range cases {
		wp, wu := ds3d.NewPointFrame(0), coordFrame()
		nw, err := depth2point.Unproject(wp, wu, tc.depth, &tc.p)
		if err != nil {
			t.Fatal(err)
		}
		gp, gu := &ds3d.Frame{}, &ds3d.Frame{}
		ng, err := testCtx.Unproject(gp, gu, tc.depth, &tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if ng != nw {
			t.Fatalf("%s: %d points, want %d", tc.name, ng, nw)
		}
		sameFrame(t, tc.name+" points", gp, wp)
		sameFrame(t, tc.name+" colour coordinates", gu, wu)
		t.Logf("%s: %d points: bit-identical", tc.name, nw)
	}
	// device path, no colour coordinates
	p := depth2point.Params{Intrinsics: in, Unit: 0.001}
	want := ds3d.NewPointFrame(0)
	depth2point.Unproject(want, nil, depth, &p)
	back := onDevice(t, depth, func(d *ds3d.Frame) *ds3d.Frame {
		o := &ds3d.Frame{}
		if _, err := testCtx.Unproject(o, nil, d, &p); err != nil {
			t.Fatal(err)
		}
		return o
	})
	sameFrame(t, "device path", back, want)
	if _, err := testCtx.Unproject(&ds3d.Frame{}, nil, depth, &depth2point.Params{Unit: 1}); err == nil {
		t.Fatal("zero focal length: no error")
	}
}

func TestLetterboxMatchesCPU(t *testing.T) {
	img := kittiImage(t)
	h, w := img.Shape.D[0], img.Shape.D[1]
	rgba, _ := ds3d.NewImageFrame(ds3d.FrameColorRGBA, ds3d.DTypeU8, w, h, w*4+20)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			copy(rgba.Data[y*rgba.Plane.Pitch+x*4:], img.Data[y*img.Plane.Pitch+x*3:y*img.Plane.Pitch+x*3+3])
			rgba.Data[y*rgba.Plane.Pitch+x*4+3] = 255
		}
	}
	// a portrait crop: the padding goes to the right instead of below
	crop, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 300, h, 0)
	for y := 0; y < h; y++ {
		copy(crop.Data[y*900:y*900+900], img.Data[y*img.Plane.Pitch+500*3:])
	}
	norm := &Normalize{Mean: [3]float32{103.53, 116.28, 123.675}, Scale: [3]float32{1 / 57.375, 1 / 57.12, 1 / 58.395}}
	for _, tc := range []struct {
		name string
		src  *ds3d.Frame
		size int
		norm *Normalize
	}{
		{"rgb 416", img, 416, nil}, {"rgba pitched 416", rgba, 416, nil}, {"rgb 640", img, 640, nil},
		{"portrait 416", crop, 416, nil}, {"rgb 416 normalised", img, 416, norm}, {"upscale 2000", crop, 2000, nil},
	} {
		src := tc.src
		S := tc.size
		want := make([]float32, 3*S*S)
		pitch := src.Plane.Pitch
		rw := infer2d.LetterboxRGB(want, src.Data, src.Shape.D[1], src.Shape.D[0], pitch, src.Shape.D[2], S)
		if tc.norm != nil {
			for c := 0; c < 3; c++ {
				for i := c * S * S; i < (c+1)*S*S; i++ {
					want[i] = (want[i] - tc.norm.Mean[c]) * tc.norm.Scale[c]
				}
			}
		}
		wf := ds3d.NewTensorFrame(ds3d.DTypeF32, 1, 3, S, S)
		copy(ds3d.AsFloat32(wf), want)
		got := &ds3d.Frame{}
		rg, err := testCtx.Letterbox(got, src, S, tc.norm)
		if err != nil {
			t.Fatal(err)
		}
		if rg != rw {
			t.Fatalf("%s: r %v, want %v", tc.name, rg, rw)
		}
		sameFrame(t, tc.name, got, wf)
		t.Logf("%s: %dx%d → %d: bit-identical", tc.name, src.Shape.D[1], src.Shape.D[0], S)
		if tc.name == "rgb 416" {
			back := onDevice(t, src, func(d *ds3d.Frame) *ds3d.Frame {
				o := &ds3d.Frame{}
				if _, err := testCtx.Letterbox(o, d, S, nil); err != nil {
					t.Fatal(err)
				}
				return o
			})
			sameFrame(t, "device path", back, wf)
		}
	}
}

// nmsBoxes are the peers' 2000 benchmark boxes (bench_nms.py's input,
// gen_data.py seed 20240501; .gpudata/boxes.bin, written by make gpu-data).
func nmsBoxes(t testing.TB) []ds3d.Box3D {
	b, err := os.ReadFile(gpuData(t, "boxes.bin"))
	if err != nil {
		t.Fatal(err)
	}
	boxes := make([]ds3d.Box3D, len(b)/32)
	for i := range boxes {
		v := func(k int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[32*i+4*k:])) }
		boxes[i] = ds3d.Box3D{CX: v(0), CY: v(1), CZ: v(2), DX: v(3), DY: v(4), DZ: v(5), Yaw: v(6), Score: v(7), TrackID: -1}
	}
	return boxes
}

func TestNMSMatchesCPU(t *testing.T) {
	r := seed(t)
	boxes := nmsBoxes(t)
	if len(boxes) != 2000 {
		t.Fatalf("%d boxes, want 2000", len(boxes))
	}
	g := testCtx.NewNMS()
	defer g.Close()
	var cpu postprocess.NMS
	check := func(what string, bs []ds3d.Box3D, thr float64, classAware bool) []int32 {
		t.Helper()
		want := cpu.Run(nil, bs, thr, classAware)
		got, err := g.Run(nil, bs, thr, classAware)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: kept %d boxes, want %d (first %v vs %v)", what, len(got), len(want), head(got), head(want))
		}
		return got
	}
	for _, thr := range []float64{0.01, 0.1, 0.5, 0.7} {
		k := check(fmt.Sprintf("thr %v", thr), boxes, thr, false)
		t.Logf("2000 boxes, thr %v: %d kept, same indices in the same order", thr, len(k))
		if thr == 0.01 {
			if p := filepath.Join(filepath.Dir(gpuData(t, "boxes.bin")), "nms_numpy_0.01.i64"); fileExists(p) {
				b, _ := os.ReadFile(p)
				np := make([]int32, len(b)/8)
				for i := range np {
					np[i] = int32(binary.LittleEndian.Uint64(b[8*i:]))
				}
				if !slices.Equal(k, np) {
					t.Fatalf("thr 0.01: kept %d, numpy (bench_nms.nms_numpy) kept %d", len(k), len(np))
				}
				t.Logf("thr 0.01: also equal to numpy's kept list (%d)", len(np))
			}
		}
	}
	// class-aware, ties in score, degenerate boxes, several sizes
	cl := slices.Clone(boxes)
	for i := range cl {
		cl[i].ClassID = int32(r.IntN(3))
		switch r.IntN(40) {
		case 0:
			cl[i].Score = cl[(i+7)%len(cl)].Score // equal scores: stable order
		case 1:
			cl[i].DX = 0
		case 2:
			cl[i].Score = float32(math.NaN())
		case 3:
			cl[i].CX = float32(math.Inf(1))
		}
	}
	check("class-aware", cl, 0.1, true)
	check("class-agnostic, degenerate", cl, 0.1, false)
	for _, n := range []int{1, 63, 64, 65, 130, 1000} {
		check(fmt.Sprintf("%d boxes", n), cl[:n], 0.2, false)
	}
	// many boxes: 8000 (4 copies, shifted)
	big := make([]ds3d.Box3D, 0, 8000)
	for c := 0; c < 4; c++ {
		for _, b := range boxes {
			b.CX += float32(c) * 100
			big = append(big, b)
		}
	}
	k := check("8000 boxes", big, 0.01, false)
	t.Logf("8000 boxes: %d kept, equal", len(k))
}

func head(x []int32) []int32 { return x[:min(len(x), 8)] }

// ------------------------------------------------------------ benchmarks ---

// benchCall times fn: wall µs per call, the kernels' device time (events,
// median), and GB/s of bytes over each.
func benchCall(b *testing.B, bytes float64, fn func() error) {
	for i := 0; i < 20; i++ {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
	}
	testCtx.SetTiming(true)
	ks := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		ks = append(ks, testCtx.KernelMillis())
	}
	b.StopTimer()
	testCtx.SetTiming(false)
	wall := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e3
	k := median(ks) * 1e3
	b.ReportMetric(wall, "us/frame")
	b.ReportMetric(k, "kernel-us")
	b.ReportMetric(bytes/(wall*1e3), "GB/s")
	b.ReportMetric(bytes/(k*1e3), "kernel-GB/s")
}

func benchCPU(b *testing.B, fn func()) {
	fn()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fn()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "us/frame")
}

func uploadB(b *testing.B, src *ds3d.Frame) *ds3d.Frame {
	d := &ds3d.Frame{}
	if err := testCtx.Upload(d, src); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { testCtx.Free(d) })
	return d
}

// depth map: points in (N×16 B) + the map out (W×H×4 B)
func depthBytes(src *ds3d.Frame, cam *align.Camera) float64 {
	return float64(src.Bytes() + cam.Intrinsics.Width*cam.Intrinsics.Height*4)
}

func BenchmarkDepthMapGPUHost(b *testing.B) {
	src, cam := loadKITTI(b, 0), kittiCamera(b)
	dst := &ds3d.Frame{}
	benchCall(b, depthBytes(src, &cam), func() error { _, err := testCtx.DepthMap(dst, src, &cam); return err })
}

func BenchmarkDepthMapGPUDevice(b *testing.B) {
	src, cam := loadKITTI(b, 0), kittiCamera(b)
	d := uploadB(b, src)
	dst := &ds3d.Frame{}
	benchCall(b, depthBytes(src, &cam), func() error { _, err := testCtx.DepthMap(dst, d, &cam); return err })
	testCtx.Free(dst)
}

func BenchmarkDepthMapCPU(b *testing.B) {
	src, cam := loadKITTI(b, 0), kittiCamera(b)
	depth := make([]float32, cam.Intrinsics.Width*cam.Intrinsics.Height)
	v := ds3d.AsFloat32(src)
	benchCPU(b, func() { cam.DepthMap(depth, cam.Intrinsics.Width, v, 4) })
}

// unprojection: the depth image in + points and coordinates out
func unprojBytes(depth *ds3d.Frame, n int) float64 { return float64(depth.Bytes() + n*20) }

func BenchmarkUnprojectGPUHost(b *testing.B) {
	depth, in := redwood(b)
	p := depth2point.Params{Intrinsics: in, Unit: 0.001}
	pts, uv := &ds3d.Frame{}, &ds3d.Frame{}
	n, _ := testCtx.Unproject(pts, uv, depth, &p)
	benchCall(b, unprojBytes(depth, n), func() error { _, err := testCtx.Unproject(pts, uv, depth, &p); return err })
}

func BenchmarkUnprojectGPUDevice(b *testing.B) {
	depth, in := redwood(b)
	p := depth2point.Params{Intrinsics: in, Unit: 0.001}
	d := uploadB(b, depth)
	pts, uv := &ds3d.Frame{}, &ds3d.Frame{}
	n, _ := testCtx.Unproject(pts, uv, d, &p)
	benchCall(b, unprojBytes(depth, n), func() error { _, err := testCtx.Unproject(pts, uv, d, &p); return err })
	testCtx.Free(pts)
	testCtx.Free(uv)
}

func BenchmarkUnprojectCPU(b *testing.B) {
	depth, in := redwood(b)
	p := depth2point.Params{Intrinsics: in, Unit: 0.001}
	pts, uv := ds3d.NewPointFrame(0), coordFrame()
	benchCPU(b, func() { depth2point.Unproject(pts, uv, depth, &p) })
}

// letterbox: the image in + the 416² tensor out
func BenchmarkLetterboxGPUHost(b *testing.B) {
	img := kittiImage(b)
	dst := &ds3d.Frame{}
	benchCall(b, float64(img.Bytes()+3*416*416*4), func() error { _, err := testCtx.Letterbox(dst, img, 416, nil); return err })
}

func BenchmarkLetterboxGPUDevice(b *testing.B) {
	img := kittiImage(b)
	d := uploadB(b, img)
	dst := &ds3d.Frame{}
	benchCall(b, float64(img.Bytes()+3*416*416*4), func() error { _, err := testCtx.Letterbox(dst, d, 416, nil); return err })
	testCtx.Free(dst)
}

func BenchmarkLetterboxCPU(b *testing.B) {
	img := kittiImage(b)
	out := make([]float32, 3*416*416)
	benchCPU(b, func() { infer2d.LetterboxRGB(out, img.Data, img.Shape.D[1], img.Shape.D[0], img.Plane.Pitch, 3, 416) })
}

// NMS over the 2000 boxes at OpenPCDet's KITTI threshold 0.01; bytes: the
// footprints and classes up, the kept list down
func BenchmarkNMSGPU(b *testing.B) {
	boxes := nmsBoxes(b)
	g := testCtx.NewNMS()
	defer g.Close()
	var keep []int32
	benchCall(b, float64(len(boxes)*(nmsRect*8+4)+(len(boxes)+1)*4), func() error {
		var err error
		keep, err = g.Run(keep[:0], boxes, 0.01, false)
		return err
	})
	b.ReportMetric(float64(len(keep)), "kept")
}

func BenchmarkNMSCPU(b *testing.B) {
	boxes := nmsBoxes(b)
	var n postprocess.NMS
	var keep []int32
	benchCPU(b, func() { keep = n.Run(keep[:0], boxes, 0.01, false) })
}
