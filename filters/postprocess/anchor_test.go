package postprocess

import (
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestAnchorLayout checks the KITTI PointPillars anchors against values
// worked out from OpenPCDet's AnchorGenerator (align_center off).
func TestAnchorLayout(t *testing.T) {
	h := KITTIPointPillars()
	a := h.Anchors()
	if A := h.PerCell(); A != 6 || len(a) != 248*216*6*7 {
		t.Fatalf("A=%d, %d anchor values", A, len(a))
	}
	at := func(j, i, s int) []float32 { k := ((j*216+i)*6 + s) * 7; return a[k : k+7] }
	// cell (0,0), Car rot 0: x0, y0, z = −1.78 + 1.56/2
	want := []float32{0, -39.68, -1.78 + 0.78, 3.9, 1.6, 1.56, 0}
	for i, v := range at(0, 0, 0) {
		if math.Abs(float64(v-want[i])) > 1e-6 {
			t.Errorf("anchor (0,0,0) = %v, want %v", at(0, 0, 0), want)
			break
		}
	}
	// last cell: x1, y1; slot 5 = Cyclist rot 1.57
	last := at(247, 215, 5)
	if math.Abs(float64(last[0]-69.12)) > 1e-4 || math.Abs(float64(last[1]-39.68)) > 1e-4 || last[3] != 1.76 || last[6] != 1.57 {
		t.Errorf("last anchor %v", last)
	}
	// stride: 69.12 / 215
	if d := at(0, 1, 0)[0] - at(0, 0, 0)[0]; math.Abs(float64(d)-69.12/215) > 1e-6 {
		t.Errorf("x stride %v", d)
	}
}

// TestAnchorDecodeRoundTrip encodes known boxes onto chosen anchors with
// the inverse formulas (EncodeResidual, DirectionBin), writes them into
// hand-built NHWC tensors and decodes them back.
func TestAnchorDecodeRoundTrip(t *testing.T) {
	h := KITTIPointPillars()
	A, C, B := h.PerCell(), len(h.Classes), h.NumDirBins
	n := h.NX * h.NY * A
	cls := make([]float32, n*C)
	box := make([]float32, n*7)
	dir := make([]float32, n*B)
	for i := range cls {
		cls[i] = -10 // sigmoid ≈ 4.5e-5
	}
	anchors := h.Anchors()
	truth := []struct {
		j, i, slot, class int
		b                 ds3d.Box3D
		logit             float32
	}{
		{100, 50, 0, 0, ds3d.Box3D{CX: 16.3, CY: -7.4, CZ: -0.9, DX: 4.2, DY: 1.7, DZ: 1.5, Yaw: 0.3}, 2},
		{120, 30, 1, 0, ds3d.Box3D{CX: 9.7, CY: 0.2, CZ: -0.8, DX: 3.6, DY: 1.55, DZ: 1.45, Yaw: -2.9}, 1},
		{30, 200, 3, 1, ds3d.Box3D{CX: 64, CY: -30, CZ: -0.2, DX: 0.7, DY: 0.65, DZ: 1.8, Yaw: 1.9}, 0.5},
		{247, 215, 5, 2, ds3d.Box3D{CX: 69, CY: 39.6, CZ: 0.1, DX: 1.8, DY: 0.55, DZ: 1.7, Yaw: math.Pi - 0.01}, 3},
		{0, 0, 4, 2, ds3d.Box3D{CX: 0.1, CY: -39.5, CZ: -0.1, DX: 1.7, DY: 0.6, DZ: 1.75, Yaw: -math.Pi / 2}, 0},
	}
	for _, tr := range truth {
		k := (tr.j*h.NX+tr.i)*A + tr.slot
		var an [7]float32
		copy(an[:], anchors[k*7:])
		b := tr.b
		res := EncodeResidual([7]float32{b.CX, b.CY, b.CZ, b.DX, b.DY, b.DZ, b.Yaw}, an)
		copy(box[k*7:], res[:])
		cls[k*C+tr.class] = tr.logit
		dir[k*B+h.DirectionBin(b.Yaw)] = 1
	}
	got, err := h.Decode(nil, cls, box, dir, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(truth) {
		t.Fatalf("decoded %d boxes, want %d", len(got), len(truth))
	}
	// anchor order is (j, i, slot) order: sort truth the same way
	byOrder := map[int]int{}
	for ti, tr := range truth {
		byOrder[(tr.j*h.NX+tr.i)*A+tr.slot] = ti
	}
	k := 0
	for key := 0; key < n && k < len(got); key++ {
		ti, ok := byOrder[key]
		if !ok {
			continue
		}
		w, g := truth[ti].b, got[k]
		k++
		d := math.Abs(wrapAngle(float64(g.Yaw - w.Yaw)))
		for _, e := range [][2]float32{{g.CX, w.CX}, {g.CY, w.CY}, {g.CZ, w.CZ}, {g.DX, w.DX}, {g.DY, w.DY}, {g.DZ, w.DZ}} {
			if math.Abs(float64(e[0]-e[1])) > 1e-5*math.Max(1, math.Abs(float64(e[1]))) {
				t.Errorf("box %d: decoded %+v, want %+v", ti, g, w)
				break
			}
		}
		if d > 1e-5 || g.Yaw < -math.Pi || g.Yaw >= math.Pi {
			t.Errorf("box %d: yaw %v, want %v", ti, g.Yaw, w.Yaw)
		}
		wantScore := 1 / (1 + math.Exp(-float64(truth[ti].logit)))
		if g.ClassID != int32(truth[ti].class) || g.Label != h.Classes[truth[ti].class].Name || math.Abs(float64(g.Score)-wantScore) > 1e-6 {
			t.Errorf("box %d: class %d %q score %v, want %d %v", ti, g.ClassID, g.Label, g.Score, truth[ti].class, wantScore)
		}
	}
	// a flipped direction bin turns the heading by π
	k0 := (truth[0].j*h.NX+truth[0].i)*A + truth[0].slot
	dir[k0*B], dir[k0*B+1] = dir[k0*B+1], dir[k0*B]
	got, _ = h.Decode(got[:0], cls, box, dir, 0.8)
	if len(got) != 2 {
		t.Fatalf("threshold 0.8 kept %d", len(got))
	}
	if d := math.Abs(wrapAngle(float64(got[0].Yaw) - float64(truth[0].b.Yaw) - math.Pi)); d > 1e-5 {
		t.Errorf("flipped bin: yaw %v, want %v + π", got[0].Yaw, truth[0].b.Yaw)
	}
	// zero allocations with capacity
	dst := make([]ds3d.Box3D, 0, 16)
	if a := testing.AllocsPerRun(3, func() { dst, _ = h.Decode(dst[:0], cls, box, dir, 0.3) }); a != 0 {
		t.Errorf("%v allocations per decode", a)
	}
	if _, err := h.Decode(nil, cls[:10], box, dir, 0.3); err == nil {
		t.Error("short cls accepted")
	}
}

// TestDirectionConvention pins limit_period and the bin rule to OpenPCDet's
// formulas on hand values.
func TestDirectionConvention(t *testing.T) {
	h := KITTIPointPillars()
	for _, c := range []struct {
		yaw float32
		bin int
	}{{0, 1}, {0.8, 0}, {-0.7, 1}, {math.Pi, 0}, {3.9, 0}, {4.0, 1}, {-2.4, 0}} {
		// limit_period(yaw − 0.78539, 0, 2π) / π
		want := int(math.Floor(limitPeriod(float64(c.yaw)-0.78539, 0, 2*math.Pi) / math.Pi))
		if got := h.DirectionBin(c.yaw); got != want || got != c.bin {
			t.Errorf("yaw %v: bin %d, formula %d, table %d", c.yaw, got, want, c.bin)
		}
	}
	if v := limitPeriod(-0.5, 0, math.Pi); math.Abs(v-(math.Pi-0.5)) > 1e-12 {
		t.Errorf("limit_period(-0.5, 0, π) = %v", v)
	}
}
