package pointcloud

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// randomCloud mixes ordinary points, NaN/Inf coordinates, −0 and points on
// the KITTI ROI / pillar borders.
func randomCloud(r *rand.Rand, n int) *ds3d.Frame {
	f := ds3d.NewLidarFrame(n)
	s := ds3d.AsFloat32(f)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)),
		0, 70.4, -40, 40, -3, 1, 69.12, -39.68, 39.68, 0.16}
	for i := range s {
		if r.IntN(20) == 0 {
			s[i] = special[r.IntN(len(special))]
		} else {
			s[i] = float32(r.NormFloat64() * 30)
		}
	}
	return f
}

func finite3(p []float32) bool {
	return !math.IsNaN(float64(p[0]+p[1]+p[2])) && !math.IsInf(float64(p[0]), 0) &&
		!math.IsInf(float64(p[1]), 0) && !math.IsInf(float64(p[2]), 0)
}

// TestCropProperties: Crop keeps exactly the points the IEEE comparison
// mask keeps (NaN and, for finite boxes, Inf never), in order.
func TestCropProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < 50; it++ {
		src := randomCloud(r, r.IntN(3000))
		dst := ds3d.NewLidarFrame(0)
		k := Crop(dst, src, kittiROI)
		s, d := ds3d.AsFloat32(src), ds3d.AsFloat32(dst)
		j := 0
		for i := 0; i < src.Points(); i++ {
			p := s[4*i : 4*i+4]
			in := true
			for a := 0; a < 3; a++ {
				in = in && p[a] >= kittiROI.Min[a] && p[a] <= kittiROI.Max[a]
			}
			if in {
				if j >= k || !bytes.Equal(f32bytes(d[4*j:4*j+4]), f32bytes(p)) {
					t.Fatalf("point %d kept wrongly", i)
				}
				if !finite3(p) {
					t.Fatalf("non-finite point %v kept", p)
				}
				j++
			}
		}
		if j != k {
			t.Fatalf("kept %d, mask says %d", k, j)
		}
		// pass-through drops every non-finite point, negative or not
		for _, neg := range []bool{false, true} {
			PassThrough(dst, src, 2, -3, 1, neg)
			d := ds3d.AsFloat32(dst)
			for i := 0; i < dst.Points(); i++ {
				p := d[4*i : 4*i+4]
				if !finite3(p) || (p[2] >= -3 && p[2] <= 1) == neg {
					t.Fatalf("passthrough negative=%v kept %v", neg, p)
				}
			}
		}
	}
	empty := ds3d.NewLidarFrame(0)
	if Crop(empty, empty, kittiROI) != 0 || PassThrough(empty, empty, 0, 0, 1, false) != 0 {
		t.Error("empty cloud")
	}
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		u := math.Float32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

// naiveVoxel is PCL's rule written plainly with a map: count and float64
// centroid sums per voxel index, sorted by index.
func naiveVoxel(s []float32, leaf float32) map[int64][5]float64 {
	inv := 1 / leaf
	lo := [3]float32{math.MaxFloat32, math.MaxFloat32, math.MaxFloat32}
	hi := [3]float32{-math.MaxFloat32, -math.MaxFloat32, -math.MaxFloat32}
	for i := 0; i+4 <= len(s); i += 4 {
		if finite3(s[i:]) {
			for a := 0; a < 3; a++ {
				lo[a], hi[a] = min(lo[a], s[i+a]), max(hi[a], s[i+a])
			}
		}
	}
	var minb, div [3]int64
	for a := 0; a < 3; a++ {
		minb[a] = int64(math.Floor(float64(lo[a] * inv)))
		div[a] = int64(math.Floor(float64(hi[a]*inv))) - minb[a] + 1
	}
	m := map[int64][5]float64{}
	for i := 0; i+4 <= len(s); i += 4 {
		if !finite3(s[i:]) {
			continue
		}
		var ijk [3]int64
		for a := 0; a < 3; a++ {
			ijk[a] = int64(float32(math.Floor(float64(s[i+a]*inv))) - float32(minb[a]))
		}
		k := ijk[0] + ijk[1]*div[0] + ijk[2]*div[0]*div[1]
		e := m[k]
		for c := 0; c < 4; c++ {
			e[c] += float64(s[i+c])
		}
		e[4]++
		m[k] = e
	}
	return m
}

func TestVoxelProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	v := VoxelGrid{Leaf: [3]float32{2, 2, 2}}
	dst := ds3d.NewLidarFrame(0)
	for it := 0; it < 30; it++ {
		src := randomCloud(r, r.IntN(3000))
		n, err := v.Filter(dst, src)
		if err != nil {
			t.Fatal(err)
		}
		want := naiveVoxel(ds3d.AsFloat32(src), 2)
		if n != len(want) {
			t.Fatalf("%d voxels, naive PCL rule %d", n, len(want))
		}
		d := ds3d.AsFloat32(dst)
		for i := 0; i < n; i++ {
			if !finite3(d[4*i:]) {
				t.Fatalf("non-finite centroid %v", d[4*i:4*i+4])
			}
		}
	}
	// all points in one voxel: one centroid, the mean
	one := ds3d.NewLidarFrame(3)
	copy(ds3d.AsFloat32(one), []float32{0.1, 0.1, 0.1, 1, 0.2, 0.3, 0.1, 2, 0.3, 0.2, 0.15, 3})
	if n, _ := Voxelize(dst, one, 1); n != 1 || ds3d.AsFloat32(dst)[3] != 2 {
		t.Errorf("one voxel: %d points %v", n, ds3d.AsFloat32(dst))
	}
	// empty and all-NaN clouds
	nan := ds3d.NewLidarFrame(2)
	for i := range ds3d.AsFloat32(nan) {
		ds3d.AsFloat32(nan)[i] = float32(math.NaN())
	}
	for _, c := range []*ds3d.Frame{ds3d.NewLidarFrame(0), nan} {
		if n, err := Voxelize(dst, c, 0.2); n != 0 || err != nil || dst.Points() != 0 {
			t.Errorf("empty/NaN cloud: %d %v", n, err)
		}
	}
	// a leaf too small for the extent: PCL's overflow check, input passed through
	big := ds3d.NewLidarFrame(3)
	copy(ds3d.AsFloat32(big), []float32{-1000, -1000, -1000, 0, 1000, 1000, 1000, 0, float32(math.NaN()), 0, 0, 0})
	if n, err := Voxelize(dst, big, 0.001); !errors.Is(err, ErrLeafTooSmall) || n != 2 || dst.Points() != 2 {
		t.Errorf("overflow: %d %v", n, err)
	}
}

func TestPillarProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	z, _ := NewPillarizer(DefaultPillarParams)
	mk := func() (f, c, n *ds3d.Frame) {
		return ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	}
	f1, c1, n1 := mk()
	f2, c2, n2 := mk()
	for it := 0; it < 30; it++ {
		src := randomCloud(r, r.IntN(5000))
		P, err := z.Pillarize(f1, c1, n1, src)
		if err != nil {
			t.Fatal(err)
		}
		// a fresh pillarizer gives the same bytes (scratch reset is complete)
		z2, _ := NewPillarizer(DefaultPillarParams)
		if _, err := z2.Pillarize(f2, c2, n2, src); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f1.Data, f2.Data) || !bytes.Equal(c1.Data, c2.Data) || !bytes.Equal(n1.Data, n2.Data) {
			t.Fatal("not deterministic")
		}
		total := 0
		co, no := ds3d.AsInt32(c1), ds3d.AsInt32(n1)
		for p := 0; p < P; p++ {
			if co[4*p+2] < 0 || co[4*p+2] >= 496 || co[4*p+3] < 0 || co[4*p+3] >= 432 || no[p] < 1 || no[p] > 32 {
				t.Fatalf("pillar %d: coords %v points %d", p, co[4*p:4*p+4], no[p])
			}
			total += int(no[p])
		}
		for i, v := range ds3d.AsFloat32(f1) {
			// intensity (feature 3) is copied as is, NaN included, as numpy does
			if i%10 != 3 && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
				t.Fatal("non-finite feature: a NaN/Inf point got in")
			}
		}
		if total > src.Points() {
			t.Fatalf("%d points in pillars of %d", total, src.Points())
		}
	}
	if P, err := z.Pillarize(f1, c1, n1, ds3d.NewLidarFrame(0)); P != 0 || err != nil || f1.Points() != 0 {
		t.Errorf("empty cloud: %d %v", P, err)
	}
}

// FuzzFilters feeds arbitrary bytes as a cloud to every filter: no panic,
// and outputs never hold a non-finite coordinate.
func FuzzFilters(f *testing.F) {
	f.Add(f32bytes([]float32{0, 0, 0, 1, 70.4, 40, 1, 0, 69.12, 39.68, 1, 0}))
	f.Add(f32bytes([]float32{float32(math.NaN()), 1, 2, 3, float32(math.Inf(1)), 0, 0, 0}))
	f.Add([]byte{})
	z, _ := NewPillarizer(DefaultPillarParams)
	v := VoxelGrid{Leaf: [3]float32{0.2, 0.2, 0.2}}
	f.Fuzz(func(t *testing.T, b []byte) {
		src := ds3d.NewLidarFrame(len(b) / 16)
		copy(src.Data, b)
		dst := ds3d.NewLidarFrame(0)
		for _, run := range []func(){
			func() { Crop(dst, src, kittiROI) },
			func() { PassThrough(dst, src, 3, 0, 1, false) },
			func() { v.Filter(dst, src) },
		} {
			run()
			d := ds3d.AsFloat32(dst)
			for i := 0; i < dst.Points(); i++ {
				if !finite3(d[4*i:]) {
					t.Fatalf("non-finite output point %v", d[4*i:4*i+4])
				}
			}
		}
		feat, co, num := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
		if _, err := z.Pillarize(feat, co, num, src); err != nil {
			t.Fatal(err)
		}
		Transform(dst, src, ds3d.Identity4)
		NormalizeIntensity(dst, src, 255, 0, 1)
	})
}
