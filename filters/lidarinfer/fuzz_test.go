package lidarinfer

import (
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// FuzzFill feeds arbitrary frames (shape, type, values incl. NaN/Inf) into
// a model input of arbitrary shape with or without pad_row. Documented
// behaviour: never a panic; on success every element of the model input is
// written — the frame's values in order (flat, or block by block when the
// frame is shorter along one axis), padding rows elsewhere — so nothing of
// an earlier datamap can leak into this one.
func FuzzFill(f *testing.F) {
	f.Add(uint8(3), uint8(4), uint8(1), uint8(12), uint8(4), uint8(1), true, false, uint16(7))
	f.Add(uint8(2), uint8(3), uint8(4), uint8(2), uint8(5), uint8(4), false, true, uint16(1))
	f.Add(uint8(0), uint8(4), uint8(1), uint8(8), uint8(4), uint8(1), true, true, uint16(0))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), false, false, uint16(65535))
	f.Fuzz(func(t *testing.T, f0, f1, f2, m0, m1, m2 uint8, i32, pad bool, seed uint16) {
		fdims := []int{int(f0 % 9), int(f1%9) + 1, int(f2%5) + 1}
		mdims := []int{int(m0%17) + 1, int(m1%9) + 1, int(m2%5) + 1}
		size := mdims[0] * mdims[1] * mdims[2]
		b := &boundInput{ModelInput: ModelInput{Name: "x"}, shape: mdims, size: size, buf: make([]float32, size)}
		const stale = float32(-12345)
		for i := range b.buf {
			b.buf[i] = stale
		}
		var fr *ds3d.Frame
		if i32 {
			fr = ds3d.NewTensorFrame(ds3d.DTypeI32, fdims...)
			v := ds3d.AsInt32(fr)
			for i := range v {
				v[i] = int32(i*7+int(seed)) % 1000
			}
		} else {
			fr = ds3d.NewTensorFrame(ds3d.DTypeF32, fdims...)
			vals := []float32{float32(math.NaN()), float32(math.Inf(1)), 0, -1.5, 3e38}
			v := ds3d.AsFloat32(fr)
			for i := range v {
				v[i] = vals[(i+int(seed))%len(vals)]
			}
		}
		if pad {
			b.pad = make([]float32, mdims[2])
			for i := range b.pad {
				b.pad[i] = 9
			}
		}
		if err := b.fill(fr); err != nil {
			return
		}
		for i, v := range b.buf {
			if v == stale {
				t.Fatalf("frame %v into input %v (pad %v): element %d not written", fdims, mdims, pad, i)
			}
		}
	})
}
