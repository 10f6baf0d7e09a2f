package outlier

import (
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		u := math.Float32bits(x)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

// FuzzOutlier feeds arbitrary bytes as a cloud to SOR, radius removal and
// the RANSAC ground fit: no panic, no non-finite point kept, never more
// points than came in, SOR's mean distances equal the per-point k-d tree
// search's. Documented behaviour exercised by the seeds: an
// empty cloud gives an empty output; a cloud of ≤ MeanK finite points is
// returned whole by SOR; all points at one spot have mean distance 0 and
// are all kept (0 ≤ threshold 0).
func FuzzOutlier(f *testing.F) {
	f.Add([]byte{}, uint8(4))
	f.Add(f32bytes(1, 2, 3, 0, float32(math.NaN()), 0, 0, 0, float32(math.Inf(1)), 1, 1, 1), uint8(1))
	same := []float32{}
	for i := 0; i < 50; i++ {
		same = append(same, 5, 5, 5, float32(i))
	}
	f.Add(f32bytes(same...), uint8(16))
	f.Fuzz(func(t *testing.T, b []byte, k uint8) {
		src := ds3d.NewLidarFrame(len(b) / 16)
		copy(src.Data, b)
		dst := ds3d.NewLidarFrame(0)
		s := Statistical{MeanK: int(k%32) + 1, StdMul: 1}
		r := Radius{Radius: 0.5, MinNeighbors: int(k % 4)}
		g := Ground{Threshold: 0.2, Iterations: 10, SampleSize: 50, Seed: 1, Refine: true}
		check := func(what string, n int) {
			if n > src.Points() || dst.Points() != n {
				t.Fatalf("%s kept %d of %d (frame %d)", what, n, src.Points(), dst.Points())
			}
			d := ds3d.AsFloat32(dst)
			for i := 0; i < n; i++ {
				if !finite(d[4*i], d[4*i+1], d[4*i+2]) {
					t.Fatalf("%s kept non-finite %v", what, d[4*i:4*i+4])
				}
			}
		}
		check("sor", s.Filter(dst, src))
		// the grouped search equals the per-point k-d tree bit for bit
		sameDistances(t, "fuzz", s.Distances(), treeDistances(&s, src))
		check("radius", r.Filter(dst, src))
		if p, _, ok := g.Fit(src); ok {
			_, rest := g.Split(nil, dst, src, p)
			check("ground", rest)
		}
	})
}

// TestOneSpot: every point at the same place (one voxel, one k-d leaf
// repeated): SOR keeps them all, radius removal keeps them all.
func TestOneSpot(t *testing.T) {
	src := ds3d.NewLidarFrame(200)
	s := ds3d.AsFloat32(src)
	for i := 0; i < 200; i++ {
		copy(s[4*i:], []float32{3, -2, 0.5, float32(i)})
	}
	dst := ds3d.NewLidarFrame(0)
	if n := (&Statistical{MeanK: 16, StdMul: 1}).Filter(dst, src); n != 200 {
		t.Errorf("SOR kept %d of 200 identical points", n)
	}
	if n := (&Radius{Radius: 0.1, MinNeighbors: 5}).Filter(dst, src); n != 200 {
		t.Errorf("radius kept %d of 200 identical points", n)
	}
}
