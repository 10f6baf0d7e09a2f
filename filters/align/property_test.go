package align

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestProjectionProperties: random clouds with NaN/Inf and huge values and
// an empty cloud never panic; only finite points in front land; every
// landed pixel holds the smallest depth of the points that land there.
func TestProjectionProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	in, _ := ds3d.IntrinsicsFromK([]float64{500, 0, 320, 0, 500, 240, 0, 0, 1}, 640, 480)
	ext, _ := ds3d.Mat4From([]float64{0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0}) // lidar → camera axes
	cam := NewCamera(0, in, ext)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, 1e30, -1e30}
	depth := make([]float32, 640*480)
	for it := 0; it < 100; it++ {
		n := r.IntN(3000)
		pts := make([]float32, 4*n)
		for i := range pts {
			pts[i] = float32(r.NormFloat64() * 10)
			if r.IntN(20) == 0 {
				pts[i] = special[r.IntN(len(special))]
			}
		}
		landed := cam.DepthMap(depth, 640, pts, 4)
		uvd := make([]float32, 3*n)
		if got := cam.Project(uvd, pts, 4); got != landed {
			t.Fatalf("Project lands %d points, DepthMap %d", got, landed)
		}
		for i := 0; i < n; i++ {
			u, v, w := uvd[3*i], uvd[3*i+1], uvd[3*i+2]
			if math.IsNaN(float64(w)) {
				continue
			}
			if !(w > MinDepth) || math.IsInf(float64(u), 0) {
				t.Fatalf("point %v landed with (%v %v %v)", pts[4*i:4*i+3], u, v, w)
			}
			d := depth[int(v)*640+int(u)]
			if !(d > 0 && d <= w) {
				t.Fatalf("pixel (%v, %v): map %v, point depth %v", u, v, d, w)
			}
		}
	}
	if n := cam.DepthMap(depth, 640, nil, 4); n != 0 {
		t.Errorf("empty cloud landed %d", n)
	}
}
