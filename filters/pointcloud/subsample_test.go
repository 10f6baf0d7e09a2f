package pointcloud

import (
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func indexedCloud(n int) *ds3d.Frame {
	f := ds3d.NewLidarFrame(n)
	p := ds3d.AsFloat32(f)
	for i := 0; i < n; i++ {
		p[4*i], p[4*i+1], p[4*i+2], p[4*i+3] = float32(i), float32(-i), 1, float32(i%7)
	}
	return f
}

func TestSubsample(t *testing.T) {
	src := indexedCloud(1000)
	dst := ds3d.NewLidarFrame(0)
	// Uniform: by hand, indices 0, 3, 6, … (k·1000/300) for a budget of 300.
	if n := NewSampler(300, false, 0).Sample(dst, src); n != 300 || dst.Points() != 300 {
		t.Fatalf("uniform kept %d", n)
	}
	p := ds3d.AsFloat32(dst)
	for k := 0; k < 300; k++ {
		if want := float32(k * 1000 / 300); p[4*k] != want || p[4*k+1] != -want || p[4*k+3] != float32(int(want)%7) {
			t.Fatalf("uniform point %d is %v, want index %v", k, p[4*k:4*k+4], want)
		}
	}
	// Random: 300 distinct points of the input, in input order, repeatable
	// by seed, different for another seed; each index equally likely.
	a := NewSampler(300, true, 42)
	a.Sample(dst, src)
	first := append([]float32(nil), ds3d.AsFloat32(dst)...)
	for k := 1; k < 300; k++ {
		if first[4*k] <= first[4*(k-1)] {
			t.Fatalf("random subset out of order at %d", k)
		}
	}
	b := NewSampler(300, true, 42)
	b.Sample(dst, src)
	for i, v := range ds3d.AsFloat32(dst) {
		if v != first[i] {
			t.Fatal("same seed, different subset")
		}
	}
	c := NewSampler(300, true, 43)
	c.Sample(dst, src)
	same := true
	for i, v := range ds3d.AsFloat32(dst) {
		same = same && v == first[i]
	}
	if same {
		t.Error("another seed gave the same subset")
	}
	counts := make([]int, 1000)
	for r := 0; r < 2000; r++ {
		a.Sample(dst, src)
		for k := 0; k < 300; k++ {
			counts[int(ds3d.AsFloat32(dst)[4*k])]++
		}
	}
	// Each index is kept with probability 0.3: 600 of 2000 draws, σ ≈ 20.5.
	for i, n := range counts {
		if math.Abs(float64(n)-600) > 6*20.5 {
			t.Fatalf("index %d kept %d times of 2000, want ≈ 600", i, n)
		}
	}
	// At most the budget: a copy; empty clouds stay empty.
	if n := NewSampler(5000, true, 1).Sample(dst, src); n != 1000 {
		t.Errorf("small cloud: %d points", n)
	}
	if n := NewSampler(10, true, 1).Sample(dst, ds3d.NewLidarFrame(0)); n != 0 {
		t.Errorf("empty cloud: %d points", n)
	}
	s := NewSampler(300, true, 7)
	if allocs := testing.AllocsPerRun(20, func() { s.Sample(dst, src) }); allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}
