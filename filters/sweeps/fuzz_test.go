package sweeps

import (
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// FuzzAdd: arbitrary bytes as clouds, timestamps and a pose parameter;
// Add never panics, outputs hold only finite x, y, z (NaN/Inf points are
// dropped) and Δt ≥ 0, and the count is at most the sum of the inputs.
func FuzzAdd(f *testing.F) {
	nan := math.Float32bits(float32(math.NaN()))
	f.Add([]byte{}, int64(0), int64(100), 0.1)
	f.Add([]byte{0, 0, 128, 63, byte(nan), byte(nan >> 8), byte(nan >> 16), byte(nan >> 24), 0, 0, 0, 0, 0, 0, 0, 0}, int64(5), int64(-5), math.NaN())
	f.Fuzz(func(t *testing.T, b []byte, t0, dt int64, yaw float64) {
		a := Accumulator{MaxSweeps: 3, MaxTimeLag: 1 << 40}
		src := ds3d.NewLidarFrame(len(b) / 16)
		copy(src.Data, b)
		dst := ds3d.NewLidarFrame(0)
		total := 0
		for i := int64(0); i < 3; i++ {
			n, err := a.Add(dst, src, pose(yaw*float64(i), 0, float64(i), 0, 0), t0+i*dt)
			if err != nil {
				if math.IsNaN(yaw) || math.IsInf(yaw, 0) {
					continue // a non-finite pose is refused
				}
				t.Fatal(err)
			}
			total += src.Points()
			if n > total {
				t.Fatalf("%d points out of %d in", n, total)
			}
			d := ds3d.AsFloat32(dst)
			for p := 0; p < n; p++ {
				q := d[5*p : 5*p+5]
				if (q[0]-q[0])+(q[1]-q[1])+(q[2]-q[2]) != 0 || !(q[4] >= 0) {
					t.Fatalf("output point %v", q)
				}
			}
		}
	})
}
