package outlier

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func randomCloud(r *rand.Rand, n int) *ds3d.Frame {
	f := ds3d.NewLidarFrame(n)
	s := ds3d.AsFloat32(f)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, 1}
	for i := range s {
		if r.IntN(30) == 0 {
			s[i] = special[r.IntN(len(special))]
		} else {
			s[i] = float32(r.NormFloat64() * 5)
		}
	}
	// duplicates
	for i := 0; i+8 <= len(s) && i < 80; i += 8 {
		copy(s[i+4:i+8], s[i:i+4])
	}
	return f
}

// TestKNNBruteForce: k-d tree neighbours equal a brute-force scan's
// (distances; ties may differ in which point).
func TestKNNBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var tr KDTree
	var res KNN
	for it := 0; it < 30; it++ {
		n := r.IntN(2000) + 1
		pts := make([]float32, 3*n)
		for i := range pts {
			pts[i] = float32(math.Round(r.NormFloat64()*20) / 4) // many ties
		}
		tr.Build(pts, 3, nil)
		for q := 0; q < 50; q++ {
			x, y, z := float32(r.NormFloat64()*5), float32(r.NormFloat64()*5), float32(r.NormFloat64()*5)
			k := r.IntN(20) + 1
			tr.Nearest(&res, x, y, z, k)
			all := make([]float64, n)
			for i := 0; i < n; i++ {
				all[i] = float64(sqDist(x, y, z, pts[3*i], pts[3*i+1], pts[3*i+2]))
			}
			sort.Float64s(all)
			if len(res.D) != min(k, n) {
				t.Fatalf("%d results, want %d", len(res.D), min(k, n))
			}
			for i, d := range res.D {
				if float64(d) != all[i] {
					t.Fatalf("neighbour %d: %v, brute force %v", i, d, all[i])
				}
			}
			r2 := float32(r.Float64() * 4)
			want := 0
			for _, d := range all {
				if d <= float64(r2) {
					want++
				}
			}
			if got := tr.CountWithin(x, y, z, r2, 0); got != want {
				t.Fatalf("CountWithin %d, brute force %d", got, want)
			}
		}
	}
}

// TestFiltersProperties: random clouds with NaN/Inf, duplicates, tiny and
// empty clouds never panic, never keep a non-finite point, and SOR with
// 1 and 3 workers agree.
func TestFiltersProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < 60; it++ {
		src := randomCloud(r, []int{0, 1, 2, 3, 17, 100, 3000}[r.IntN(7)])
		d1, d2 := ds3d.NewLidarFrame(0), ds3d.NewLidarFrame(0)
		s1 := Statistical{MeanK: 1 + r.IntN(20), StdMul: r.Float64() * 2}
		s3 := s1
		s3.Workers = 3
		n1, n3 := s1.Filter(d1, src), s3.Filter(d2, src)
		if n1 != n3 || string(d1.Data[:d1.Bytes()]) != string(d2.Data[:d2.Bytes()]) {
			t.Fatalf("workers 1 kept %d, workers 3 kept %d", n1, n3)
		}
		rad := Radius{Radius: r.Float64() * 3, MinNeighbors: r.IntN(5)}
		rad.Filter(d2, src)
		g := Ground{Threshold: 0.2, Iterations: 20, SampleSize: 100, Seed: uint64(it), Refine: r.IntN(2) == 0}
		if p, _, ok := g.Fit(src); ok {
			g.Split(d2, nil, src, p)
			g.Split(nil, d2, src, p)
		}
		for _, f := range []*ds3d.Frame{d1, d2} {
			s := ds3d.AsFloat32(f)
			for i := 0; i < f.Points(); i++ {
				if !finite(s[4*i], s[4*i+1], s[4*i+2]) {
					t.Fatalf("non-finite point kept: %v", s[4*i:4*i+4])
				}
			}
		}
	}
}

func TestFilterAllocs(t *testing.T) {
	src, _ := kitti(t, 0)
	dst := ds3d.NewLidarFrame(0)
	s := Statistical{MeanK: 16, StdMul: 1}
	r := Radius{Radius: 0.5, MinNeighbors: 2}
	s.Filter(dst, src)
	r.Filter(dst, src)
	if n := testing.AllocsPerRun(2, func() { s.Filter(dst, src); r.Filter(dst, src) }); n != 0 {
		t.Errorf("%v allocations per SOR + radius with scratch", n)
	}
}
