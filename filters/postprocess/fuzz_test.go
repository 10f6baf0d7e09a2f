package postprocess

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// FuzzSuppress: arbitrary bytes as boxes (NaN/Inf anywhere); score
// threshold + NMS + top-k never panics, keeps at most maxOut boxes, none
// twice, none with a NaN score or one below the threshold. An empty box
// list gives an empty result.
func FuzzSuppress(f *testing.F) {
	f.Add([]byte{}, 0.01, false)
	box := func(v ...float32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
		return b
	}
	f.Add(append(box(0, 0, 0, 4, 2, 1.5, 0, 0.9), box(0.1, 0, 0, 4, 2, 1.5, 0.1, 0.8)...), 0.5, true)
	f.Add(box(float32(math.NaN()), 0, 0, float32(math.Inf(1)), 2, 1.5, 0, 0.9), 0.01, false)
	var n NMS
	f.Fuzz(func(t *testing.T, b []byte, thr float64, aware bool) {
		v := make([]float32, len(b)/32*8)
		binary.Decode(b, binary.LittleEndian, v)
		boxes := make([]ds3d.Box3D, len(v)/8)
		for i := range boxes {
			q := v[8*i:]
			boxes[i] = ds3d.Box3D{CX: q[0], CY: q[1], CZ: q[2], DX: q[3], DY: q[4], DZ: q[5], Yaw: q[6], Score: q[7], ClassID: int32(i % 2)}
		}
		out, idx := n.Suppress(nil, boxes, 0.1, thr, aware, 5, nil)
		if len(out) > 5 || len(out) > len(boxes) {
			t.Fatalf("%d boxes out of %d (max 5)", len(out), len(boxes))
		}
		seen := map[int32]bool{}
		for i, o := range out {
			if !(o.Score >= 0.1) {
				t.Fatalf("box %d score %v kept", i, o.Score)
			}
			if i < len(idx) {
				if seen[idx[i]] {
					t.Fatalf("box %d kept twice", idx[i])
				}
				seen[idx[i]] = true
			}
		}
	})
}
