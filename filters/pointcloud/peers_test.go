package pointcloud

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// peersDir returns ../shared/peers beside the repository.
func peersDir(t testing.TB) string {
	t.Helper()
	return sampledata.Peers(t, "bench_numpy.py")
}

// needNumpy skips (fails under CI) unless the reference Python has numpy.
func needNumpy(t testing.TB) string {
	t.Helper()
	return testenv.Python(t, "numpy")
}

// peer runs testdata/peer.py.
func peer(t testing.TB, args ...string) {
	t.Helper()
	testenv.RunPython(t, []string{"numpy"}, append([]string{"testdata/peer.py", peersDir(t)}, args...)...)
}

var synth struct {
	once sync.Once
	dir  string
	err  error
}

// synthCloud is gen_data.py's synthetic 120k-point cloud, generated once.
func synthCloud(t testing.TB) string {
	t.Helper()
	python := needNumpy(t)
	pd := peersDir(t)
	synth.once.Do(func() {
		synth.dir, synth.err = os.MkdirTemp("", "pointcloud-synth")
		if synth.err != nil {
			return
		}
		out, err := exec.Command(python, "testdata/peer.py", pd, "gen", filepath.Join(synth.dir, "cloud.bin")).CombinedOutput()
		if err != nil {
			synth.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if synth.err != nil {
		t.Fatalf("gen_data.py: %v", synth.err)
	}
	return filepath.Join(synth.dir, "cloud.bin")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if synth.dir != "" {
		os.RemoveAll(synth.dir)
	}
	os.Exit(code)
}

// testClouds returns KITTI 000000–000004 and the synthetic cloud.
func testClouds(t *testing.T) map[string]string {
	t.Helper()
	velo := sampledata.Shared(t, "kitti-object/training/velodyne")
	m := map[string]string{"synthetic": synthCloud(t)}
	for i := 0; i < 5; i++ {
		m[fmt.Sprintf("kitti-%06d", i)] = filepath.Join(velo, fmt.Sprintf("%06d.bin", i))
	}
	return m
}

func readCloud(t testing.TB, path string) *ds3d.Frame {
	t.Helper()
	f := ds3d.NewLidarFrame(0)
	if err := lidar.ReadFileInto(f, path, lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func writeBin(t testing.TB, path string, f *ds3d.Frame) {
	t.Helper()
	if err := os.WriteFile(path, f.Data[:f.Bytes()], 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ftoa(v ...float64) []string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return s
}

// TestCropMatchesNumpy: Crop keeps the bytes and CropIndices the indices of
// bench_numpy.crop_roi's mask (comparisons only: exact on any CPU).
func TestCropMatchesNumpy(t *testing.T) {
	needNumpy(t)
	boxes := [][6]float64{
		{0, -40, -3, 70.4, 40, 1},        // the peers' ROI
		{-10, -5.5, -1.73, 10, 5.5, 0.2}, // a tight one around the car
	}
	for name, path := range testClouds(t) {
		t.Run(name, func(t *testing.T) {
			src := readCloud(t, path)
			for _, b := range boxes {
				dir := t.TempDir()
				peer(t, append([]string{"crop", path, dir}, ftoa(b[:]...)...)...)
				box := Box{Min: [3]float32{float32(b[0]), float32(b[1]), float32(b[2])},
					Max: [3]float32{float32(b[3]), float32(b[4]), float32(b[5])}}
				dst := ds3d.NewLidarFrame(0)
				k := Crop(dst, src, box)
				want := readFile(t, filepath.Join(dir, "crop.f32"))
				if !bytes.Equal(dst.Data[:dst.Bytes()], want) {
					t.Errorf("box %v: %d points, numpy %d; bytes differ", b, k, len(want)/16)
				}
				idx := CropIndices(nil, src, box)
				wi := readFile(t, filepath.Join(dir, "crop_idx.i64"))
				same := len(wi) == 8*len(idx)
				for i := 0; same && i < len(idx); i++ {
					same = int64(binary.LittleEndian.Uint64(wi[8*i:])) == int64(idx[i])
				}
				if !same {
					t.Errorf("box %v: indices differ from numpy's mask (%d vs %d)", b, len(idx), len(wi)/8)
				}
				t.Logf("box %v: kept %d of %d", b, k, src.Points())
			}
		})
	}
}

// pclVoxel runs pcl-tools' pcl_voxel_grid on src and returns its output cloud.
func pclVoxel(t *testing.T, src *ds3d.Frame, leaf float64) *ds3d.Frame {
	t.Helper()
	tool := testenv.Tool(t, "pcl_voxel_grid", "apt-get install pcl-tools")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcd"), filepath.Join(dir, "out.pcd")
	if err := lidar.WriteFile(in, &lidar.Cloud{Points: src}, "binary"); err != nil {
		t.Fatal(err)
	}
	l := strconv.FormatFloat(leaf, 'g', -1, 64)
	// -fmin/-fmax: PCL's tool filters on z by default; make that a no-op.
	testenv.Output(t, exec.Command(tool, in, out, "-leaf", l+","+l+","+l, "-fmin", "-1e30", "-fmax", "1e30"))
	return readCloud(t, out)
}

func TestVoxelMatchesPCL(t *testing.T) {
	for name, path := range testClouds(t) {
		t.Run(name, func(t *testing.T) {
			src := readCloud(t, path)
			want := pclVoxel(t, src, 0.2)
			dst := ds3d.NewLidarFrame(0)
			n, err := Voxelize(dst, src, 0.2)
			if err != nil {
				t.Fatal(err)
			}
			if n != want.Points() {
				t.Fatalf("%d voxels, PCL VoxelGrid %d", n, want.Points())
			}
			g, w := ds3d.AsFloat32(dst), ds3d.AsFloat32(want)
			worst, bad := 0.0, 0
			for i := range g {
				d := math.Abs(float64(g[i]) - float64(w[i]))
				tol := 1e-5 * math.Max(1, math.Abs(float64(w[i])))
				if d > tol {
					if bad < 5 {
						t.Errorf("voxel %d col %d: %v, PCL %v", i/4, i%4, g[i], w[i])
					}
					bad++
				}
				worst = math.Max(worst, d)
			}
			t.Logf("%d points → %d voxels (PCL %d); max |Δ| %.3g, %d beyond tolerance", src.Points(), n, want.Points(), worst, bad)
		})
	}
}

// pillarCase runs numpy's pillarize and ours with the same parameters and
// compares the bytes. Exact on any CPU: bench_numpy.pillarize uses only
// element-wise float32/float64 operations (each one correctly rounded
// IEEE operation whatever SIMD numpy picks) and numpy's add-reduce, whose
// order is fixed by numpy's C code, not by the CPU; no BLAS, no
// transcendental functions.
func pillarCase(t *testing.T, cloud string, src *ds3d.Frame, p PillarParams) {
	t.Helper()
	dir := t.TempDir()
	z, err := NewPillarizer(p)
	if err != nil {
		t.Fatal(err)
	}
	nx, ny := z.GridSize()
	args := append([]string{"pillar", cloud, dir}, ftoa(p.Range[:]...)...)
	args = append(args, ftoa(p.PillarSize[0])...)
	args = append(args, strconv.Itoa(nx), strconv.Itoa(ny), strconv.Itoa(p.MaxPointsPerPillar), strconv.Itoa(p.MaxPillars))
	peer(t, args...)
	feat, coords, num := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	P, err := z.Pillarize(feat, coords, num, src)
	if err != nil {
		t.Fatal(err)
	}
	wf := readFile(t, filepath.Join(dir, "feat.f32"))
	wc := readFile(t, filepath.Join(dir, "coords.i32"))
	wn := readFile(t, filepath.Join(dir, "npts.f32"))
	if len(wn)/4 != P {
		t.Fatalf("%d pillars, numpy %d", P, len(wn)/4)
	}
	if !bytes.Equal(feat.Data[:feat.Bytes()], wf) {
		g := ds3d.AsFloat32(feat)
		for i := 0; i < len(wf)/4; i++ {
			w := math.Float32frombits(binary.LittleEndian.Uint32(wf[4*i:]))
			if math.Float32bits(g[i]) != math.Float32bits(w) {
				F := len(DefaultFeatures)
				t.Fatalf("features differ first at pillar %d slot %d feature %d: %v (%08x), numpy %v (%08x)",
					i/(F*p.MaxPointsPerPillar), i/F%p.MaxPointsPerPillar, i%F, g[i], math.Float32bits(g[i]), w, math.Float32bits(w))
			}
		}
	}
	co, no := ds3d.AsInt32(coords), ds3d.AsInt32(num)
	kept := 0
	for i := 0; i < P; i++ {
		wy, wx := int32(binary.LittleEndian.Uint32(wc[8*i:])), int32(binary.LittleEndian.Uint32(wc[8*i+4:]))
		if co[4*i] != 0 || co[4*i+1] != 0 || co[4*i+2] != wy || co[4*i+3] != wx {
			t.Fatalf("pillar %d: coords %v, numpy (y, x) = (%d, %d)", i, co[4*i:4*i+4], wy, wx)
		}
		if wn := math.Float32frombits(binary.LittleEndian.Uint32(wn[4*i:])); float32(no[i]) != wn {
			t.Fatalf("pillar %d: %d points, numpy %v", i, no[i], wn)
		}
		kept += int(no[i])
	}
	t.Logf("%d pillars, %d points kept: features, coords and counts equal numpy's bit for bit", P, kept)
}

func TestPillarMatchesNumpy(t *testing.T) {
	needNumpy(t)
	small := DefaultPillarParams
	small.MaxPointsPerPillar, small.MaxPillars = 5, 2000 // both caps bite
	odd := PillarParams{Range: [6]float64{-51.2, -51.2, -5, 51.2, 51.2, 3}, PillarSize: [2]float64{0.2, 0.2},
		MaxPointsPerPillar: 20, MaxPillars: 30000} // nuScenes-like grid, negative x
	for name, path := range testClouds(t) {
		t.Run(name, func(t *testing.T) {
			src := readCloud(t, path)
			pillarCase(t, path, src, DefaultPillarParams)
			pillarCase(t, path, src, small)
			pillarCase(t, path, src, odd)
		})
	}
	t.Run("borders-nan-inf", func(t *testing.T) {
		src := borderCloud()
		path := filepath.Join(t.TempDir(), "edge.bin")
		writeBin(t, path, src)
		pillarCase(t, path, src, DefaultPillarParams)
		pillarCase(t, path, src, odd)
	})
}

// borderCloud holds points exactly on the range and cell borders of the
// default grid, their float32 neighbours, -0, NaN and ±Inf.
func borderCloud() *ds3d.Frame {
	var pts []float32
	add := func(x, y, z, i float32) { pts = append(pts, x, y, z, i) }
	nz := float32(math.Copysign(0, -1))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	xs := []float32{0, nz, 69.12, 0.16, 0.32, 0.48, 69.12 - 0.16, 51.2, -51.2, 10}
	ys := []float32{-39.68, 39.68, 0, nz, 0.16, -0.16, 39.52, 51.2, -51.2}
	zs := []float32{-3, 1, 0, -5, 3, 0.5}
	for _, x := range xs {
		for _, y := range ys {
			for _, z := range zs {
				add(x, y, z, 0.5)
				add(math.Nextafter32(x, -100), math.Nextafter32(y, 100), math.Nextafter32(z, -100), 0.25)
				add(math.Nextafter32(x, 100), math.Nextafter32(y, -100), math.Nextafter32(z, 100), 0.75)
			}
		}
	}
	for _, bad := range []float32{nan, inf, -inf} {
		add(bad, 1, 0, 0.1)
		add(1, bad, 0, 0.1)
		add(1, 1, bad, 0.1)
		add(1, 1, 0, bad)
	}
	f := ds3d.NewLidarFrame(len(pts) / 4)
	copy(ds3d.AsFloat32(f), pts)
	return f
}
