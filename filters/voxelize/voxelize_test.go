package voxelize

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

const (
	dairPCD  = "v2x/dair-v2x-c/infrastructure-side/velodyne/001366.pcd"
	kittiBin = "kitti/velodyne/000000.bin"
)

func readCloud(t testing.TB, rel string) *ds3d.Frame {
	t.Helper()
	f := ds3d.NewLidarFrame(0)
	if err := lidar.ReadFileInto(f, sampledata.Sample(t, rel), lidar.ReadOptions{ElementSize: 4}); err != nil {
		t.Fatal(err)
	}
	return f
}

func rawBytes(f *ds3d.Frame) []byte { return f.Data[:f.Shape.Elements()*f.DType.Size()] }

// numpyRef runs testdata/voxelize_ref.py on the clouds and returns its four
// outputs' bytes.
func numpyRef(t *testing.T, p Params, clouds ...*ds3d.Frame) (feat, coords, num, nvox []byte) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.f32")
	var buf bytes.Buffer
	var counts strings.Builder
	C := clouds[0].Shape.D[1]
	for _, c := range clouds {
		buf.Write(rawBytes(c))
		fmt.Fprintln(&counts, c.Points())
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in+".counts", []byte(counts.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"testdata/voxelize_ref.py", in, strconv.Itoa(C)}
	for _, v := range p.Range {
		args = append(args, strconv.FormatFloat(v, 'g', -1, 64))
	}
	for _, v := range p.VoxelSize {
		args = append(args, strconv.FormatFloat(v, 'g', -1, 64))
	}
	F := p.Features
	if F == 0 {
		F = C
	}
	pad := "0"
	if p.Pad {
		pad = "1"
	}
	out := filepath.Join(dir, "ref")
	args = append(args, strconv.Itoa(p.MaxPointsPerVoxel), strconv.Itoa(p.MaxVoxels), strconv.Itoa(F), pad, out)
	testenv.RunPython(t, []string{"numpy"}, args...)
	read := func(ext string) []byte {
		b, err := os.ReadFile(out + ext)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return read(".feat"), read(".coords"), read(".num"), read(".nvox")
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestNumpyReference voxelizes real clouds (DAIR-V2X-C infrastructure frame
// 001366, KITTI 000000) with several grids, alone and as a batch, and
// requires the same bytes as the whole-array numpy reference: same voxels,
// same order, same features, coordinates and counts. Exact on any CPU: the
// reference's arithmetic is element-wise float32 (subtract, divide, floor)
// and integer; no BLAS.
func TestNumpyReference(t *testing.T) {
	testenv.Python(t, "numpy")
	dair, kitti := readCloud(t, dairPCD), readCloud(t, kittiBin)
	cases := []struct {
		name   string
		p      Params
		clouds []*ds3d.Frame
	}{
		{"dair-v2xfusion-default", DefaultParams, []*ds3d.Frame{dair}},
		{"dair-uncapped", Params{Range: [6]float64{0, -51.2, -5, 102.4, 51.2, 3}, VoxelSize: [3]float64{0.2, 0.2, 8},
			MaxPointsPerVoxel: 20, MaxVoxels: 60000}, []*ds3d.Frame{dair}},
		// max_voxels binds (DAIR 001366 fills 8000 voxels of 0.2 m pillars
		// long before its last point) and points per voxel bind.
		{"dair-small-voxels-capped", Params{Range: [6]float64{0, -51.2, -5, 102.4, 51.2, 3}, VoxelSize: [3]float64{0.1, 0.1, 0.2},
			MaxPointsPerVoxel: 5, MaxVoxels: 3000, Features: 4}, []*ds3d.Frame{dair}},
		// CenterPoint/SECOND nuScenes-style voxels on KITTI, 3 features.
		{"kitti-second", Params{Range: [6]float64{0, -40, -3, 70.4, 40, 1}, VoxelSize: [3]float64{0.05, 0.05, 0.1},
			MaxPointsPerVoxel: 5, MaxVoxels: 16000, Features: 3}, []*ds3d.Frame{kitti}},
		{"batch-dair-kitti-unpadded", Params{Range: [6]float64{0, -40, -3, 70.4, 40, 1}, VoxelSize: [3]float64{0.16, 0.16, 4},
			MaxPointsPerVoxel: 32, MaxVoxels: 12000}, []*ds3d.Frame{dair, kitti, dair}},
		{"batch-kitti-dair-padded", Params{Range: [6]float64{-20, -40, -3, 70.4, 40, 1}, VoxelSize: [3]float64{0.25, 0.25, 0.5},
			MaxPointsPerVoxel: 8, MaxVoxels: 20000, Features: 4, Pad: true}, []*ds3d.Frame{kitti, dair}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := New(c.p)
			if err != nil {
				t.Fatal(err)
			}
			feat, coords, num, nv := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0),
				ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
			// twice: the second run reuses dirty buffers and scratch
			for run := 0; run < 2; run++ {
				if err := v.Voxelize(feat, coords, num, nv, c.clouds...); err != nil {
					t.Fatal(err)
				}
			}
			wf, wc, wn, wv := numpyRef(t, c.p, c.clouds...)
			t.Logf("shape %s, voxels per cloud %v", feat.Shape, ds3d.AsInt32(nv))
			for _, x := range []struct {
				name      string
				got, want []byte
			}{{"voxel counts", rawBytes(nv), wv}, {"coords", rawBytes(coords), wc}, {"num points", rawBytes(num), wn}, {"features", rawBytes(feat), wf}} {
				if !bytes.Equal(x.got, x.want) {
					t.Fatalf("%s differ from numpy: %d vs %d bytes, first difference at byte %d", x.name, len(x.got), len(x.want), firstDiff(x.got, x.want))
				}
			}
			if c.p.MaxVoxels == 3000 && ds3d.AsInt32(nv)[0] != 3000 {
				t.Errorf("the capped case should fill max_voxels, got %d", ds3d.AsInt32(nv)[0])
			}
		})
	}
}

// TestHandCases checks the rules on clouds small enough to work out by
// hand: border points, NaN/Inf, first-seen order, the max_voxels
// "continue" rule and the point cap.
func TestHandCases(t *testing.T) {
	p := Params{Range: [6]float64{0, 0, 0, 2, 2, 2}, VoxelSize: [3]float64{1, 1, 1}, MaxPointsPerVoxel: 2, MaxVoxels: 2, Features: 4}
	v, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1)) // a -0.0 literal is +0 in Go
	pts := [][4]float32{
		{1.5, 0.5, 0.5, 1},      // voxel (z0,y0,x1) → #0
		{2, 0.5, 0.5, 2},        // x on the max border: out
		{0, 0, 0, 3},            // the min corner: voxel (0,0,0) → #1
		{nan, 0.5, 0.5, 4},      // NaN: out
		{0.5, inf, 0.5, 5},      // Inf: out
		{0.5, 0.5, 1.5, 6},      // a third voxel: max_voxels reached, dropped
		{1.9, 0.1, 0.9, 7},      // #0 again: second point
		{1.2, 0.2, 0.2, 8},      // #0 third point: over the cap of 2
		{0.1, 0.1, 0.1, 9},      // #1 second point
		{negZero, 0.5, 0.5, 10}, // −0 is ≥ 0: #1, but #1 is full
	}
	src := ds3d.NewLidarFrame(len(pts))
	s := ds3d.AsFloat32(src)
	for i, q := range pts {
		copy(s[4*i:], q[:])
	}
	feat, coords, num, nv := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0),
		ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	if err := v.Voxelize(feat, coords, num, nv, src); err != nil {
		t.Fatal(err)
	}
	if got := feat.Shape.String(); got != ds3d.NewShape(1, 2, 2, 4).String() {
		t.Fatalf("shape %s", got)
	}
	wantC := []int32{0, 0, 0, 1, 0, 0, 0, 0}
	wantN := []int32{2, 2}
	wantF := []float32{1.5, 0.5, 0.5, 1, 1.9, 0.1, 0.9, 7, 0, 0, 0, 3, 0.1, 0.1, 0.1, 9}
	if fmt.Sprint(ds3d.AsInt32(coords)) != fmt.Sprint(wantC) || fmt.Sprint(ds3d.AsInt32(num)) != fmt.Sprint(wantN) ||
		fmt.Sprint(ds3d.AsFloat32(feat)) != fmt.Sprint(wantF) || ds3d.AsInt32(nv)[0] != 2 {
		t.Errorf("coords %v num %v feat %v nvox %v\nwant %v %v %v 2", ds3d.AsInt32(coords), ds3d.AsInt32(num), ds3d.AsFloat32(feat), ds3d.AsInt32(nv), wantC, wantN, wantF)
	}
}

func TestErrors(t *testing.T) {
	bad := []Params{
		{Range: [6]float64{0, 0, 0, 0, 1, 1}, VoxelSize: [3]float64{1, 1, 1}, MaxPointsPerVoxel: 1, MaxVoxels: 1},
		{Range: [6]float64{0, 0, 0, 1, 1, 1}, VoxelSize: [3]float64{1, 0, 1}, MaxPointsPerVoxel: 1, MaxVoxels: 1},
		{Range: [6]float64{0, 0, 0, 1, 1, 1}, VoxelSize: [3]float64{1, 1, 1}, MaxPointsPerVoxel: 0, MaxVoxels: 1},
		{Range: [6]float64{0, 0, 0, 1, 1, 1}, VoxelSize: [3]float64{1, 1, 1}, MaxPointsPerVoxel: 1, MaxVoxels: 0},
		{Range: [6]float64{0, 0, math.NaN(), 1, 1, 1}, VoxelSize: [3]float64{1, 1, 1}, MaxPointsPerVoxel: 1, MaxVoxels: 1},
		{Range: [6]float64{0, 0, 0, 1, 1, 1}, VoxelSize: [3]float64{1, 1, 1}, MaxPointsPerVoxel: 1, MaxVoxels: 1, Features: 2},
	}
	for i, p := range bad {
		if _, err := New(p); err == nil {
			t.Errorf("case %d: %+v accepted", i, p)
		}
	}
	v, _ := New(DefaultParams)
	o := func() *ds3d.Frame { return ds3d.NewTensorFrame(ds3d.DTypeF32, 0) }
	three := ds3d.NewPointFrame(4)
	err := v.Voxelize(o(), o(), o(), nil, ds3d.NewLidarFrame(3), three)
	if err == nil || !strings.Contains(err.Error(), `cloud 1: voxelize point_columns: frame has no "intensity" column (its columns: x y z)`) {
		t.Errorf("3-column cloud with point columns x y z intensity: %v", err)
	}
	lp := DefaultParams
	lp.PointColumns = nil
	lv, _ := New(lp)
	err = lv.Voxelize(o(), o(), o(), nil, ds3d.NewLidarFrame(3), three)
	if err == nil || !strings.Contains(err.Error(), "cloud 1: frame shape [4,3], want [N,C] with C ≥ 4") {
		t.Errorf("3-column cloud with 4 leading features: %v", err)
	}
	if err := v.Voxelize(o(), o(), o(), nil); err == nil {
		t.Error("empty batch accepted")
	}
}
