package depth2point

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// FuzzUnproject: arbitrary bytes as an 8×6 depth frame, u16 or f32 (NaN,
// Inf, negative, 0); Unproject never panics, emits only finite points with
// min_depth ≤ z ≤ max_depth, and colour coordinates inside [0, 1]. A zero
// (missing) depth never gives a point.
func FuzzUnproject(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add(binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN()))), false)
	f.Add([]byte{0xe8, 0x03, 0, 0, 0xff, 0xff}, true)
	in, _ := ds3d.IntrinsicsFromK([]float64{5, 0, 4, 0, 5, 3, 0, 0, 1}, 8, 6)
	p := &Params{Intrinsics: in, Unit: 0.001, MinDepth: 0.1, MaxDepth: 40}
	f.Fuzz(func(t *testing.T, b []byte, u16 bool) {
		dt := ds3d.DTypeF32
		if u16 {
			dt = ds3d.DTypeU16
		}
		d := ds3d.NewFrame(dt, ds3d.FrameDepth, ds3d.NewShape(6, 8))
		copy(d.Data, b)
		pts, uv := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FramePointXYZ, ds3d.NewShape(0, 3)), ds3d.NewTensorFrame(ds3d.DTypeF32, 0)
		n, err := Unproject(pts, uv, d, p)
		if err != nil {
			t.Fatal(err)
		}
		xyz, tex := ds3d.AsFloat32(pts), ds3d.AsFloat32(uv)
		for i := 0; i < n; i++ {
			x, y, z := xyz[3*i], xyz[3*i+1], xyz[3*i+2]
			if (x-x)+(y-y) != 0 || !(float64(z) >= 0.1*(1-1e-6) && float64(z) <= 40*(1+1e-6)) {
				t.Fatalf("point %d: %v %v %v", i, x, y, z)
			}
			if u, v := tex[2*i], tex[2*i+1]; !(u >= 0 && u <= 1 && v >= 0 && v <= 1) {
				t.Fatalf("colour coordinate %v %v", u, v)
			}
		}
	})
}
