package pointcloud

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestVoxelCentroidsExact: the centroids (vector kernels under
// GOEXPERIMENT=simd on AVX-512: register-summed runs, a table prefix sized
// by the previous frame and grown mid-frame, vector division) equal the
// plain rule of naiveVoxel bit for bit — both sum in float64 in input
// order — on random clouds with NaN/Inf and on KITTI 000000, with one
// VoxelGrid reused across clouds of very different voxel counts.
func TestVoxelCentroidsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	v := VoxelGrid{}
	dst := ds3d.NewLidarFrame(0)
	src := kitti0(t)
	for it := 0; it < 40; it++ {
		leaf := float32(0.5)
		c := src
		if it%4 == 3 {
			leaf = 0.2 // KITTI after small clouds: the table prefix must grow
		} else {
			c = randomCloud(r, []int{0, 1, 17, 64, 1000 + r.IntN(3000), 20000}[r.IntN(6)])
		}
		v.Leaf = [3]float32{leaf, leaf, leaf}
		if _, err := v.Filter(dst, c); err != nil {
			t.Fatal(err)
		}
		sameCentroids(t, fmt.Sprintf("cloud %d (%d points, leaf %v)", it, c.Points(), leaf), dst, naiveVoxel(ds3d.AsFloat32(c), leaf))
	}
}

// sameCentroids: got holds one centroid per voxel of want, in increasing
// voxel index, each column float32(sum/count) exactly.
func sameCentroids(t *testing.T, what string, got *ds3d.Frame, want map[int64][5]float64) {
	t.Helper()
	if got.Points() != len(want) {
		t.Fatalf("%s: %d voxels, naive PCL rule %d", what, got.Points(), len(want))
	}
	keys := slices.Sorted(maps.Keys(want))
	g := ds3d.AsFloat32(got)
	for i, k := range keys {
		e := want[k]
		for c := 0; c < 4; c++ {
			if w := float32(e[c] / e[4]); math.Float32bits(g[4*i+c]) != math.Float32bits(w) {
				t.Fatalf("%s: voxel %d (index %d) column %d: %v, naive %v", what, i, k, c, g[4*i+c], w)
			}
		}
	}
}
