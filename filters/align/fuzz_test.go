package align

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// FuzzProject: arbitrary bytes as a cloud; DepthMap and Project never
// panic, land the same points, and every landed depth is finite and > 0.
// An empty cloud lands nothing.
func FuzzProject(f *testing.F) {
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint32(make([]byte, 12), math.Float32bits(float32(math.NaN()))))
	f.Add(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(
		binary.LittleEndian.AppendUint32(nil, math.Float32bits(10)), 0), 0), 0))
	in, _ := ds3d.IntrinsicsFromK([]float64{500, 0, 32, 0, 500, 24, 0, 0, 1}, 64, 48)
	ext, _ := ds3d.Mat4From([]float64{0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0})
	cam := NewCamera(0, in, ext)
	depth := make([]float32, 64*48)
	f.Fuzz(func(t *testing.T, b []byte) {
		pts := make([]float32, len(b)/16*4)
		binary.Decode(b, binary.LittleEndian, pts)
		clear(depth)
		landed := cam.DepthMap(depth, 64, pts, 4)
		uvd := make([]float32, 3*(len(pts)/4))
		if got := cam.Project(uvd, pts, 4); got != landed {
			t.Fatalf("Project lands %d, DepthMap %d", got, landed)
		}
		for _, d := range depth {
			if d != 0 && !(d > 0 && d < float32(math.Inf(1))) {
				t.Fatalf("depth %v in the map", d)
			}
		}
	})
}
