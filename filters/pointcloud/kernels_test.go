package pointcloud

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// checkCropKernel: the vector crop kernel (GOEXPERIMENT=simd on AVX-512)
// keeps exactly the points of the scalar mask, copied out of place and
// compacted in place; under the portable build both are the scalar loop.
func checkCropKernel(t *testing.T, src *ds3d.Frame, b Box) {
	t.Helper()
	s := ds3d.AsFloat32(src)[:4*src.Points()]
	want := make([]float32, len(s))
	k := cropXYZIScalar(want, s, &b, 0, 0)
	got := make([]float32, len(s))
	if n := cropXYZI(got, s, &b); n != k || !bytes.Equal(f32bytes(got[:n]), f32bytes(want[:k])) {
		t.Fatalf("kernel kept %d values, scalar %d (or different bytes)", n, k)
	}
	in := append([]float32(nil), s...)
	if n := cropXYZI(in, in, &b); n != k || !bytes.Equal(f32bytes(in[:n]), f32bytes(want[:k])) {
		t.Fatalf("in place: kernel kept %d values, scalar %d (or different bytes)", n, k)
	}
}

// TestKernelsMatchScalar runs the crop and voxel kernels on random clouds
// with NaN/Inf, −0 and points exactly on the box and voxel borders, at
// lengths around the vector widths.
func TestKernelsMatchScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	v := VoxelGrid{Leaf: [3]float32{0.5, 0.5, 0.5}}
	dst := ds3d.NewLidarFrame(0)
	for it := 0; it < 200; it++ {
		n := []int{0, 1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 1000 + r.IntN(2000)}[r.IntN(12)]
		src := randomCloud(r, n)
		checkCropKernel(t, src, kittiROI)
		checkCropKernel(t, src, Unbounded)
		got, err := v.Filter(dst, src)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveVoxel(ds3d.AsFloat32(src), 0.5); got != len(want) {
			t.Fatalf("%d points: %d voxels, naive PCL rule %d", n, got, len(want))
		}
	}
	// the KITTI frame: crop in place equals crop out of place
	src := kitti0(t)
	checkCropKernel(t, src, kittiROI)
}

// TestOneVoxelAndBorders: 1000 points (enough for the vector kernels) in
// one voxel give one centroid; points exactly on the crop box's faces are
// inside (bounds inclusive), one float32 step outside are not.
func TestOneVoxelAndBorders(t *testing.T) {
	one := ds3d.NewLidarFrame(1000)
	s := ds3d.AsFloat32(one)
	var sum [4]float64
	for i := 0; i < 1000; i++ {
		p := []float32{0.2 + float32(i%7)*0.01, 0.3 + float32(i%5)*0.01, 0.1, float32(i)}
		copy(s[4*i:], p)
		for a := range sum {
			sum[a] += float64(p[a])
		}
	}
	dst := ds3d.NewLidarFrame(0)
	if n, err := Voxelize(dst, one, 1); n != 1 || err != nil {
		t.Fatalf("one voxel: %d voxels, %v", n, err)
	}
	for a := range sum {
		if got, want := ds3d.AsFloat32(dst)[a], float32(sum[a]/1000); got != want {
			t.Errorf("centroid[%d] %v, want %v", a, got, want)
		}
	}
	border := ds3d.NewLidarFrame(0)
	var pts []float32
	for a := 0; a < 3; a++ {
		for _, v := range []float32{kittiROI.Min[a], kittiROI.Max[a]} {
			for _, d := range []float32{-1, 0, 1} {
				p := []float32{10, 0, 0, 1}
				p[a] = v
				if d != 0 {
					p[a] = math.Nextafter32(v, float32(math.Inf(int(d))))
				}
				pts = append(pts, p...)
			}
		}
	}
	for len(pts) < 4*64 {
		pts = append(pts, pts...)
	}
	border.Resize(len(pts)/4, 4)
	copy(ds3d.AsFloat32(border), pts)
	k := Crop(dst, border, kittiROI)
	// per axis and bound: on the face and the step inwards are kept
	if want := border.Points() * 2 / 3; k != want {
		t.Errorf("border points kept %d, want %d", k, want)
	}
	checkCropKernel(t, border, kittiROI)
}

// FuzzCropKernel: arbitrary bytes as a cloud and as box bounds; the vector
// crop kernel agrees with the scalar mask, in place too, and never panics.
func FuzzCropKernel(f *testing.F) {
	f.Add(f32bytes([]float32{0, 0, 0, 1, 70.4, 40, 1, float32(math.NaN())}), float32(0), float32(70.4))
	f.Add(bytes.Repeat(f32bytes([]float32{1, 1, 1, 1}), 40), float32(1), float32(1))
	f.Fuzz(func(t *testing.T, b []byte, lo, hi float32) {
		src := ds3d.NewLidarFrame(len(b) / 16)
		copy(src.Data, b)
		checkCropKernel(t, src, Box{Min: [3]float32{lo, lo, lo}, Max: [3]float32{hi, hi, hi}})
		s := NewSampler(7, true, 1)
		dst := ds3d.NewLidarFrame(0)
		if n := s.Sample(dst, src); n > 7 || n > src.Points() {
			t.Fatalf("subsample to 7 gave %d of %d", n, src.Points())
		}
	})
}
