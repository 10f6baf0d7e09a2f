//go:build cuda

package gpu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/pointcloud"
)

var testCtx *Context

func TestMain(m *testing.M) {
	var err error
	if testCtx, err = Open(0); err != nil {
		fmt.Fprintln(os.Stderr, "gpu tests:", err)
		os.Exit(1)
	}
	fmt.Printf("gpu: device %s\n", testCtx.Device())
	code := m.Run()
	testCtx.Close()
	os.Exit(code)
}

// dataDir finds the KITTI velodyne clouds: $DS3D_GPU_DATA, .gpudata (repo
// root, as carried to the GPU machine), ../.gpudata (from gpu/), or the
// shared data folder.
func dataDir(t testing.TB) string {
	for _, d := range []string{os.Getenv("DS3D_GPU_DATA"), ".gpudata", "../.gpudata",
		"/work/shared/data/kitti-object/training/velodyne"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "000000.bin")); err == nil {
			return d
		}
	}
	t.Skip("no KITTI clouds (set DS3D_GPU_DATA)")
	return ""
}

func loadKITTI(t testing.TB, i int) *ds3d.Frame {
	b, err := os.ReadFile(filepath.Join(dataDir(t), fmt.Sprintf("%06d.bin", i)))
	if err != nil {
		t.Fatal(err)
	}
	f := ds3d.NewLidarFrame(len(b) / 16)
	copy(f.Data, b)
	return f
}

// cols3 returns an [N,3] copy of an [N,4] cloud.
func cols3(src *ds3d.Frame) *ds3d.Frame {
	n := src.Points()
	f := ds3d.NewPointFrame(n)
	s, d := ds3d.AsFloat32(src), ds3d.AsFloat32(f)
	for i := 0; i < n; i++ {
		copy(d[i*3:i*3+3], s[i*4:i*4+3])
	}
	return f
}

// withNaN returns a copy of an [N,C] cloud with NaN and ±Inf in some x, y, z
// and intensities.
func withNaN(src *ds3d.Frame, r *rand.Rand) *ds3d.Frame {
	f := &ds3d.Frame{DType: src.DType, Type: src.Type, Shape: src.Shape, Data: append([]byte(nil), src.Data...)}
	v := ds3d.AsFloat32(f)
	c := f.Shape.D[1]
	for k := 0; k < f.Points()/50; k++ {
		i := r.IntN(f.Points())
		col := r.IntN(c)
		switch r.IntN(3) {
		case 0:
			v[i*c+col] = float32(math.NaN())
		case 1:
			v[i*c+col] = float32(math.Inf(1))
		default:
			v[i*c+col] = float32(math.Inf(-1))
		}
	}
	return f
}

func sameFrame(t *testing.T, what string, got, want *ds3d.Frame) {
	t.Helper()
	if got.Shape != want.Shape || got.DType != want.DType {
		t.Fatalf("%s: shape %s %s, want %s %s", what, got.Shape, got.DType, want.Shape, want.DType)
	}
	n := want.Bytes()
	if !bytes.Equal(got.Data[:n], want.Data[:n]) {
		for i := 0; i+4 <= n; i += 4 {
			if !bytes.Equal(got.Data[i:i+4], want.Data[i:i+4]) {
				t.Fatalf("%s: first difference at element %d: %08x, want %08x", what, i/4,
					binary.LittleEndian.Uint32(got.Data[i:]), binary.LittleEndian.Uint32(want.Data[i:]))
			}
		}
	}
}

func seed(t testing.TB) *rand.Rand {
	s := uint64(time.Now().UnixNano())
	t.Logf("seed %d", s)
	return rand.New(rand.NewPCG(s, 7))
}

func randomBox(r *rand.Rand) pointcloud.Box {
	var b pointcloud.Box
	for a := 0; a < 3; a++ {
		lo := float32(r.Float64()*60 - 30)
		if a == 2 {
			lo = float32(r.Float64()*3 - 3)
		}
		b.Min[a], b.Max[a] = lo, lo+float32(r.Float64()*40)
	}
	return b
}

func TestCropMatchesCPU(t *testing.T) {
	r := seed(t)
	boxes := []pointcloud.Box{
		pointcloud.Unbounded,
		{Min: [3]float32{0, -39.68, -3}, Max: [3]float32{69.12, 39.68, 1}},
		{Min: [3]float32{1e9, 1e9, 1e9}, Max: [3]float32{2e9, 2e9, 2e9}}, // empty result
	}
	for i := 0; i < 4; i++ {
		boxes = append(boxes, randomBox(r))
	}
	for fi := 0; fi < 5; fi++ {
		cloud := loadKITTI(t, fi)
		// boxes through existing points: inclusive bounds must keep them
		v := ds3d.AsFloat32(cloud)
		j := r.IntN(cloud.Points())
		boxes = append(boxes, pointcloud.Box{Min: [3]float32{v[j*4] - 5, v[j*4+1] - 5, v[j*4+2]},
			Max: [3]float32{v[j*4], v[j*4+1] + 5, v[j*4+2] + 1}})
		for ci, src := range []*ds3d.Frame{cloud, cols3(cloud), withNaN(cloud, r)} {
			for bi, b := range boxes {
				want := &ds3d.Frame{}
				kw := pointcloud.Crop(want, src, b)
				got := &ds3d.Frame{}
				kg, err := testCtx.Crop(got, src, b)
				if err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("%06d variant %d box %d", fi, ci, bi)
				if kg != kw {
					t.Fatalf("%s: kept %d, want %d", what, kg, kw)
				}
				sameFrame(t, what, got, want)
				if bi == 1 {
					// device path: up, crop on the device, down
					d, err := testCtx.NewDeviceFrame(ds3d.DTypeF32, src.Type, 0, 4)
					if err != nil {
						t.Fatal(err)
					}
					if err := testCtx.Upload(d, src); err != nil {
						t.Fatal(err)
					}
					dout := &ds3d.Frame{}
					if _, err := testCtx.Crop(dout, d, b); err != nil {
						t.Fatal(err)
					}
					back := &ds3d.Frame{}
					if err := testCtx.Download(back, dout); err != nil {
						t.Fatal(err)
					}
					sameFrame(t, what+" (device)", back, want)
					testCtx.Free(d)
					testCtx.Free(dout)
				}
			}
		}
	}
}

func comparePillars(t *testing.T, what string, p pointcloud.PillarParams, z *Pillarizer, src *ds3d.Frame) int {
	t.Helper()
	cz, err := pointcloud.NewPillarizer(p)
	if err != nil {
		t.Fatal(err)
	}
	wf, wc, wn := &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{}
	pw, err := cz.Pillarize(wf, wc, wn, src)
	if err != nil {
		t.Fatal(err)
	}
	// poisoned outputs: every byte must be written
	gf, gc, gn := ds3d.NewFrame(ds3d.DTypeU8, ds3d.FrameTensor, ds3d.NewShape(len(wf.Data)+64)),
		ds3d.NewFrame(ds3d.DTypeU8, ds3d.FrameTensor, ds3d.NewShape(len(wc.Data)+64)),
		ds3d.NewFrame(ds3d.DTypeU8, ds3d.FrameTensor, ds3d.NewShape(len(wn.Data)+64))
	for _, f := range []*ds3d.Frame{gf, gc, gn} {
		for i := range f.Data {
			f.Data[i] = 0xA5
		}
	}
	pg, err := z.Pillarize(gf, gc, gn, src)
	if err != nil {
		t.Fatal(err)
	}
	if pg != pw {
		t.Fatalf("%s: %d pillars, want %d", what, pg, pw)
	}
	sameFrame(t, what+" coords", gc, wc)
	sameFrame(t, what+" num", gn, wn)
	sameFrame(t, what+" features", gf, wf)
	return pw
}

func TestPillarizeMatchesCPU(t *testing.T) {
	r := seed(t)
	z, err := testCtx.NewPillarizer(pointcloud.DefaultPillarParams)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for fi := 0; fi < 5; fi++ {
		cloud := loadKITTI(t, fi)
		P := comparePillars(t, fmt.Sprintf("%06d", fi), pointcloud.DefaultPillarParams, z, cloud)
		t.Logf("%06d: %d points, %d pillars: bit-identical", fi, cloud.Points(), P)
		comparePillars(t, fmt.Sprintf("%06d+NaN", fi), pointcloud.DefaultPillarParams, z, withNaN(cloud, r))
		// reversed point order: other first points, other pillar order
		rev := &ds3d.Frame{DType: cloud.DType, Type: cloud.Type, Shape: cloud.Shape, Data: make([]byte, len(cloud.Data))}
		n := cloud.Points()
		for i := 0; i < n; i++ {
			copy(rev.Data[i*16:i*16+16], cloud.Data[(n-1-i)*16:])
		}
		z.Profile = fi%2 == 0 // the profiling path must give the same bytes
		comparePillars(t, fmt.Sprintf("%06d reversed", fi), pointcloud.DefaultPillarParams, z, rev)
		z.Profile = false

		// device path
		d, err := testCtx.NewDeviceFrame(ds3d.DTypeF32, cloud.Type, 0, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := testCtx.Upload(d, cloud); err != nil {
			t.Fatal(err)
		}
		df, dc, dn := &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{}
		pd, err := z.Pillarize(df, dc, dn, d)
		if err != nil {
			t.Fatal(err)
		}
		if df.Mem != ds3d.MemGPU || pd != P {
			t.Fatalf("device path: mem %s, %d pillars want %d", df.Mem, pd, P)
		}
		cz, _ := pointcloud.NewPillarizer(pointcloud.DefaultPillarParams)
		wf, wc, wn := &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{}
		cz.Pillarize(wf, wc, wn, cloud)
		for _, pr := range [][2]*ds3d.Frame{{df, wf}, {dc, wc}, {dn, wn}} {
			back := &ds3d.Frame{}
			if err := testCtx.Download(back, pr[0]); err != nil {
				t.Fatal(err)
			}
			sameFrame(t, "device path", back, pr[1])
		}
		testCtx.Free(d)
	}
}

// TestPillarizeCapsAndLayouts: few pillars (first-come dropping), few points
// per pillar, other feature orders, 3-column clouds, dense synthetic clouds
// with thousands of points per pillar, points on the range's edges.
func TestPillarizeCapsAndLayouts(t *testing.T) {
	r := seed(t)
	cloud := loadKITTI(t, 2)
	cases := []struct {
		name string
		p    pointcloud.PillarParams
		src  *ds3d.Frame
	}{}
	p1 := pointcloud.DefaultPillarParams
	p1.MaxPillars, p1.MaxPointsPerPillar = 700, 5
	cases = append(cases, struct {
		name string
		p    pointcloud.PillarParams
		src  *ds3d.Frame
	}{"caps 700x5", p1, cloud})
	p2 := pointcloud.DefaultPillarParams
	p2.Features = []pointcloud.Feature{pointcloud.FeatZp, pointcloud.FeatX, pointcloud.FeatYc, pointcloud.FeatXp, pointcloud.FeatZc}
	p2.MaxPointsPerPillar = 20
	cases = append(cases, struct {
		name string
		p    pointcloud.PillarParams
		src  *ds3d.Frame
	}{"5 features, 3 columns", p2, cols3(cloud)})
	p3 := pointcloud.DefaultPillarParams
	p3.Range = [6]float64{-10, -10, -2, 10, 10, 2}
	p3.PillarSize = [2]float64{0.2, 0.25}
	p3.MaxPillars = 30000
	cases = append(cases, struct {
		name string
		p    pointcloud.PillarParams
		src  *ds3d.Frame
	}{"other grid", p3, cloud})

	// dense: 200k points in a 0.8 m square (25 pillars, ~8000 points each),
	// with exact edge values and signed zeros
	dense := ds3d.NewLidarFrame(200000)
	v := ds3d.AsFloat32(dense)
	for i := 0; i < dense.Points(); i++ {
		v[i*4] = float32(r.Float64() * 0.8)
		v[i*4+1] = float32(r.Float64()*0.8 - 0.4)
		v[i*4+2] = float32(r.Float64()*4.2 - 3.1)
		v[i*4+3] = float32(r.Float64())
		switch r.IntN(50) {
		case 0:
			v[i*4] = 0
		case 1:
			v[i*4] = float32(math.Copysign(0, -1))
		case 2:
			v[i*4+1] = float32(-39.68)
		case 3:
			v[i*4+2] = 1 // z1: excluded
		case 4:
			v[i*4+2] = -3 // z0: included
		}
	}
	cases = append(cases, struct {
		name string
		p    pointcloud.PillarParams
		src  *ds3d.Frame
	}{"dense", pointcloud.DefaultPillarParams, dense})
	// random cloud over the whole range and beyond
	wide := ds3d.NewLidarFrame(150000)
	v = ds3d.AsFloat32(wide)
	for i := range v {
		v[i] = float32(r.NormFloat64() * 30)
	}
	cases = append(cases, struct {
		name string
		p    pointcloud.PillarParams
		src  *ds3d.Frame
	}{"wide", pointcloud.DefaultPillarParams, wide})
	// empty cloud
	cases = append(cases, struct {
		name string
		p    pointcloud.PillarParams
		src  *ds3d.Frame
	}{"empty", pointcloud.DefaultPillarParams, ds3d.NewLidarFrame(0)})

	for _, tc := range cases {
		z, err := testCtx.NewPillarizer(tc.p)
		if err != nil {
			t.Fatal(tc.name, err)
		}
		P := comparePillars(t, tc.name, tc.p, z, tc.src)
		t.Logf("%s: %d points, %d pillars: bit-identical", tc.name, tc.src.Points(), P)
		z.Close()
	}
	if _, err := testCtx.NewPillarizer(pointcloud.PillarParams{Range: pointcloud.DefaultPillarParams.Range,
		PillarSize: [2]float64{0.16, 0.16}, MaxPointsPerPillar: 64, MaxPillars: 100}); err == nil {
		t.Fatal("64 points per pillar accepted")
	}
}

// cloud120k is 000002 cut to 120,000 points.
func cloud120k(b testing.TB) *ds3d.Frame {
	c := loadKITTI(b, 2)
	c.Resize(120000, 4)
	return c
}

func minBytes(n, P int, p pointcloud.PillarParams) float64 {
	F := len(p.Features)
	if F == 0 {
		F = 10
	}
	return float64(n*16 + P*p.MaxPointsPerPillar*F*4 + P*16 + P*4)
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func BenchmarkPillarizeCPU(b *testing.B) {
	src := cloud120k(b)
	z, _ := pointcloud.NewPillarizer(pointcloud.DefaultPillarParams)
	f, c, n := &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{}
	P, _ := z.Pillarize(f, c, n, src)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z.Pillarize(f, c, n, src)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/frame")
	b.ReportMetric(float64(P), "pillars")
}

// benchGPU times z.Pillarize on src: wall time per call (µs, with the
// transfers for CPU frames), the kernels' device time from CUDA events
// (median), and GB/s for the fewest bytes (points in once, tensors out once).
func benchGPU(b *testing.B, z *Pillarizer, src, f, c, n *ds3d.Frame) {
	P, err := z.Pillarize(f, c, n, src)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20; i++ { // warm-up
		z.Pillarize(f, c, n, src)
	}
	z.Timing = true
	ks := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := z.Pillarize(f, c, n, src); err != nil {
			b.Fatal(err)
		}
		ks = append(ks, z.KernelMillis())
	}
	b.StopTimer()
	z.Timing = false
	wall := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e3
	k := median(ks) * 1e3
	bytes := minBytes(src.Points(), P, pointcloud.DefaultPillarParams)
	b.ReportMetric(wall, "us/frame")
	b.ReportMetric(k, "kernel-us")
	b.ReportMetric(bytes/(wall*1e3), "GB/s")
	b.ReportMetric(bytes/(k*1e3), "kernel-GB/s")
	b.ReportMetric(float64(P), "pillars")
}

// BenchmarkPillarizeGPUHost: CPU frames in Go memory (pageable); includes
// the copies up and down.
func BenchmarkPillarizeGPUHost(b *testing.B) {
	z, err := testCtx.NewPillarizer(pointcloud.DefaultPillarParams)
	if err != nil {
		b.Fatal(err)
	}
	defer z.Close()
	benchGPU(b, z, cloud120k(b), &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{})
}

// BenchmarkPillarizeGPUPinned: CPU frames in pinned memory; includes copies.
func BenchmarkPillarizeGPUPinned(b *testing.B) {
	z, err := testCtx.NewPillarizer(pointcloud.DefaultPillarParams)
	if err != nil {
		b.Fatal(err)
	}
	defer z.Close()
	src0 := cloud120k(b)
	src, err := testCtx.NewPinnedFrame(ds3d.DTypeF32, src0.Type, 0, 120000, 4)
	if err != nil {
		b.Fatal(err)
	}
	copy(src.Data, src0.Data)
	p := pointcloud.DefaultPillarParams
	f, _ := testCtx.NewPinnedFrame(ds3d.DTypeF32, ds3d.FrameTensor, p.MaxPillars*p.MaxPointsPerPillar*40, 0)
	c, _ := testCtx.NewPinnedFrame(ds3d.DTypeI32, ds3d.FrameTensor, p.MaxPillars*16, 0)
	n, _ := testCtx.NewPinnedFrame(ds3d.DTypeI32, ds3d.FrameTensor, p.MaxPillars*4, 0)
	benchGPU(b, z, src, f, c, n)
	if f.Mem != ds3d.MemCPUPinned {
		b.Fatal("output left pinned memory")
	}
	for _, x := range []*ds3d.Frame{src, f, c, n} {
		testCtx.Free(x)
	}
}

// BenchmarkPillarizeGPUDevice: points already on the device, tensors left
// there: no transfers (but the 4-byte pillar count is read back per call).
func BenchmarkPillarizeGPUDevice(b *testing.B) {
	z, err := testCtx.NewPillarizer(pointcloud.DefaultPillarParams)
	if err != nil {
		b.Fatal(err)
	}
	defer z.Close()
	d, _ := testCtx.NewDeviceFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, 0, 4)
	if err := testCtx.Upload(d, cloud120k(b)); err != nil {
		b.Fatal(err)
	}
	benchGPU(b, z, d, &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{})
	testCtx.Free(d)
}

func BenchmarkCropGPUHost(b *testing.B) {
	src := cloud120k(b)
	box := pointcloud.Box{Min: [3]float32{0, -39.68, -3}, Max: [3]float32{69.12, 39.68, 1}}
	dst := &ds3d.Frame{}
	for i := 0; i < 20; i++ {
		testCtx.Crop(dst, src, box)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		testCtx.Crop(dst, src, box)
	}
	wall := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e3
	b.ReportMetric(wall, "us/frame")
	b.ReportMetric(float64(src.Bytes()+dst.Bytes())/(wall*1e3), "GB/s")
}

func BenchmarkCropGPUDevice(b *testing.B) {
	src := cloud120k(b)
	box := pointcloud.Box{Min: [3]float32{0, -39.68, -3}, Max: [3]float32{69.12, 39.68, 1}}
	d, _ := testCtx.NewDeviceFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, 0, 4)
	testCtx.Upload(d, src)
	dst := &ds3d.Frame{}
	for i := 0; i < 20; i++ {
		testCtx.Crop(dst, d, box)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		testCtx.Crop(dst, d, box)
	}
	wall := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e3
	b.ReportMetric(wall, "us/frame")
	b.ReportMetric(float64(src.Bytes()+dst.Bytes())/(wall*1e3), "GB/s")
	testCtx.Free(d)
	testCtx.Free(dst)
}

func BenchmarkCropCPU(b *testing.B) {
	src := cloud120k(b)
	box := pointcloud.Box{Min: [3]float32{0, -39.68, -3}, Max: [3]float32{69.12, 39.68, 1}}
	dst := &ds3d.Frame{}
	for i := 0; i < b.N; i++ {
		pointcloud.Crop(dst, src, box)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "us/frame")
}

// BenchmarkPillarizeGPUQueued: points on the device, each call's launches
// queued behind a spin kernel, so that CUDA events time the GPU work alone
// (gpu-us, median) without the host's launch gaps; logs each stage's median.
func BenchmarkPillarizeGPUQueued(b *testing.B) {
	z, err := testCtx.NewPillarizer(pointcloud.DefaultPillarParams)
	if err != nil {
		b.Fatal(err)
	}
	defer z.Close()
	d, _ := testCtx.NewDeviceFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, 0, 4)
	if err := testCtx.Upload(d, cloud120k(b)); err != nil {
		b.Fatal(err)
	}
	f, c, n := &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{}
	P, _ := z.Pillarize(f, c, n, d)
	z.Profile = true
	var tot []float64
	var st [][]float64
	for i := 0; i < b.N; i++ {
		if _, err := z.Pillarize(f, c, n, d); err != nil {
			b.Fatal(err)
		}
		tot = append(tot, z.KernelMillis())
		_, ms := z.Stages()
		for j, v := range ms {
			if j == len(st) {
				st = append(st, nil)
			}
			st[j] = append(st[j], v)
		}
	}
	names, _ := z.Stages()
	for j, nm := range names {
		b.Logf("stage %-28s %7.1f us (median)", nm, median(st[j])*1e3)
	}
	k := median(tot) * 1e3
	b.ReportMetric(k, "gpu-us")
	b.ReportMetric(minBytes(d.Points(), P, pointcloud.DefaultPillarParams)/(k*1e3), "gpu-GB/s")
	testCtx.Free(d)
}
