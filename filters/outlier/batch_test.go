package outlier

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// treeDistances is the per-point exact k-d tree search (sorWorker), the
// reference for the grouped search.
func treeDistances(s *Statistical, src *ds3d.Frame) []float32 {
	n, c := src.Points(), src.Shape.D[1]
	pts := ds3d.AsFloat32(src)[:n*c]
	var sel []int32
	for i := 0; i < n; i++ {
		if finite(pts[i*c], pts[i*c+1], pts[i*c+2]) {
			sel = append(sel, int32(i))
		}
	}
	dist := make([]float32, n)
	k := max(s.MeanK, 1)
	if len(sel) <= k {
		return dist
	}
	var t KDTree
	t.Build(pts, c, sel)
	var w sorWorker
	w.run(&t, dist, k, 0, t.Len())
	return dist
}

func sameDistances(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: point %d: grouped search %v, per-point tree %v", what, i, got[i], want[i])
		}
	}
}

// TestGroupedMatchesTree: the grouped search gives bit-identical mean
// distances to the per-point k-d tree search on KITTI (dense and sparse
// parts, real outliers) and on random clouds with ties, duplicates, NaN/Inf
// and huge coordinates.
func TestGroupedMatchesTree(t *testing.T) {
	src, _ := kitti(t, 1)
	ks, iters := []int{16, 3, 40}, 40
	if testenv.RaceEnabled || testing.Short() {
		ks, iters = ks[:1], 15 // the per-point reference is slow under -race
	}
	for _, k := range ks {
		s := Statistical{MeanK: k, StdMul: 1}
		s.Filter(ds3d.NewLidarFrame(0), src)
		sameDistances(t, "kitti-000001", s.Distances(), treeDistances(&s, src))
		t.Logf("k=%d: %d exact tree fallbacks, %.1f candidates per group of %d points",
			k, s.work[0].Fallbacks, float64(s.work[0].Candidates)/float64(len(s.groups)/2), src.Points())
	}
	r := rand.New(rand.NewPCG(7, 8))
	for it := 0; it < iters; it++ {
		f := randomCloud(r, []int{5, 17, 18, 100, 3000}[r.IntN(5)])
		p := ds3d.AsFloat32(f)
		switch it % 4 {
		case 1: // grid with many exact ties
			for i := range p {
				p[i] = float32(math.Round(float64(p[i])))
			}
		case 2: // huge coordinates: squared distances overflow to +Inf
			for i := 0; i < len(p); i += 13 {
				p[i] = float32(r.NormFloat64() * 1e25)
			}
		case 3: // clusters of duplicates
			for i := 4; i+4 <= len(p); i += 4 {
				if r.IntN(3) > 0 {
					copy(p[i:i+4], p[i-4:i])
				}
			}
		}
		s := Statistical{MeanK: 1 + r.IntN(24), StdMul: 1}
		s.Filter(ds3d.NewLidarFrame(0), f)
		sameDistances(t, "random", s.Distances(), treeDistances(&s, f))
	}
}

// sorWorker computes the mean neighbour distances of the tree positions
// [lo, hi), in tree order so that neighbouring queries touch the same
// leaves, each query bounded by the previous one's neighbours.
type sorWorker struct {
	knn  KNN
	prev []int32
}

func (w *sorWorker) run(t *KDTree, dist []float32, k, lo, hi int) {
	prev := w.prev[:0]
	for i := lo; i < hi; i++ {
		x, y, z := t.Point(i)
		// the previous query's k+1 neighbours bound this one's k+1-th distance
		bound := float32(math.Inf(1))
		if len(prev) == k+1 {
			bound = 0
			for _, j := range prev {
				px, py, pz := t.Point(int(j))
				bound = max(bound, sqDist(x, y, z, px, py, pz))
			}
		}
		t.NearestBounded(&w.knn, x, y, z, k+1, bound)
		prev = append(prev[:0], w.knn.Pos...)
		var ds float64
		for _, d2 := range w.knn.D[1:] { // D[0] is the point itself (0)
			ds += float64(float32(math.Sqrt(float64(d2))))
		}
		dist[t.Index(i)] = float32(ds / float64(k))
	}
	w.prev = prev
}
