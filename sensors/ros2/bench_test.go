package ros2_test

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// BenchmarkPointCloud2/xyzi-120k: a 120k-point float32 x y z intensity
// cloud into a reused [N,4] frame; reports points/s.
func BenchmarkPointCloud2(b *testing.B) {
	const n = 120_000
	msg := pc2(false, 1, n, xyzi, 16, 16*n, points(n))
	b.Run("xyzi-120k", func(b *testing.B) {
		dst := ds3d.NewLidarFrame(n)
		b.SetBytes(int64(16 * n))
		b.ReportAllocs()
		var pc ros2.PointCloud2
		for b.Loop() {
			if err := pc.Unmarshal(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := pc.ToFrame(dst); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
	})
	// The peer: a plain copy of the same bytes.
	b.Run("memcpy-120k", func(b *testing.B) {
		dst := make([]byte, 16*n)
		src := points(n)
		b.SetBytes(int64(16 * n))
		for b.Loop() {
			copy(dst, src)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
	})
}

// TestPointCloud2Allocs: decoding a stream of clouds of one layout into a
// reused PointCloud2 and frame allocates nothing.
func TestPointCloud2Allocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	msg := pc2(false, 1, 1000, xyzi, 16, 16000, points(1000))
	padded := pc2(false, 1, 2, []field{{"x", 0, 8}, {"y", 8, 8}, {"z", 16, 8}, {"intensity", 24, 2}}, 32, 64, make([]byte, 64))
	for _, m := range [][]byte{msg, padded} {
		var pc ros2.PointCloud2
		dst := ds3d.NewLidarFrame(1000)
		allocs := testing.AllocsPerRun(20, func() {
			if err := pc.Unmarshal(m); err != nil {
				t.Fatal(err)
			}
			if _, err := pc.ToFrame(dst); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v allocations per message, want 0", allocs)
		}
	}
}
